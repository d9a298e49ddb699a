import FeatureExtraction
import Distributed
import Foundation
import HiddenMarkov
import SpeechBase

/// What a context-dependency tree is grown from (Kaldi's `acc-tree-stats` and `cluster-phones`):
/// the frames of every triphone state in a model's Viterbi alignment of the training set, and
/// phonetic questions found from the data.
public enum TriphoneStatistics {
    /// The statistics of every (left, center, right, state) seen when `model` (monophones, or
    /// triphones for a second pass) aligns `data` (units are the model's unit indices; utterance
    /// edges count as silence). Utterances that cannot be aligned are left out. Each shard's
    /// statistics enter exact sums, summed over the ranks of `communicator`: the result is the
    /// same for any number of workers and ranks.
    public static func accumulate(_ model: GMMHMM, _ data: [TrainingUtterance], jobs: Int,
                                  communicator: any Communicator = SingleProcess()) throws -> [TriphoneState: GaussianAccumulator] {
        let silence = model.silence ?? -1, D = model.dimension, width = 1 + 2 * D
        let groups = shards(of: data)
        let partial = parallelForEach(groups.count, workers: jobs, state: { [TriphoneState: ExactSums]() }) { exact, g in
            var statistics: [TriphoneState: GaussianAccumulator] = [:]
            for i in groups[g] {
                let u = data[i]
                // A triphone model aligns through its own triphone graphs (a second pass, Kaldi's tri2).
                guard !u.words.isEmpty, let graph = try? model.transitions.transcriptGraph(u.words, lexicon: model.lexicon, tree: model.tree) else { continue }
                let ll = model.logLikelihoods(frames: u.features.values, count: u.features.frames)
                guard let path = Viterbi.search(graph, logLikelihoods: ll, frames: u.features.frames, pdfCount: model.pdfCount)
                    ?? Viterbi.search(graph, logLikelihoods: ll, frames: u.features.frames, pdfCount: model.pdfCount, options: SearchOptions(beam: .infinity))
                else { continue }
                let segments = phoneSegments(path.states.map(Int.init), graph: graph)
                u.features.values.withUnsafeBufferPointer { x in
                    for (k, segment) in segments.enumerated() {
                        let left = k > 0 ? segments[k - 1].unit : silence, right = k + 1 < segments.count ? segments[k + 1].unit : silence
                        for t in segment.frames {
                            let key = TriphoneState(left: left, center: segment.unit, right: right, state: Int(graph.unitState[Int(path.states[t])]))
                            statistics[key, default: GaussianAccumulator(dimension: D)].add(x.baseAddress! + t * D)
                        }
                    }
                }
            }
            for (key, a) in statistics { exact[key, default: ExactSums(count: width)].add([a.count] + a.sum + a.sumSquares, at: 0) }
        }
        var local: [TriphoneState: ExactSums] = [:]
        for p in partial { local.merge(p) { var a = $0; a.add($1); return a } }
        // Over the ranks: every rank's states in one order, then one all-reduce.
        let keys = communicator.size > 1 ? Set(try communicator.allGather(local.keys.sorted()).joined()).sorted() : local.keys.sorted()
        var flat = ExactSums(count: keys.count * width)
        for (k, key) in keys.enumerated() {
            if let sums = local[key] { flat.values.replaceSubrange((k * width)..<((k + 1) * width), with: sums.values) }
        }
        try communicator.sum(&flat)
        var total: [TriphoneState: GaussianAccumulator] = [:]
        for (k, key) in keys.enumerated() {
            var a = GaussianAccumulator(dimension: D)
            a.count = flat.value(at: k * width)
            a.sum = flat.doubles((k * width + 1)..<(k * width + 1 + D))
            a.sumSquares = flat.doubles((k * width + 1 + D)..<((k + 1) * width))
            total[key] = a
        }
        return total
    }

    /// The phones of an aligned path: runs of frames in one unit of one grammar instance, a new
    /// one wherever the unit or instance changes or its state goes back.
    static func phoneSegments(_ states: [Int], graph: DecodingGraph) -> [(unit: Int, frames: Range<Int>)] {
        var segments: [(unit: Int, frames: Range<Int>)] = []
        var start = 0
        for t in 1...states.count {
            let ends = t == states.count || graph.unit[states[t]] != graph.unit[states[t - 1]]
                || graph.instance[states[t]] != graph.instance[states[t - 1]] || graph.unitState[states[t]] < graph.unitState[states[t - 1]]
            if ends {
                segments.append((Int(graph.unit[states[start]]), start..<t))
                start = t
            }
        }
        return segments
    }

    /// Phonetic questions found from the data, as Kaldi's `cluster-phones` does: the phones
    /// (silence apart) are clustered bottom-up by the likelihood lost when their frames share
    /// one Gaussian per state position, and every cluster formed (and each phone alone) asks
    /// about the left and about the right neighbour.
    public static func questions(_ statistics: [TriphoneState: GaussianAccumulator], units: [String], silence: Int?,
                                 varianceFloor: [Double]) -> [ContextQuestion] {
        // Each phone's pooled frames per state.
        var pooled: [Int: [Int: GaussianAccumulator]] = [:]
        // (Sums in a fixed order: every rank, and every run, finds the same questions.)
        for key in statistics.keys.sorted() where key.center != silence {
            pooled[key.center, default: [:]][key.state, default: GaussianAccumulator(dimension: varianceFloor.count)].add(statistics[key]!)
        }
        func likelihood(_ states: [Int: GaussianAccumulator]) -> Double {
            states.keys.sorted().reduce(0) { $0 + states[$1]!.logLikelihood(varianceFloor: varianceFloor) }
        }
        func merged(_ a: [Int: GaussianAccumulator], _ b: [Int: GaussianAccumulator]) -> [Int: GaussianAccumulator] {
            a.merging(b) { var x = $0; x.add($1); return x }
        }
        var clusters: [(phones: Set<Int>, states: [Int: GaussianAccumulator])] = pooled.keys.sorted().map { ([$0], pooled[$0]!) }
        var sets: [Set<Int>] = clusters.map(\.phones)
        while clusters.count > 1 {
            var best: (loss: Double, i: Int, j: Int)? = nil
            for i in 0..<clusters.count {
                for j in (i + 1)..<clusters.count {
                    let loss = likelihood(clusters[i].states) + likelihood(clusters[j].states) - likelihood(merged(clusters[i].states, clusters[j].states))
                    if loss < best?.loss ?? .infinity { best = (loss, i, j) }
                }
            }
            let (_, i, j) = best!
            let joined = (clusters[i].phones.union(clusters[j].phones), merged(clusters[i].states, clusters[j].states))
            clusters.remove(at: j)
            clusters[i] = joined
            if clusters.count > 1 { sets.append(joined.0) }
        }
        var questions: [ContextQuestion] = []
        for set in sets {
            let name = set.sorted().map { units[$0] }.joined(separator: ",")
            // Silence is a context too: the singleton question about it, and it sits in no cluster.
            questions.append(ContextQuestion(name: "left∈{\(name)}", position: -1, phones: set))
            questions.append(ContextQuestion(name: "right∈{\(name)}", position: 1, phones: set))
        }
        if let silence {
            questions.append(ContextQuestion(name: "left=\(units[silence])", position: -1, phones: [silence]))
            questions.append(ContextQuestion(name: "right=\(units[silence])", position: 1, phones: [silence]))
        }
        return questions
    }
}
