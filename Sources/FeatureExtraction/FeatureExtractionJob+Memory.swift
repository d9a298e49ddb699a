import AudioIO
import Dispatch
import Foundation
import SpeechBase
import Synchronization

extension FeatureExtractionJob {
    /// Features of every source, in memory (for training and decoding, which compute the
    /// features a model was trained with from audio). Per-speaker CMVN pools each speaker's
    /// statistics first. A failed utterance has `nil` features and its reason in `failures`.
    /// - Parameter progress: called after each utterance with (done, total), from worker threads.
    public func computeInMemory(_ sources: [FeatureSource], progress: (@Sendable (Int, Int) -> Void)? = nil) throws
        -> (features: [FeatureMatrix?], failures: [(id: String, reason: String)]) {
        try config.validate()
        if config.cmvn == .speaker, let missing = sources.first(where: { $0.speaker == nil }) {
            throw FeatureConfigurationError("--cmvn speaker needs a speaker for every utterance (utt2spk); '\(missing.id)' has none")
        }
        var audioOptions = audio
        audioOptions.sampleRate = Int(config.frame.sampleFrequency)
        let readOptions = audioOptions
        let config = self.config
        let count = sources.count
        let results = Locked([Result<FeatureMatrix, Error>?](repeating: nil, count: count))
        let done = Atomic(0)
        // validate() passed above, so making a computer cannot fail here.
        _ = parallelForEach(count, workers: jobs, state: { try! FeatureComputer(config: config) }) { computer, i in
            let outcome = Result {
                let wave = try AudioFile.read(sources[i].audioPath, segment: sources[i].segment, options: readOptions)
                return config.cmvn == .speaker
                    ? try Self.baseFeatures(of: wave.samples, id: sources[i].id, computer: computer)
                    : try Self.features(of: wave.samples, id: sources[i].id, computer: computer)
            }
            results.withLock { $0[i] = outcome }
            progress?(done.add(1, ordering: .relaxed).newValue, count)
        }
        var features: [FeatureMatrix?] = [], failures: [(id: String, reason: String)] = []
        for (i, outcome) in results.withLock({ $0 }).enumerated() {
            switch outcome! {
            case .success(let f): features.append(f)
            case .failure(let error):
                features.append(nil)
                failures.append((sources[i].id, "\(error)"))
            }
        }
        if config.cmvn == .speaker {
            var bySpeaker: [String: CMVNStatistics] = [:]
            for (i, f) in features.enumerated() {
                guard let f else { continue }
                bySpeaker[sources[i].speaker!, default: CMVNStatistics(dimension: f.dimension)].add(CMVNStatistics(f))
            }
            for i in features.indices {
                guard var f = features[i] else { continue }
                bySpeaker[sources[i].speaker!]!.apply(to: &f, normalizeVariance: config.normalizeVariance)
                features[i] = Self.finish(f, config: config)
            }
        }
        return (features, failures)
    }
}
