import AudioIO
import Distributed
import FeatureExtraction
import Foundation
import SpeechCorpus

/// How a corpus is spread over the ranks of a distributed run (`mpirun`, `srun`): in whole
/// shards, a speaker each (`utt2spk`; Kaldi splits data per speaker too), or without speakers a
/// block of consecutive utterances; largest first to the least-loaded rank, by audio duration.
/// A speaker on one rank keeps per-speaker normalization and fMLLR on that rank, and the shard
/// is the unit whose partial sums enter the exact totals, so every split gives the same model.
enum CorpusShards {
    /// Utterances per shard in a corpus without speakers.
    static let blockSize = 64

    /// Each utterance's shard, as the corpus lists them (before missing speakers are filled in).
    static func keys(_ corpus: [Utterance]) -> [String] {
        corpus.enumerated().map { i, u in u.speaker.map { "speaker \($0)" } ?? "utterances \(i / blockSize)" }
    }

    /// The rank of each shard (`costs[k]`: its work): the largest first, each to the rank with
    /// the least so far (ties to the lower rank); then, while it lowers the busiest rank's load,
    /// a shard moved from it to the least busy rank or swapped with one there (with few shards,
    /// such as five speakers on two ranks, the greedy split alone can leave a rank with 58% of
    /// the work). Ranks finish an iteration together.
    static func assign(costs: [Double], ranks: Int) -> [Int] {
        var load = [Double](repeating: 0, count: ranks), owner = [Int](repeating: 0, count: costs.count)
        for k in costs.indices.sorted(by: { costs[$0] != costs[$1] ? costs[$0] > costs[$1] : $0 < $1 }) {
            let r = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            owner[k] = r
            load[r] += costs[k]
        }
        for _ in 0..<(4 * costs.count) {
            let high = load.indices.max { load[$0] != load[$1] ? load[$0] < load[$1] : $0 > $1 }!
            let low = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            let gap = load[high] - load[low]
            // The change (a shard from `high`, one from `low` or none) that leaves the two
            // closest; it must shrink the gap.
            var best: (gap: Double, out: Int, back: Int?)? = nil
            for a in costs.indices where owner[a] == high {
                if abs(gap - 2 * costs[a]) < (best?.gap ?? gap) - 1e-9 { best = (abs(gap - 2 * costs[a]), a, nil) }
                for b in costs.indices where owner[b] == low && costs[b] < costs[a] {
                    let moved = costs[a] - costs[b]
                    if abs(gap - 2 * moved) < (best?.gap ?? gap) - 1e-9 { best = (abs(gap - 2 * moved), a, b) }
                }
            }
            guard let best else { break }
            owner[best.out] = low
            load[high] -= costs[best.out]
            load[low] += costs[best.out]
            if let b = best.back {
                owner[b] = high
                load[low] -= costs[b]
                load[high] += costs[b]
            }
        }
        return owner
    }

    /// Whether utterance i of `keys` is this rank's, with every rank holding at least one shard.
    /// `cost(i)` estimates utterance i's work (its duration); one process holds everything.
    static func mine(keys: [String], cost: (Int) -> Double, world: any Communicator, what path: String) throws -> [Bool] {
        guard world.size > 1 else { return [Bool](repeating: true, count: keys.count) }
        var index: [String: Int] = [:], costs: [Double] = []
        let shardOf = keys.enumerated().map { i, key -> Int in
            let k = index[key] ?? {
                index[key] = costs.count
                costs.append(0)
                return costs.count - 1
            }()
            costs[k] += max(cost(i), 1e-3)
            return k
        }
        guard costs.count >= world.size else {
            throw CommandFailure("\(path): \(costs.count) shards (speakers, or blocks of \(blockSize) utterances without utt2spk) "
                + "cannot keep \(world.size) ranks busy; run fewer ranks")
        }
        let owner = assign(costs: costs, ranks: world.size)
        return shardOf.map { owner[$0] == world.rank }
    }

    /// An utterance's duration from its audio file's header (0 when unreadable: the error is
    /// reported by the rank that computes its features).
    static func duration(_ u: Utterance) -> Double {
        if let segment = u.segment, let end = segment.end { return end - segment.start }
        guard let info = try? AudioFile.info(u.audioPath), info.sampleRate > 0 else { return 0 }
        return Double(info.frames) / Double(info.sampleRate) - (u.segment?.start ?? 0)
    }
}

extension CorpusFeatures {
    /// Every rank's utterances on every rank, in corpus order: the features each rank computed
    /// for its shards, exchanged once (a network trained data-parallel draws its batches from
    /// all the data on every rank). One process: itself.
    func gathered(_ world: any Communicator) throws -> CorpusFeatures {
        guard world.size > 1 else { return self }
        var bytes: [UInt8] = []
        func append(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        for (u, f) in utterances {
            append(UInt32(u.id.utf8.count))
            bytes += Array(u.id.utf8)
            append(UInt32(f.frames))
            append(UInt32(f.dimension))
            f.values.withUnsafeBytes { bytes += $0 }
        }
        var features: [String: FeatureMatrix] = [:]
        for part in try world.allGather(bytes) {
            try part.withUnsafeBytes { raw in
                var offset = 0
                func read() throws -> Int {
                    guard offset + 4 <= raw.count else { throw CommandFailure("gathering features: a rank sent a truncated message") }
                    defer { offset += 4 }
                    return Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                }
                while offset < raw.count {
                    let length = try read()
                    guard offset + length <= raw.count else { throw CommandFailure("gathering features: a rank sent a truncated message") }
                    let id = String(decoding: raw[offset..<(offset + length)], as: UTF8.self)
                    offset += length
                    let frames = try read(), dimension = try read(), count = frames * dimension * 4
                    guard offset + count <= raw.count else { throw CommandFailure("gathering features: a rank sent a truncated message") }
                    var values = [Float](repeating: 0, count: frames * dimension)
                    values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)])) }
                    offset += count
                    features[id] = FeatureMatrix(frames: frames, dimension: dimension, values: values)
                }
            }
        }
        var all = self
        all.utterances = listing.compactMap { u in features[u.id].map { (u, $0) } }
        return all
    }
}

/// One utterance's result on its way to rank 0.
struct UtteranceResult<Value: Codable>: Codable {
    var id: String
    var value: Value
}

extension Communicator {
    /// Every rank's per-utterance results on rank 0, in the order of `listing` (the corpus as
    /// one process reads it); nil on the other ranks. One process: its own, in that order.
    func gatherInOrder<Value: Codable>(_ results: [UtteranceResult<Value>], listing: [Utterance]) throws -> [UtteranceResult<Value>]? {
        let parts = size > 1 ? try allGather(results) : [results]
        guard isWriter else { return nil }
        var byID: [String: UtteranceResult<Value>] = [:]
        for part in parts { for r in part { byID[r.id] = r } }
        return listing.compactMap { byID[$0.id] }
    }
}
