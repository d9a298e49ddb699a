import AcousticModels
import ArgumentParser
import Dispatch
import FeatureExtraction
import Foundation
import SpeechBase
import Synchronization

/// `speechlab posteriors`: per-frame log posteriors of a hybrid model, as Kaldi's `nnet3-compute`.
struct Posteriors: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a hybrid model's per-frame log posteriors over HMM states as .npy files.",
        discussion: """
            Writes OUT/post/<utt-id>.npy (float32 [frames, states], log p(state | frames), priors not \
            subtracted) and OUT/posteriors.scp, for post-processing in Python. The model's model.json \
            says how the input was normalized and which HMM state each column is.
            """
    )

    @Option(help: ArgumentHelp("Hybrid model directory.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Data directory (or folder of audio files).", valueName: "dir"))
    var data: String
    @Option(help: ArgumentHelp("Folder to write into.", valueName: "dir"))
    var out: String
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions
    var jobs: Int { runOptions.jobs }
    var quiet: Bool { runOptions.quiet }

    func run() throws {
        Runtime.configure()
        let (hybrid, _) = try HybridModel.load(model)
        let corpus = try CorpusFeatures.load(data, config: hybrid.hmm.features, rateGiven: true, requireTranscripts: false, run: runOptions)
        let folder = (out as NSString).appendingPathComponent("post")
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw ModelError("\(folder): cannot be created: \(FileError.reason(error))")
        }
        let items = corpus.utterances
        let failures = parallelMap(items.count, jobs: jobs) { i -> String? in
            let (utterance, features) = items[i]
            let posteriors = hybrid.logPosteriors(frames: hybrid.normalization.apply(features), count: features.frames)
            let matrix = FeatureMatrix(frames: features.frames, dimension: hybrid.pdfCount, values: posteriors)
            do { try NumpyFile.write(matrix, to: (folder as NSString).appendingPathComponent(utterance.id + ".npy")) } catch {
                return "\(error)"
            }
            return nil
        }
        if let first = failures.compactMap({ $0 }).first { throw ModelError(first) }
        try writeLines(items.map { "\($0.utterance.id) post/\($0.utterance.id).npy" }, to: (out as NSString).appendingPathComponent("posteriors.scp"))
        print("posteriors: \(items.count) utterances, \(hybrid.pdfCount) states → \((out as NSString).appendingPathComponent("posteriors.scp"))")
    }
}
