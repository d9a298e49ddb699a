import AcousticModels
import ArgumentParser
import Dispatch
import FeatureExtraction
import Foundation
import HiddenMarkov
import Synchronization

/// `speechlab decode`: recognizes the utterances of a data directory with a trained model.
struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode audio with a trained model (Viterbi beam search).",
        discussion: """
            Computes each utterance's features as the model was trained (its model.json says how), \
            searches the grammar's graph and writes Kaldi-style 'utt-id WORD ...' lines to HYP. \
            --times also writes 'utt-id start end WORD' lines (seconds) for every word.
            """
    )

    @Option(help: ArgumentHelp("Model directory.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Data directory (or folder of audio files) to decode.", valueName: "dir"))
    var data: String?
    @Option(help: ArgumentHelp("Decode a feature directory made by 'speechlab features' with the model's options (all its utterances, or those of --data).", valueName: "dir"))
    var feats: String?
    @Option(help: ArgumentHelp("isolated (one word with optional silence) or loop (any word sequence).", valueName: "grammar"))
    var grammar: Grammar = .isolated
    @Option(help: ArgumentHelp("Hypotheses file to write.", valueName: "file"))
    var out: String
    @Option(help: ArgumentHelp("Word times file to write.", valueName: "file"))
    var times: String?
    @Option(help: ArgumentHelp("Search beam (log domain; default: the model's).", valueName: "x"))
    var beam: Float?
    @Option(name: .customLong("acoustic-scale"), help: ArgumentHelp("Acoustic scale (default: the model's).", valueName: "x"))
    var acousticScale: Float?
    @Option(name: .customLong("word-penalty"), help: ArgumentHelp("Log-domain penalty per word, loop grammar (default: the model's).", valueName: "x"))
    var wordPenalty: Float?
    @Option(help: ArgumentHelp("Parallel workers (default: all cores).", valueName: "n"))
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard data != nil || feats != nil else { throw ValidationError("give --data, --feats or both") }
    }

    func run() throws {
        Runtime.configure()
        let started = Date()
        if try ModelDirectory.header(model).kind == "classifier" { return try classify(started: started) }
        let loaded = try LoadedModel.load(model)
        var search = loaded.search
        if let beam { search.beam = beam }
        if let acousticScale { search.acousticScale = acousticScale }
        if let wordPenalty { search.wordPenalty = wordPenalty }
        let recognizer = try Recognizer(transitions: loaded.transitions, lexicon: loaded.lexicon, vocabulary: loaded.vocabulary, options: search)
        let corpus: CorpusFeatures
        if let feats {
            corpus = try CorpusFeatures.load(data, featureDirectory: feats, requireTranscripts: false)
            guard corpus.config == loaded.features else {
                throw ModelError("\(feats): features were made with other options than the model's (compare its config.json with the model's model.json)")
            }
        } else {
            corpus = try CorpusFeatures.load(data!, config: loaded.features, rateGiven: true, jobs: jobs, requireTranscripts: false, quiet: quiet)
        }
        let count = corpus.utterances.count
        let grammar = self.grammar
        let scorer = loaded.scorer
        let utterances = corpus.utterances.map(\.features)
        let paths = parallelMap(count, jobs: jobs) { recognizer.decode(utterances[$0], scorer: scorer, grammar: grammar) }
        var lines: [String] = [], timeLines: [String] = []
        var failed = 0, audioFrames = 0
        let shift = loaded.features.frame.frameShiftMs / 1000
        for (i, (utterance, features)) in corpus.utterances.enumerated() {
            audioFrames += features.frames
            guard let path = paths[i] else {
                failed += 1
                printError("warning: \(utterance.id): no path through the \(grammar) grammar fits its \(features.frames) frames")
                lines.append(utterance.id)
                continue
            }
            lines.append(([utterance.id] + path.words.map(\.word)).joined(separator: " "))
            for w in path.words {
                timeLines.append(String(format: "%@ %.2f %.2f %@", utterance.id, Double(w.start) * shift, Double(w.end) * shift, w.word))
            }
        }
        try writeLines(lines, to: out)
        if let times { try writeLines(timeLines, to: times) }
        let seconds = Date().timeIntervalSince(started)
        print(String(format: "decode: %d utterances (%d without a path), %.1f s of audio in %.2f s (real-time factor %.4f) → %@",
                     count, failed, Double(audioFrames) * shift, seconds, seconds / max(Double(audioFrames) * shift, 1e-9), out))
    }
}

extension Decode {
    /// A whole-utterance classifier names one word per utterance (the grammar does not apply).
    func classify(started: Date) throws {
        let classifier = try UtteranceClassifier.load(model)
        let corpus: CorpusFeatures
        if let feats {
            corpus = try CorpusFeatures.load(data, featureDirectory: feats, requireTranscripts: false)
            guard corpus.config == classifier.features else { throw ModelError("\(feats): features were made with other options than the model's") }
        } else {
            corpus = try CorpusFeatures.load(data!, config: classifier.features, rateGiven: true, jobs: jobs, requireTranscripts: false, quiet: quiet)
        }
        let items = corpus.utterances.map(\.features)
        let words = parallelMap(items.count, jobs: jobs) { classifier.classify(items[$0]).word }
        try writeLines(zip(corpus.utterances, words).map { "\($0.0.utterance.id) \($0.1)" }, to: out)
        let seconds = Date().timeIntervalSince(started)
        let audio = Double(items.reduce(0) { $0 + $1.frames }) * classifier.features.frame.frameShiftMs / 1000
        print(String(format: "decode: %d utterances classified, %.1f s of audio in %.2f s (real-time factor %.4f) → %@",
                     items.count, audio, seconds, seconds / max(audio, 1e-9), out))
    }
}

/// Writes lines atomically.
func writeLines(_ lines: [String], to path: String) throws {
    do {
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw ValidationError("\(path): cannot be written: \(error.localizedDescription)")
    }
}

extension Grammar: ExpressibleByArgument {}

/// A model directory of any family, as the decoder needs it.
struct LoadedModel {
    var transitions: TransitionModel
    var lexicon: Lexicon
    var vocabulary: [String]
    var features: FeatureConfig
    var search: SearchOptions
    var scorer: any AcousticScorer & Sendable

    static func load(_ path: String) throws -> LoadedModel {
        let header = try ModelDirectory.header(path)
        switch header.kind {
        case "gmm-hmm":
            let (model, search) = try GMMHMM.load(path)
            return LoadedModel(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary,
                               features: model.features, search: search, scorer: model)
        case "hybrid":
            let (model, search) = try HybridModel.load(path)
            return LoadedModel(transitions: try model.hmm.transitionModel(), lexicon: model.hmm.lexicon, vocabulary: model.hmm.vocabulary,
                               features: model.hmm.features, search: search, scorer: model)
        default:
            throw ModelError("\(path): models of kind '\(header.kind)' cannot be decoded by this command")
        }
    }
}
