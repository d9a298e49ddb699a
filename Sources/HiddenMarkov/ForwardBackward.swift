import Foundation

/// Expected state occupancies and transition counts of one utterance.
public struct StateOccupancy: Sendable {
    /// log p(frames | graph).
    public var logLikelihood: Double
    /// (frame, pdf, posterior) for every pdf with posterior above the threshold.
    public var posteriors: [(frame: Int32, pdf: Int32, weight: Float)]
    /// Expected count of each transition id used.
    public var transitionCounts: [(transition: Int32, count: Double)]
}

/// The forward-backward algorithm over a graph, in log space with beam pruning (Baum-Welch's E-step).
public enum ForwardBackward {
    /// State posteriors and transition counts for `logLikelihoods` (`[T, S]`), or nil when no
    /// path fits. Forward scores more than `beam` below a frame's best are pruned, and the
    /// backward pass visits only states the forward pass kept.
    public static func occupancy(_ graph: DecodingGraph, logLikelihoods ll: [Float], frames T: Int, pdfCount S: Int,
                                 beam: Float = 300, minimumPosterior: Float = 1e-5) -> StateOccupancy? {
        let N = graph.stateCount
        guard T > 0, ll.count == T * S else { return nil }
        var alpha = [Float](repeating: -.infinity, count: T * N)
        for (k, to) in graph.initialTo.enumerated() {
            let j = Int(to)
            alpha[j] = logAdd(alpha[j], graph.initialLogProbability[k] + ll[Int(graph.pdf[j])])
        }
        for t in 1..<Swift.max(T, 1) {
            var best = -Float.infinity
            for i in 0..<N { best = Swift.max(best, alpha[(t - 1) * N + i]) }
            let threshold = best - beam
            for i in 0..<N {
                let a = alpha[(t - 1) * N + i]
                guard a > threshold else { alpha[(t - 1) * N + i] = -.infinity; continue }
                for arc in Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1]) {
                    let j = Int(graph.arcTo[arc])
                    alpha[t * N + j] = logAdd(alpha[t * N + j], a + graph.arcLogProbability[arc])
                }
            }
            for j in 0..<N where alpha[t * N + j] > -.infinity { alpha[t * N + j] += ll[t * S + Int(graph.pdf[j])] }
        }
        var total = -Float.infinity
        for i in 0..<N { total = logAdd(total, alpha[(T - 1) * N + i] + graph.finalLogProbability[i]) }
        guard total > -.infinity else { return nil }

        var beta = [Float](repeating: -.infinity, count: T * N)
        for i in 0..<N where alpha[(T - 1) * N + i] > -.infinity { beta[(T - 1) * N + i] = graph.finalLogProbability[i] }
        var counts: [Int32: Double] = [:]
        for i in 0..<N where graph.finalTransition[i] >= 0 {
            let p = Foundation.exp(Double(alpha[(T - 1) * N + i] + graph.finalLogProbability[i] - total))
            if p > 0 { counts[graph.finalTransition[i], default: 0] += p }
        }
        if T >= 2 {
            for t in stride(from: T - 2, through: 0, by: -1) {
                for i in 0..<N where alpha[t * N + i] > -.infinity {
                    var b = -Float.infinity
                    for arc in Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1]) {
                        let j = Int(graph.arcTo[arc])
                        let nextBeta = beta[(t + 1) * N + j]
                        guard nextBeta > -.infinity else { continue }
                        let v = graph.arcLogProbability[arc] + ll[(t + 1) * S + Int(graph.pdf[j])] + nextBeta
                        b = logAdd(b, v)
                        let p = Foundation.exp(Double(alpha[t * N + i] + v - total))
                        if p > 1e-8 { counts[graph.arcTransition[arc], default: 0] += p }
                    }
                    beta[t * N + i] = b
                }
            }
        }
        var posteriors: [(Int32, Int32, Float)] = []
        var perPdf = [Float](repeating: 0, count: S)
        for t in 0..<T {
            var touched: [Int] = []
            for i in 0..<N {
                let a = alpha[t * N + i], b = beta[t * N + i]
                guard a > -.infinity, b > -.infinity else { continue }
                let p = Foundation.exp(a + b - total)
                let s = Int(graph.pdf[i])
                if perPdf[s] == 0 { touched.append(s) }
                perPdf[s] += p
            }
            for s in touched {
                if perPdf[s] >= minimumPosterior { posteriors.append((Int32(t), Int32(s), perPdf[s])) }
                perPdf[s] = 0
            }
        }
        return StateOccupancy(logLikelihood: Double(total), posteriors: posteriors,
                              transitionCounts: counts.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 })
    }

    /// log(e^a + e^b) without overflow.
    @inline(__always)
    static func logAdd(_ a: Float, _ b: Float) -> Float {
        if a == -.infinity { return b }
        if b == -.infinity { return a }
        return a > b ? a + Foundation.log1p(Foundation.exp(b - a)) : b + Foundation.log1p(Foundation.exp(a - b))
    }
}
