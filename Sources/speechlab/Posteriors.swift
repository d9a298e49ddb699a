import AcousticModels
import ArgumentParser
import Distributed
import Dispatch
import FeatureExtraction
import Foundation
import SpeechBase
import Synchronization

/// `speechlab posteriors`: log posteriors of a neural model, as Kaldi's `nnet3-compute` writes them.
struct Posteriors: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        abstract: "Write a neural model's log posteriors as .npy files: per frame over HMM states (hybrid), or per utterance over words (classifier).",
        discussion: """
            Writes OUT/post/<utt-id>.npy and OUT/posteriors.scp, for post-processing in Python. For a \
            hybrid model each file is float32 [frames, states], log p(state | frames), priors not \
            subtracted; for a classifier it is float32 [1, words], log p(word | utterance), the \
            columns in the order of model.json's architecture.words. The model's model.json says how \
            the input was normalized.
            """
    )

    @Option(help: ArgumentHelp("Hybrid or classifier model directory.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Data directory (or folder of audio files).", valueName: "dir"))
    var data: String
    @Option(help: ArgumentHelp("Folder to write into.", valueName: "dir"))
    var out: String
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func run() throws {
        // Each family's posteriors: a [rows, columns] matrix of one utterance's features.
        let features: FeatureConfig, columns: Int, posteriorsOf: @Sendable (FeatureMatrix) -> FeatureMatrix
        var recognition: RecognitionModel?
        switch try ModelDirectory.header(model).kind {
        case .classifier:
            let classifier = try UtteranceClassifier.load(model)
            (features, columns) = (classifier.features, classifier.architecture.words.count)
            posteriorsOf = { FeatureMatrix(frames: 1, dimension: columns, values: classifier.classify($0).logProbabilities) }
        case .gmmHMM:
            _ = try HybridModel.load(model)  // refused, naming its kind
            throw ModelError("\(model): is not a hybrid model")
        case .hybrid:
            // Opened as any recognition model: a hybrid on fMLLR-adapted features brings its GMM-HMM.
            let opened = try RecognitionModel.open(model)
            guard let hybrid = opened.hmm?.scorer as? HybridModel else { throw ModelError("\(model): is not a hybrid model") }
            (features, columns, recognition) = (hybrid.hmm.features, hybrid.pdfCount, opened)
            posteriorsOf = { x in
                FeatureMatrix(frames: x.frames, dimension: columns, values: hybrid.logPosteriors(frames: hybrid.normalization.apply(x), count: x.frames))
            }
        }
        // Under mpirun/srun each rank writes the posteriors of whole speakers; rank 0 the index.
        let world = Distributed.world
        let corpus = try CorpusFeatures.load(data, config: features, rateGiven: true, requireTranscripts: false, run: runOptions, world: world)
        var items = corpus.utterances
        // A hybrid trained on fMLLR-adapted features sees adapted features here too: a first
        // pass with its GMM-HMM (word loop) gives each speaker's transform.
        if let opened = recognition, let adaptation = opened.twoPassAdaptation(enabled: nil), case .search(let recognizer, _) = opened.engine {
            if recognizer.hasGrammars {
                let jobs = runOptions.jobs
                let adapted = adaptation.adapt(items.map(\.features), speakers: corpus.speakers, jobs: jobs) { features, scorer in
                    parallelMap(features.count, workers: jobs) { recognizer.decode(features[$0], scorer: scorer, grammar: .loop)?.words }
                }.features
                for i in items.indices { items[i].features = adapted[i] }
                if !runOptions.quiet { printError("posteriors: features adapted to each speaker (fMLLR from a word-loop first pass)") }
            } else {
                printError("warning: \(model) was trained on fMLLR-adapted features; a triphone model has no grammar for a first pass here, so these are posteriors of unadapted features")
            }
        }
        let folder = (out as NSString).appendingPathComponent("post")
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw ModelError("\(folder): cannot be created: \(FileError.reason(error))")
        }
        let inputs = items
        let failures = parallelMap(inputs.count, workers: runOptions.jobs) { i -> String? in
            let (utterance, features) = inputs[i]
            let matrix = posteriorsOf(features)
            do { try NumpyFile.write(matrix, to: (folder as NSString).appendingPathComponent(utterance.id + ".npy")) } catch {
                return "\(error)"
            }
            return nil
        }
        if let first = failures.compactMap({ $0 }).first { throw ModelError(first) }
        let written = items.map { UtteranceResult(id: $0.utterance.id, value: "post/\($0.utterance.id).npy") }
        guard let all = try world.gatherInOrder(written, listing: corpus.listing) else { return }
        try AtomicFile.write(lines: all.map { "\($0.id) \($0.value)" }, to: (out as NSString).appendingPathComponent("posteriors.scp"))
        print("posteriors: \(all.count) utterances, \(columns) columns → \((out as NSString).appendingPathComponent("posteriors.scp"))")
    }
}
