import Foundation
import TensorCore

/// Expected state occupancies and transition counts of one utterance.
public struct StateOccupancy: Sendable {
    /// log p(frames | graph).
    public var logLikelihood: Double
    /// (frame, pdf, posterior) for every pdf with posterior above the threshold.
    public var posteriors: [(frame: Int32, pdf: Int32, weight: Float)]
    /// Expected count of each transition id used.
    public var transitionCounts: [(transition: Int32, count: Double)]
}

/// The forward-backward algorithm over a graph (Baum-Welch's E-step), scaled: probabilities
/// in the linear domain, normalized every frame (Rabiner's scaling), so that no arc costs a
/// logarithm or an exponential; the log-likelihood is the sum of the scales. States whose
/// forward probability falls more than `beam` (log domain) below the frame's best are pruned,
/// and the backward pass visits only states the forward pass kept.
public enum ForwardBackward {
    /// State posteriors and transition counts for `logLikelihoods` (`[T, S]`), or nil when no
    /// path fits.
    public static func occupancy(_ graph: DecodingGraph, logLikelihoods ll: [Float], frames T: Int, pdfCount S: Int,
                                 beam: Float = 300, minimumPosterior: Float = 1e-5) -> StateOccupancy? {
        let N = graph.stateCount
        guard T > 0, ll.count == T * S else { return nil }
        let arcCount = graph.arcTo.count
        let pruneBelow = Foundation.exp(-Double(beam))
        // Emission probabilities per pdf, e[t][s] = exp(ll − m_t), m_t the frame's largest over
        // the pdfs the graph uses (vectorized exp), and the offsets m_t.
        var used = [Bool](repeating: false, count: S)
        for p in graph.pdf { used[Int(p)] = true }
        var emission = [Float](repeating: 0, count: T * S)
        var offsets = [Double](repeating: 0, count: T)
        var alpha = [Double](repeating: 0, count: T * N), beta = [Double](repeating: 0, count: T * N)
        var scale = [Double](repeating: 0, count: T)
        var arcCounts = [Double](repeating: 0, count: arcCount)
        var logLikelihood = 0.0, end = 0.0
        let ok: Bool = ll.withUnsafeBufferPointer { ll in
        emission.withUnsafeMutableBufferPointer { e in
        alpha.withUnsafeMutableBufferPointer { alpha in
        beta.withUnsafeMutableBufferPointer { beta in
        arcCounts.withUnsafeMutableBufferPointer { counts in
        graph.pdf.withUnsafeBufferPointer { pdf in
        graph.arcStart.withUnsafeBufferPointer { arcStart in
        graph.arcTo.withUnsafeBufferPointer { arcTo in
        graph.arcProbability.withUnsafeBufferPointer { arcProbability in
            for t in 0..<T {
                var m = -Float.infinity
                for s in 0..<S where used[s] { m = Swift.max(m, ll[t * S + s]) }
                offsets[t] = Double(m)
                let row = e.baseAddress! + t * S
                for s in 0..<S { row[s] = used[s] ? ll[t * S + s] - m : -100 }
                Float.exp(row, count: S)
            }
            for (k, to) in graph.initialTo.enumerated() {
                let j = Int(to)
                alpha[j] += Foundation.exp(Double(graph.initialLogProbability[k])) * Double(e[Int(pdf[j])])
            }
            for t in 0..<T {
                let current = t * N
                if t > 0 {
                    let previous = (t - 1) * N
                    var top = 0.0
                    for i in 0..<N { top = Swift.max(top, alpha[previous + i]) }
                    let threshold = top * pruneBelow
                    for i in 0..<N {
                        let a = alpha[previous + i]
                        guard a > threshold else { alpha[previous + i] = 0; continue }
                        for arc in Int(arcStart[i])..<Int(arcStart[i + 1]) {
                            alpha[current + Int(arcTo[arc])] += a * arcProbability[arc]
                        }
                    }
                    for j in 0..<N { alpha[current + j] *= Double(e[t * S + Int(pdf[j])]) }
                }
                var sum = 0.0
                for j in 0..<N { sum += alpha[current + j] }
                guard sum > 0 else { return false }
                scale[t] = sum
                let inverse = 1 / sum
                for j in 0..<N { alpha[current + j] *= inverse }
            }
            for i in 0..<N { end += alpha[(T - 1) * N + i] * graph.finalProbability[i] }
            guard end > 0 else { return false }
            logLikelihood = Foundation.log(end)
            for t in 0..<T { logLikelihood += Foundation.log(scale[t]) + offsets[t] }
            for i in 0..<N where alpha[(T - 1) * N + i] > 0 { beta[(T - 1) * N + i] = graph.finalProbability[i] / end }
            if T >= 2 {
                for t in stride(from: T - 2, through: 0, by: -1) {
                    let next = (t + 1) * N, inverseScale = 1 / scale[t + 1]
                    for i in 0..<N where alpha[t * N + i] > 0 {
                        var b = 0.0
                        let a = alpha[t * N + i]
                        for arc in Int(arcStart[i])..<Int(arcStart[i + 1]) {
                            let j = Int(arcTo[arc])
                            let v = arcProbability[arc] * Double(e[(t + 1) * S + Int(pdf[j])]) * beta[next + j] * inverseScale
                            b += v
                            counts[arc] += a * v
                        }
                        beta[t * N + i] = b
                    }
                }
            }
            return true
        }}}}}}}}}
        guard ok else { return nil }
        var transitionCounts: [Int32: Double] = [:]
        for i in 0..<N where alpha[(T - 1) * N + i] > 0 && graph.finalTransition[i] >= 0 {
            transitionCounts[graph.finalTransition[i], default: 0] += alpha[(T - 1) * N + i] * graph.finalProbability[i] / end
        }
        for arc in 0..<arcCount where arcCounts[arc] > 1e-10 {
            transitionCounts[graph.arcTransition[arc], default: 0] += arcCounts[arc]
        }
        var posteriors: [(Int32, Int32, Float)] = []
        posteriors.reserveCapacity(T * 2)
        var perPdf = [Float](repeating: 0, count: S)
        var touched: [Int] = []
        for t in 0..<T {
            touched.removeAll(keepingCapacity: true)
            for i in 0..<N {
                let p = Float(alpha[t * N + i] * beta[t * N + i])
                guard p > 0 else { continue }
                let s = Int(graph.pdf[i])
                if perPdf[s] == 0 { touched.append(s) }
                perPdf[s] += p
            }
            for s in touched {
                if perPdf[s] >= minimumPosterior { posteriors.append((Int32(t), Int32(s), perPdf[s])) }
                perPdf[s] = 0
            }
        }
        return StateOccupancy(logLikelihood: logLikelihood, posteriors: posteriors,
                              transitionCounts: transitionCounts.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 })
    }
}
