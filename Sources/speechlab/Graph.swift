import AcousticModels
import ArgumentParser
import DecodingGraphs
import Foundation
import SpeechCorpus

/// `speechlab graph`: a decoding graph for a model and a language model (Kaldi's mkgraph.sh).
struct Graph: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build a decoding graph (HCLG) from a model and an ARPA language model.",
        discussion: """
            As Kaldi's mkgraph.sh, with OpenFst doing every composition, determinization and \
            minimization: G from the ARPA file (any tool's), L from the model's lexicon with optional \
            silence between words and disambiguation symbols, H from the model's HMMs; \
            HCLG = min(rmeps(det(H ∘ min(det(L ∘ G))))). Writes OUT/HCLG.fst (OpenFst's format: \
            fstinfo and fstprint read it), OUT/words.txt, OUT/labels.txt and OUT/graph.json. \
            Words of the language model that the model cannot say are left out and listed. \
            Decode with 'speechlab decode --graph OUT'.
            """
    )

    @Option(help: ArgumentHelp("Model directory (GMM-HMM or hybrid).", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("ARPA language model (speechlab lm train, SRILM, KenLM, ...).", valueName: "file"))
    var lm: String
    @Option(help: ArgumentHelp("Graph directory to write.", valueName: "dir"))
    var out: String
    @Option(help: ArgumentHelp("Pronunciations (CMUdict or lexicon.txt) for words the model's lexicon lacks.", valueName: "file"))
    var lexicon: String?
    @Option(help: ArgumentHelp("Probability of silence between words.", valueName: "p"))
    var silenceProbability = 0.5
    @Option(help: ArgumentHelp("Scale on HMM self-loop log probabilities (Kaldi's default).", valueName: "x"))
    var selfLoopScale: Float = 0.1
    @Option(help: ArgumentHelp("Scale on the other HMM transition log probabilities.", valueName: "x"))
    var transitionScale: Float = 1
    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard (0..<1).contains(silenceProbability) else { throw ValidationError("--silence-probability must be in [0, 1), not \(silenceProbability)") }
        guard selfLoopScale >= 0, selfLoopScale.isFinite, transitionScale >= 0, transitionScale.isFinite else {
            throw ValidationError("--self-loop-scale and --transition-scale must be finite and not negative")
        }
    }

    func run() throws {
        let started = Date()
        let opened = try RecognitionModel.open(model)
        guard let hmm = opened.hmm else { throw CommandFailure("\(model): a whole-utterance classifier has no HMMs to build a graph for") }
        var extra = AcousticModels.Lexicon()
        if let lexicon {
            do { extra = AcousticModels.Lexicon(alternatives: try PronunciationLexicon.read(lexicon).pronunciations) } catch { throw CommandFailure("\(error)") }
        }
        var options = GraphCompiler.Options()
        options.silenceProbability = silenceProbability
        options.selfLoopScale = selfLoopScale
        options.transitionScale = transitionScale
        let quiet = self.quiet
        let (graph, info, unsayable) = try GraphRecipe.compile(hmm: hmm, languageModel: lm, extraLexicon: extra, options: options) { stage in
            if !quiet { printError("graph: \(stage) (\(String(format: "%.1f", Date().timeIntervalSince(started))) s)") }
        }
        if !unsayable.isEmpty {
            printError("graph: left out \(unsayable.count) words of the language model the model cannot say: "
                + unsayable.prefix(12).joined(separator: " ") + (unsayable.count > 12 ? " ..." : ""))
        }
        do { try GraphDirectory.write(graph, info: info, to: out) } catch { throw CommandFailure("\(error)") }
        print(String(format: "graph: %d states, %d arcs, %d words, %d-gram model, %.1f s → %@", info.states, info.arcs,
                     graph.words.count - 2, info.order, Date().timeIntervalSince(started), out))
    }
}
