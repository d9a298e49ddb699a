import Foundation
import TensorCore

/// Expected state occupancies and transition counts of one utterance.
public struct StateOccupancy: Sendable {
    /// log p(frames | graph).
    public var logLikelihood: Double
    /// (frame, pdf, posterior) for every pdf with posterior above the threshold.
    public var posteriors: [(frame: Int32, pdf: Int32, weight: Float)]
    /// Expected counts of the transitions used, one entry per graph arc (a transition id may
    /// appear more than once: add them).
    public var transitionCounts: [(transition: Int32, count: Double)]
}

extension ForwardBackward {
    /// Buffers one thread reuses from utterance to utterance, so that the E-step does not
    /// allocate per utterance.
    public struct Workspace: Sendable {
        var emission: [Float] = []
        var offsets: [Double] = []
        var alpha: [Double] = []
        var beta: [Double] = []
        var scale: [Double] = []
        var arcCounts: [Double] = []
        var perPdf: [Float] = []
        var touched: [Int32] = []
        var sparePosteriors: [(frame: Int32, pdf: Int32, weight: Float)] = []
        var spareTransitionCounts: [(transition: Int32, count: Double)] = []
        /// Each state's emission per frame `[T, N]` (kept from the forward pass for the
        /// backward one), and per-state scratch of N values.
        var stateEmission: [Double] = []
        var weightedBeta: [Double] = []
        public init() {}

        /// Gives a result's arrays back for the next call to fill.
        public mutating func recycle(_ occupancy: StateOccupancy) {
            sparePosteriors = occupancy.posteriors
            spareTransitionCounts = occupancy.transitionCounts
        }

        /// Room for `[T, S]` emissions and T offsets.
        mutating func prepareEmissions(frames T: Int, pdfs S: Int) {
            if emission.count < T * S { emission = [Float](repeating: 0, count: T * S) }
            if offsets.count < T { offsets = [Double](repeating: 0, count: T) }
        }

        /// Sizes the buffers of the passes for T frames, N states, `arcs` arcs and S pdfs,
        /// zeroing what they accumulate into.
        mutating func prepare(frames T: Int, states N: Int, arcs: Int, pdfs S: Int) {
            alpha.resetPrefix(T * N)
            beta.resetPrefix(T * N)
            scale.resetPrefix(T)
            arcCounts.resetPrefix(arcs)
            perPdf.resetPrefix(S)
            touched.resetPrefix(N)
            if stateEmission.count < T * N { stateEmission = [Double](repeating: 0, count: T * N) }
            weightedBeta.resetPrefix(N)
        }
    }
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
        var workspace = Workspace()
        return ll.withUnsafeBufferPointer { ll in
            occupancy(graph, logLikelihoods: ll, frames: T, pdfCount: S, beam: beam, minimumPosterior: minimumPosterior, workspace: &workspace)
        }
    }

    /// ``occupancy(_:logLikelihoods:frames:pdfCount:beam:minimumPosterior:)`` on `[T, S]` values
    /// in memory the caller owns, with the buffers of `workspace` (reused across calls on one
    /// thread).
    public static func occupancy(_ graph: DecodingGraph, logLikelihoods ll: UnsafeBufferPointer<Float>, frames T: Int, pdfCount S: Int,
                                 beam: Float = 300, minimumPosterior: Float = 1e-5, workspace: inout Workspace) -> StateOccupancy? {
        guard T > 0, ll.count == T * S else { return nil }
        // Emission probabilities per pdf, e[t][s] = exp(ll − m_t), m_t the frame's largest over
        // the pdfs the graph uses (vectorized exp), and the offsets m_t. A compacted graph
        // (`compactingPDFs()`) uses every pdf, and needs no mask.
        var used = [Bool](repeating: false, count: S)
        for p in graph.pdf { used[Int(p)] = true }
        let usesAll = !used.contains(false)
        workspace.prepareEmissions(frames: T, pdfs: S)
        workspace.emission.withUnsafeMutableBufferPointer { e in
            workspace.offsets.withUnsafeMutableBufferPointer { offsets in
                for t in 0..<T {
                    let row = e.baseAddress! + t * S, frame = ll.baseAddress! + t * S
                    var m = -Float.infinity
                    if usesAll {
                        for s in 0..<S { m = Swift.max(m, frame[s]) }
                        for s in 0..<S { row[s] = frame[s] - m }
                    } else {
                        for s in 0..<S where used[s] { m = Swift.max(m, frame[s]) }
                        for s in 0..<S { row[s] = used[s] ? frame[s] - m : -100 }
                    }
                    offsets[t] = Double(m)
                    Float.exp(row, count: S)
                }
            }
        }
        let (emission, offsets) = (workspace.emission, workspace.offsets)
        return emission.withUnsafeBufferPointer { e in
            offsets.withUnsafeBufferPointer { o in
                occupancy(graph, emissions: e, offsets: o, frames: T, pdfCount: S, beam: beam, minimumPosterior: minimumPosterior, workspace: &workspace)
            }
        }
    }

    /// The same from emission probabilities in the linear domain, each frame scaled:
    /// `emissions[t·S + s]` = p_s(x_t) · e^−offsets[t] (so that the largest is near 1), for
    /// callers that never need the logarithms. The log-likelihood adds the offsets back.
    public static func occupancy(_ graph: DecodingGraph, emissions e: UnsafeBufferPointer<Float>, offsets: UnsafeBufferPointer<Double>,
                                 frames T: Int, pdfCount S: Int, beam: Float = 300, minimumPosterior: Float = 1e-5,
                                 workspace: inout Workspace) -> StateOccupancy? {
        let N = graph.stateCount
        guard T > 0, e.count >= T * S, offsets.count >= T else { return nil }
        let arcCount = graph.arcTo.count
        let pruneBelow = Foundation.exp(-Double(beam))
        workspace.prepare(frames: T, states: N, arcs: arcCount, pdfs: S)
        var logLikelihood = 0.0, end = 0.0
        let ok: Bool = { () -> Bool in
        workspace.alpha.withUnsafeMutableBufferPointer { alpha in
        workspace.beta.withUnsafeMutableBufferPointer { beta in
        workspace.arcCounts.withUnsafeMutableBufferPointer { counts in
        workspace.scale.withUnsafeMutableBufferPointer { scale in
        workspace.stateEmission.withUnsafeMutableBufferPointer { stateEmission in
        workspace.weightedBeta.withUnsafeMutableBufferPointer { weighted in
        graph.pdf.withUnsafeBufferPointer { pdf in
        graph.arcStart.withUnsafeBufferPointer { arcStart in
        graph.arcTo.withUnsafeBufferPointer { arcTo in
        graph.arcProbability.withUnsafeBufferPointer { arcProbability in
            // The emission of every state at every frame, as Double (states that share a pdf
            // share it), gathered once for both passes.
            for t in 0..<T {
                let row = e.baseAddress! + t * S, states = stateEmission.baseAddress! + t * N
                for j in 0..<N { states[j] = Double(row[Int(pdf[j])]) }
            }
            for (k, to) in graph.initialTo.enumerated() {
                let j = Int(to)
                alpha[j] += Foundation.exp(Double(graph.initialLogProbability[k])) * stateEmission[j]
            }
            var top = 0.0  // the previous frame's largest normalized forward probability
            for t in 0..<T {
                let current = alpha.baseAddress! + t * N
                var sum = 0.0
                if t > 0 {
                    let previous = current - N
                    let threshold = top * pruneBelow
                    for i in 0..<N {
                        let a = previous[i]
                        guard a > threshold else { previous[i] = 0; continue }
                        for arc in Int(arcStart[i])..<Int(arcStart[i + 1]) {
                            current[Int(arcTo[arc])] += a * arcProbability[arc]
                        }
                    }
                    let emission = stateEmission.baseAddress! + t * N
                    for j in 0..<N {
                        current[j] *= emission[j]
                        sum += current[j]
                    }
                } else {
                    for j in 0..<N { sum += current[j] }
                }
                guard sum > 0 else { return false }
                scale[t] = sum
                let inverse = 1 / sum
                top = 0
                for j in 0..<N {
                    current[j] *= inverse
                    top = Swift.max(top, current[j])
                }
            }
            for i in 0..<N { end += alpha[(T - 1) * N + i] * graph.finalProbability[i] }
            guard end > 0 else { return false }
            logLikelihood = Foundation.log(end)
            for t in 0..<T { logLikelihood += Foundation.log(scale[t]) + offsets[t] }
            for i in 0..<N where alpha[(T - 1) * N + i] > 0 { beta[(T - 1) * N + i] = graph.finalProbability[i] / end }
            if T >= 2 {
                // w(j) = e_{t+1}(j) β_{t+1}(j) / c_{t+1}, shared by every arc into j.
                for t in stride(from: T - 2, through: 0, by: -1) {
                    let next = beta.baseAddress! + (t + 1) * N, inverseScale = 1 / scale[t + 1]
                    let emission = stateEmission.baseAddress! + (t + 1) * N
                    for j in 0..<N { weighted[j] = emission[j] * next[j] * inverseScale }
                    let forward = alpha.baseAddress! + t * N, backward = beta.baseAddress! + t * N
                    for i in 0..<N where forward[i] > 0 {
                        var b = 0.0
                        let a = forward[i]
                        for arc in Int(arcStart[i])..<Int(arcStart[i + 1]) {
                            let v = arcProbability[arc] * weighted[Int(arcTo[arc])]
                            b += v
                            counts[arc] += a * v
                        }
                        backward[i] = b
                    }
                }
            }
            return true
        }}}}}}}}}}}()
        guard ok else { return nil }
        // The result's arrays come from the workspace when a caller gave them back
        // (``Workspace/recycle(_:)``), so that a long E-step does not allocate per utterance.
        var transitionCounts = workspace.spareTransitionCounts
        var posteriors = workspace.sparePosteriors
        workspace.spareTransitionCounts = []
        workspace.sparePosteriors = []
        transitionCounts.removeAll(keepingCapacity: true)
        posteriors.removeAll(keepingCapacity: true)
        posteriors.reserveCapacity(T * 2)
        workspace.alpha.withUnsafeBufferPointer { alpha in
        workspace.beta.withUnsafeBufferPointer { beta in
        workspace.perPdf.withUnsafeMutableBufferPointer { perPdf in
        workspace.touched.withUnsafeMutableBufferPointer { touched in
        graph.pdf.withUnsafeBufferPointer { pdf in
            for i in 0..<N where alpha[(T - 1) * N + i] > 0 && graph.finalTransition[i] >= 0 {
                transitionCounts.append((graph.finalTransition[i], alpha[(T - 1) * N + i] * graph.finalProbability[i] / end))
            }
            for arc in 0..<arcCount where workspace.arcCounts[arc] > 1e-10 {
                transitionCounts.append((graph.arcTransition[arc], workspace.arcCounts[arc]))
            }
            // Posterior of each pdf per frame: the states that share a pdf are summed; a pdf is
            // listed once per frame, in the order the states first reach it.
            for t in 0..<T {
                var count = 0
                let forward = alpha.baseAddress! + t * N, backward = beta.baseAddress! + t * N
                for i in 0..<N {
                    let p = Float(forward[i] * backward[i])
                    guard p > 0 else { continue }
                    let s = Int(pdf[i])
                    if perPdf[s] == 0 {
                        touched[count] = Int32(s)
                        count += 1
                    }
                    perPdf[s] += p
                }
                for k in 0..<count {
                    let s = Int(touched[k])
                    if perPdf[s] >= minimumPosterior { posteriors.append((Int32(t), Int32(s), perPdf[s])) }
                    perPdf[s] = 0
                }
            }
        }}}}}
        return StateOccupancy(logLikelihood: logLikelihood, posteriors: posteriors, transitionCounts: transitionCounts)
    }
}
