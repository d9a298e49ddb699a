import Distributed
import GaussianMixture
import SpeechBase

/// Where each Baum-Welch statistic of a model lies in one flat vector of ``ExactSums``: per pdf
/// its components' occupancies, Σγx and Σγx²; then the transition counts, the log-likelihood,
/// frames and utterances. Partial statistics (a chunk's, a worker's, a rank's) enter it
/// exactly, so the totals, and the model, do not depend on how the data was split.
struct BaumWelchLayout {
    let dimension: Int
    /// First element of each pdf's statistics, and its component count.
    let starts: [Int]
    let components: [Int]
    let transitionStart: Int
    let transitionCount: Int
    var scalarsStart: Int { transitionStart + transitionCount }
    var count: Int { scalarsStart + 3 }

    init(model: GMMHMM) {
        dimension = model.dimension
        components = model.mixtures.map(\.componentCount)
        var starts: [Int] = [], next = 0
        for k in components {
            starts.append(next)
            next += k * (1 + 2 * model.dimension)
        }
        self.starts = starts
        transitionStart = next
        transitionCount = model.transitions.transitionCount
    }

    /// Adds `partial`'s statistics of `pdfs`, its nonzero transition counts and its scalars to
    /// `sums`, and zeroes them in `partial` (which stays allocated for the next chunk).
    func move(_ partial: inout BaumWelchStatistics, pdfs: [Int], into sums: inout ExactSums) {
        for s in pdfs {
            let K = components[s], D = dimension
            sums.add(partial.mixtures[s].occupancy, at: starts[s])
            sums.add(partial.mixtures[s].firstOrder, at: starts[s] + K)
            sums.add(partial.mixtures[s].secondOrder, at: starts[s] + K + K * D)
            partial.mixtures[s].zero()
        }
        for (i, c) in partial.transitions.enumerated() where c != 0 {
            sums.add(c, at: transitionStart + i)
            partial.transitions[i] = 0
        }
        sums.add([partial.logLikelihood, Double(partial.frames), Double(partial.utterances)], at: scalarsStart)
        (partial.logLikelihood, partial.frames, partial.utterances) = (0, 0, 0)
    }

    /// The statistics the totals hold (`skipped` left empty).
    func statistics(_ sums: ExactSums, model: GMMHMM) -> BaumWelchStatistics {
        var statistics = BaumWelchStatistics(model: model)
        let D = dimension
        for s in starts.indices {
            let K = components[s], start = starts[s]
            statistics.mixtures[s].occupancy = sums.doubles(start..<(start + K))
            statistics.mixtures[s].firstOrder = sums.doubles((start + K)..<(start + K + K * D))
            statistics.mixtures[s].secondOrder = sums.doubles((start + K + K * D)..<(start + K + 2 * K * D))
        }
        statistics.transitions = sums.doubles(transitionStart..<(transitionStart + transitionCount))
        statistics.logLikelihood = sums.value(at: scalarsStart)
        statistics.frames = Int(sums.value(at: scalarsStart + 1))
        statistics.utterances = Int(sums.value(at: scalarsStart + 2))
        return statistics
    }
}

/// The shards of training data: utterance indices grouped by `TrainingUtterance.shard` (a
/// speaker, or a block of utterances), in order of first appearance; utterances without one
/// in blocks of 64 by position. A shard is the unit a rank owns whole, and the unit whose
/// partial sums (in Double, in a fixed order) enter exact totals.
func shards(of data: [TrainingUtterance]) -> [[Int]] {
    var index: [String: Int] = [:], groups: [[Int]] = []
    for (i, u) in data.enumerated() {
        let key = u.shard.isEmpty ? "\u{0}block \(i / 64)" : u.shard
        let k = index[key] ?? {
            index[key] = groups.count
            groups.append([])
            return groups.count - 1
        }()
        groups[k].append(i)
    }
    return groups
}

extension GMMHMMTrainer {
    /// Totals of `count` values over `data` on every rank: `add(&partial, i)` adds utterance i's
    /// terms to a partial (made by `make`, flattened to `count` Doubles by `flatten`) that
    /// gathers one shard at a time, its utterances in order, and then enters exact sums; shards
    /// run on the workers, and the ranks' sums are all-reduced. The result does not depend on
    /// the number of workers or ranks.
    func exactTotals<Partial>(count: Int, over data: [TrainingUtterance], partial make: @Sendable () -> Partial,
                              add: @Sendable (inout Partial, Int) -> Void, flatten: @Sendable (Partial) -> [Double]) throws -> [Double] {
        let groups = shards(of: data)
        let partial = parallelForEach(groups.count, workers: jobs, state: { ExactSums(count: count) }) { sums, g in
            var shard = make()
            for i in groups[g] { add(&shard, i) }
            let flat = flatten(shard)
            precondition(flat.count == count, "exactTotals: a partial of \(flat.count) values, not \(count)")
            sums.add(flat, at: 0)
        }
        var sums = ExactSums(count: count)
        for p in partial { sums.add(p) }
        try communicator.sum(&sums)
        return sums.doubles(0..<count)
    }

    /// ``exactTotals(count:over:partial:add:flatten:)`` with a flat Double partial.
    func exactTotals(count: Int, over data: [TrainingUtterance], _ add: @Sendable (inout [Double], Int) -> Void) throws -> [Double] {
        try exactTotals(count: count, over: data, partial: { [Double](repeating: 0, count: count) }, add: add, flatten: { $0 })
    }

    /// Every rank's `skipped` reasons merged (one rank's own when alone).
    func allSkipped(_ skipped: [String: String]) throws -> [String: String] {
        guard communicator.size > 1 else { return skipped }
        return try communicator.allGather(skipped).reduce(into: [:]) { $0.merge($1) { a, _ in a } }
    }
}
