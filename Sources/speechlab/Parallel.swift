import AudioIO
import Dispatch
import FeatureExtraction
import SpeechBase
import SpeechCorpus
import Synchronization

/// `body(i)` for every `i` in `0..<count` on `jobs` worker threads, results in order.
func parallelMap<T: Sendable>(_ count: Int, jobs: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let results = Locked([T?](repeating: nil, count: count))
    let next = Atomic(0)
    DispatchQueue.concurrentPerform(iterations: min(max(jobs, 1), max(count, 1))) { _ in
        while case let i = next.add(1, ordering: .relaxed).oldValue, i < count {
            let value = body(i)
            results.withLock { $0[i] = value }
        }
    }
    return results.withLock { $0.map { $0! } }
}

/// `config` with the working sample rate set to the first utterance's file's rate.
func withWorkingRate(_ config: FeatureConfig, of corpus: [Utterance]) throws -> FeatureConfig {
    var config = config
    let first = corpus[0]
    do {
        config.frame.sampleFrequency = Double(try AudioFile.info(first.audioPath).sampleRate)
    } catch {
        throw CorpusError("\(first.id): \(error) (needed for the working sample rate; give --sample-frequency to set it)")
    }
    return config
}
