import DecodingGraphs
import FeatureExtraction
import Foundation
import HiddenMarkov
import LanguageModel
import SpeechBase

/// Decoding graphs for an HMM model (GMM-HMM or hybrid) with an n-gram language model, and
/// recognition through them: Kaldi's `mkgraph.sh` and `decode-faster`.
public enum GraphRecipe {
    /// The graph of `hmm`'s units and lexicon with the ARPA model at `languageModel`. Words of
    /// the language model that the lexicon cannot say are left out and returned (a whole-word
    /// model says exactly its vocabulary); `extraLexicon` adds pronunciations for words the model
    /// was not trained on.
    public static func compile(hmm: HMMSide, languageModel path: String, extraLexicon: Lexicon = Lexicon(),
                               options: GraphCompiler.Options = .init(),
                               progress: (String) -> Void = { _ in }) throws -> (graph: GraphCompiler.Graph, info: GraphDirectory.Info, unsayable: [String]) {
        progress("reading \(path)")
        let lm: NGramModel
        do { lm = try ARPAFile.read(path) } catch { throw ModelError("\(error)") }
        let special: Set<String> = [NGramModel.sentenceStart, NGramModel.sentenceEnd, NGramModel.unknown]
        var pronunciations: [String: [[String]]] = [:], unsayable: [String] = []
        let known = Set(hmm.transitions.units)
        for word in lm.words where !special.contains(word) {
            let alternatives: [[String]]?
            if hmm.lexicon.isEmpty {
                // Whole-word units: a word is sayable when it is one of the model's units.
                alternatives = known.contains(word) && word != silenceUnit ? [[word]] : nil
            } else {
                alternatives = hmm.lexicon.alternatives[word] ?? extraLexicon.alternatives[word]
            }
            guard let alternatives, alternatives.allSatisfy({ $0.allSatisfy(known.contains) }) else { unsayable.append(word); continue }
            pronunciations[word] = alternatives
        }
        guard !pronunciations.isEmpty else {
            throw ModelError("\(path): none of the language model's words can be said with the model's units and lexicon")
        }
        let lexicon: LexiconFst, grammar: Fst
        do {
            lexicon = try LexiconFst(pronunciations: pronunciations, silencePhone: silenceUnit)
            progress("G")
            grammar = try GrammarFst.build(lm, words: lexicon.words)
        } catch { throw ModelError("\(error)") }
        let transitions = hmm.transitions
        let graph: GraphCompiler.Graph
        do {
            graph = try GraphCompiler.compile(lexicon: lexicon, grammar: grammar, transitions: transitions,
                                              tree: hmm.tree, options: options, progress: progress)
        } catch { throw ModelError("\(error)") }
        let info = GraphDirectory.Info(pdfCount: hmm.pdfCount, transitionCount: transitions.transitionCount, languageModel: path,
                                       order: lm.order, options: options, states: graph.fst.stateCount, arcs: graph.fst.arcCount)
        return (graph, info, unsayable.sorted())
    }
}

/// Recognition through a compiled graph with any HMM model's scorer.
public struct GraphRecognizer: Sendable {
    public let graph: StaticGraph
    public let info: GraphDirectory.Info
    public var decoder: TokenPassingDecoder

    /// Reads the graph directory at `path` and checks that it fits `hmm` (same pdfs and transitions).
    public init(graphDirectory path: String, hmm: HMMSide, decoder: TokenPassingDecoder) throws {
        let read: (graph: StaticGraph, info: GraphDirectory.Info)
        do {
            read = try GraphDirectory.read(path, model: (hmm.pdfCount, hmm.transitions.transitionCount))
        } catch { throw ModelError("\(error)") }
        if let problem = decoder.problem { throw ModelError(problem) }
        (graph, info, self.decoder) = (read.graph, read.info, decoder)
    }

    /// The best path's words for frames scored by `scorer` (nil when every token died).
    public func decode(_ features: FeatureMatrix, scorer: some AcousticScorer) -> TokenPassingDecoder.Result? {
        let ll = scorer.logLikelihoods(frames: features.values, count: features.frames)
        return decoder.decode(graph, logLikelihoods: ll, frames: features.frames, pdfCount: scorer.pdfCount)
    }
}

extension GraphRecognizer {
    /// The same graph and search at another LM weight (the acoustic scale its inverse).
    public func atLMWeight(_ weight: Float) -> GraphRecognizer {
        var copy = self
        copy.decoder.acousticScale = 1 / weight
        return copy
    }

    /// The words of every utterance decoded at each LM weight (the acoustic scale its inverse),
    /// the acoustic log-likelihoods computed once: Kaldi's scoring over LM weights, for tuning on
    /// a dev set.
    public func scan(_ utterances: [FeatureMatrix], scorer: some AcousticScorer & Sendable, lmWeights: [Float],
                     workers: Int) -> [[[TimedWord]?]] {
        let likelihoods = parallelMap(utterances.count, workers: workers) {
            scorer.logLikelihoods(frames: utterances[$0].values, count: utterances[$0].frames)
        }
        return lmWeights.map { weight in
            let decoder = atLMWeight(weight).decoder
            return parallelMap(utterances.count, workers: workers) {
                decoder.decode(graph, logLikelihoods: likelihoods[$0], frames: utterances[$0].frames, pdfCount: scorer.pdfCount)?.words
            }
        }
    }
}

/// The decoding settings chosen on a dev set (`decode --lm-weights`), kept in the model
/// directory as `decoding.json` and used by later `decode --graph` runs that name none.
public struct TunedDecoding: Codable, Sendable, Equatable {
    /// The graph tuned with, as given.
    public var graph: String
    public var lmWeight: Float
    public var wordPenalty: Float
    /// The dev set, its reference words, and the errors at each weight tried.
    public var tunedOn: String
    public var referenceWords: Int
    public var errorsByWeight: [String: Int]
    /// The LM weight of the passes before the last when the model adapts in two passes (they
    /// found the words that estimated each speaker's transform while the weights were tried);
    /// nil in files written before it was kept: those passes then use `lmWeight`.
    public var firstPassLMWeight: Float?

    public init(graph: String, lmWeight: Float, wordPenalty: Float, tunedOn: String, referenceWords: Int, errorsByWeight: [String: Int],
                firstPassLMWeight: Float? = nil) {
        self.graph = graph
        self.firstPassLMWeight = firstPassLMWeight
        self.lmWeight = lmWeight
        self.wordPenalty = wordPenalty
        self.tunedOn = tunedOn
        self.referenceWords = referenceWords
        self.errorsByWeight = errorsByWeight
    }

    public static let fileName = "decoding.json"

    /// The LM weight when none was given or tuned (Kaldi's usual acoustic scale, 0.1).
    public static let defaultLMWeight: Float = 10

    /// A decoder for the model directory at `path`: the LM weight and word penalty given, else
    /// the ones tuned on a dev set (its `decoding.json`, returned too), else the defaults.
    public static func decoder(for path: String, lmWeight: Float? = nil, wordPenalty: Float? = nil, beam: Float? = nil,
                               maxActive: Int? = nil) throws -> (decoder: TokenPassingDecoder, tuned: TunedDecoding?) {
        let tuned = try read(path)
        var decoder = TokenPassingDecoder(acousticScale: 1 / (lmWeight ?? tuned?.lmWeight ?? defaultLMWeight),
                                          wordPenalty: wordPenalty ?? tuned?.wordPenalty ?? 0)
        if let beam { decoder.beam = beam }
        if let maxActive { decoder.maxActive = maxActive }
        return (decoder, tuned)
    }

    /// The LM weight of two-pass adaptation's first passes: the one given, else the one they
    /// had while the weights were tuned (so that a later decode repeats the tuned one), else the
    /// decoder's. While weights are tuned (`tuning`), always ``defaultLMWeight``, as Kaldi's
    /// `decode_fmllr.sh` keeps one acoustic scale for its first pass whatever is scored after.
    public static func firstPassLMWeight(given: Float?, tuned: TunedDecoding?, tuning: Bool) -> Float {
        if tuning { return defaultLMWeight }
        return given ?? tuned?.firstPassLMWeight ?? tuned?.lmWeight ?? defaultLMWeight
    }

    /// The settings saved in the model directory at `path`, or nil when it has none.
    public static func read(_ path: String) throws -> TunedDecoding? {
        let file = (path as NSString).appendingPathComponent(fileName)
        guard FileKind.of(file) != .missing else { return nil }
        do {
            try requireRegularFile(file)
            let tuned = try JSONDecoder().decode(TunedDecoding.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
            guard tuned.lmWeight > 0, tuned.lmWeight.isFinite, tuned.wordPenalty.isFinite,
                  tuned.firstPassLMWeight.map({ $0 > 0 && $0.isFinite }) ?? true else {
                throw ModelError("\(file): the LM weight must be positive and the word penalty finite")
            }
            return tuned
        } catch let error as ModelError {
            throw error
        } catch {
            throw ModelError("\(file): is not a decoding setting: \(describe(error))")
        }
    }

    /// Writes `decoding.json` into the model directory at `path` (whole: a temporary name, then a rename).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try AtomicFile.write(encoder.encode(self), to: (path as NSString).appendingPathComponent(Self.fileName)) } catch {
            throw ModelError(FileError.reason(error))
        }
    }
}
