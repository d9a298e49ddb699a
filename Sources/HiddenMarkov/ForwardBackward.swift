import Foundation
import SpeechBase
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

    public init(logLikelihood: Double, posteriors: [(frame: Int32, pdf: Int32, weight: Float)],
                transitionCounts: [(transition: Int32, count: Double)]) {
        self.logLikelihood = logLikelihood
        self.posteriors = posteriors
        self.transitionCounts = transitionCounts
    }
}

extension ForwardBackward {
    /// Buffers one thread reuses from utterance to utterance, so that the E-step does not
    /// allocate per utterance. A workspace belongs to one thread at a time.
    public final class Workspace: @unchecked Sendable {
        /// Scaled emissions `[T, S]` and each frame's offset (for callers that pass log-likelihoods).
        let emission = ScratchBuffer<Float>(), offsets = ScratchBuffer<Double>()
        /// Scaled forward and backward probabilities `[T, N]`, the scales `[T]`, expected arc counts.
        let alpha = ScratchBuffer<Double>(), beta = ScratchBuffer<Double>(), scale = ScratchBuffer<Double>()
        let arcCounts = ScratchBuffer<Double>()
        /// Each state's emission per frame `[T, N]` (kept from the forward pass for the backward
        /// one), and per-state scratch of N values.
        let stateEmission = ScratchBuffer<Double>(), weightedBeta = ScratchBuffer<Double>()
        /// Each frame's window `[T, 2]`: the states from `lo` up to `hi` (exclusive) hold every
        /// non-zero forward probability; the passes visit only those.
        let window = ScratchBuffer<Int32>()
        /// A frame's posterior per pdf `[S]` and the pdfs it touched, in order.
        let perPdf = ScratchBuffer<Float>(), touched = ScratchBuffer<Int32>()
        var sparePosteriors: [(frame: Int32, pdf: Int32, weight: Float)] = []
        var spareTransitionCounts: [(transition: Int32, count: Double)] = []

        public init() {}

        /// Gives a result's arrays back for the next call to fill.
        public func recycle(_ occupancy: StateOccupancy) {
            sparePosteriors = occupancy.posteriors
            spareTransitionCounts = occupancy.transitionCounts
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
        ll.withUnsafeBufferPointer { ll in
            occupancy(graph, logLikelihoods: ll, frames: T, pdfCount: S, beam: beam, minimumPosterior: minimumPosterior, workspace: Workspace())
        }
    }

    /// ``occupancy(_:logLikelihoods:frames:pdfCount:beam:minimumPosterior:)`` on `[T, S]` values
    /// in memory the caller owns, with the buffers of `workspace` (reused across calls on one
    /// thread).
    public static func occupancy(_ graph: DecodingGraph, logLikelihoods ll: UnsafeBufferPointer<Float>, frames T: Int, pdfCount S: Int,
                                 beam: Float = 300, minimumPosterior: Float = 1e-5, workspace: Workspace) -> StateOccupancy? {
        guard T > 0, ll.count == T * S else { return nil }
        // Emission probabilities per pdf, e[t][s] = exp(ll − m_t), m_t the frame's largest over
        // the pdfs the graph uses (vectorized exp), and the offsets m_t. A compacted graph
        // (`compactingPDFs()`) uses every pdf, and needs no mask.
        var used = [Bool](repeating: false, count: S)
        for p in graph.pdf { used[Int(p)] = true }
        let usesAll = !used.contains(false)
        let e = workspace.emission.reserve(T * S), offsets = workspace.offsets.reserve(T)
        for t in 0..<T {
            let row = e + t * S, frame = ll.baseAddress! + t * S
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
        return occupancy(graph, emissions: UnsafeBufferPointer(start: e, count: T * S), offsets: UnsafeBufferPointer(start: offsets, count: T),
                         frames: T, pdfCount: S, beam: beam, minimumPosterior: minimumPosterior, workspace: workspace)
    }

    /// The same from emission probabilities in the linear domain, each frame scaled:
    /// `emissions[t·S + s]` = p_s(x_t) · e^−offsets[t] (so that the largest is near 1), for
    /// callers that never need the logarithms. The log-likelihood adds the offsets back.
    public static func occupancy(_ graph: DecodingGraph, emissions e: UnsafeBufferPointer<Float>, offsets: UnsafeBufferPointer<Double>,
                                 frames T: Int, pdfCount S: Int, beam: Float = 300, minimumPosterior: Float = 1e-5,
                                 workspace: Workspace) -> StateOccupancy? {
        guard T > 0, e.count >= T * S, offsets.count >= T else { return nil }
        let passes = graph.withArcPointers { arcs -> (logLikelihood: Double, end: Double)? in
            let pass = ForwardBackwardPass(arcs: arcs, frames: T, pdfCount: S, workspace: workspace)
            pass.gatherStateEmissions(e, frame: 0)
            pass.enter(graph)
            guard pass.forward(e, pruneBelow: Foundation.exp(-Double(beam))) else { return nil }
            var end = 0.0
            for i in 0..<pass.N { end += pass.alpha[(T - 1) * pass.N + i] * graph.finalProbability[i] }
            // β starts at 1/end: an end below Double's normal range (the final states' share of
            // the last frame lost) would make it infinite.
            guard end >= Double.leastNormalMagnitude else { return nil }
            var logLikelihood = Foundation.log(end)
            for t in 0..<T { logLikelihood += Foundation.log(pass.scale[t]) + offsets[t] }
            pass.backward(graph, end: end)
            return (logLikelihood, end)
        }
        guard let passes else { return nil }
        return collect(graph, frames: T, pdfCount: S, logLikelihood: passes.logLikelihood, end: passes.end,
                       minimumPosterior: minimumPosterior, workspace: workspace)
    }

    /// The result from the passes' probabilities: transition counts (final transitions, then
    /// arcs) and each frame's pdf posteriors (states that share a pdf summed; a pdf listed once
    /// per frame, in the order the states first reach it). Its arrays come from the workspace
    /// when a caller gave them back (``Workspace/recycle(_:)``), so that a long E-step does not
    /// allocate per utterance.
    static func collect(_ graph: DecodingGraph, frames T: Int, pdfCount S: Int, logLikelihood: Double, end: Double,
                        minimumPosterior: Float, workspace: Workspace) -> StateOccupancy {
        let N = graph.stateCount, alpha = workspace.alpha.base, beta = workspace.beta.base, counts = workspace.arcCounts.base
        let perPdf = workspace.perPdf.base, touched = workspace.touched.base, window = workspace.window.base
        var transitionCounts = workspace.spareTransitionCounts, posteriors = workspace.sparePosteriors
        workspace.spareTransitionCounts = []
        workspace.sparePosteriors = []
        transitionCounts.removeAll(keepingCapacity: true)
        posteriors.removeAll(keepingCapacity: true)
        posteriors.reserveCapacity(T * 2)
        for i in 0..<N where alpha[(T - 1) * N + i] > 0 && graph.finalTransition[i] >= 0 {
            transitionCounts.append((graph.finalTransition[i], alpha[(T - 1) * N + i] * graph.finalProbability[i] / end))
        }
        for arc in 0..<graph.arcTo.count where counts[arc] > 1e-10 {
            transitionCounts.append((graph.arcTransition[arc], counts[arc]))
        }
        graph.pdf.withUnsafeBufferPointer { pdf in
            for t in 0..<T {
                var count = 0
                let forward = alpha + t * N, backward = beta + t * N
                for i in Int(window[2 * t])..<Int(window[2 * t + 1]) {
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
        }
        return StateOccupancy(logLikelihood: logLikelihood, posteriors: posteriors, transitionCounts: transitionCounts)
    }
}

/// One call's view of the graph's arcs and the workspace's buffers, sized and zeroed for T
/// frames and N states: the passes of the algorithm, step by step.
struct ForwardBackwardPass {
    let arcs: DecodingGraph.ArcPointers
    /// Frames, states, pdfs.
    let T: Int, N: Int, S: Int
    let alpha: UnsafeMutablePointer<Double>, beta: UnsafeMutablePointer<Double>, scale: UnsafeMutablePointer<Double>
    let arcCounts: UnsafeMutablePointer<Double>, stateEmission: UnsafeMutablePointer<Double>, weighted: UnsafeMutablePointer<Double>
    /// Each frame's `[lo, hi)` of states with non-zero forward probability (see the workspace's).
    let window: UnsafeMutablePointer<Int32>

    init(arcs: DecodingGraph.ArcPointers, frames T: Int, pdfCount S: Int, workspace: ForwardBackward.Workspace) {
        let N = arcs.pdf.count
        (self.arcs, self.T, self.N, self.S) = (arcs, T, N, S)
        alpha = workspace.alpha.zeroed(T * N)
        beta = workspace.beta.zeroed(T * N)
        scale = workspace.scale.zeroed(T)
        arcCounts = workspace.arcCounts.zeroed(arcs.to.count)
        stateEmission = workspace.stateEmission.reserve(T * N)
        weighted = workspace.weightedBeta.zeroed(N)
        window = workspace.window.reserve(2 * T)
        workspace.perPdf.zeroed(S)
        workspace.touched.zeroed(N)
    }

    /// The emission of every state at `frame`, as Double (states that share a pdf share it);
    /// the forward pass gathers later frames' for the states it reaches, kept for the backward.
    func gatherStateEmissions(_ e: UnsafeBufferPointer<Float>, frame t: Int) {
        // Locals, not fields, in the loops: stores through the buffers could otherwise alias
        // `self` for the optimizer, which would then reload every field on every arc.
        let (N, S, pdf, stateEmission) = (N, S, arcs.pdf, stateEmission)
        let row = e.baseAddress! + t * S, states = stateEmission + t * N
        for j in 0..<N { states[j] = Double(row[Int(pdf[j])]) }
    }

    /// α_0: the entry arcs times the first frame's emissions.
    func enter(_ graph: DecodingGraph) {
        for (k, to) in graph.initialTo.enumerated() {
            let j = Int(to)
            alpha[j] += Foundation.exp(Double(graph.initialLogProbability[k])) * stateEmission[j]
        }
    }

    /// α_t for every frame, each normalized by its sum (the scale c_t); states below
    /// `pruneBelow` × the previous frame's best are dropped. Each frame visits only the window
    /// of states the previous frame's survivors reach (a transcript's graph is mostly a line:
    /// most states are out of reach at any frame), gathering their emissions from `e`. False
    /// when every path dies.
    func forward(_ e: UnsafeBufferPointer<Float>, pruneBelow: Double) -> Bool {
        let (T, N, S, alpha, scale, stateEmission, window, pdf) = (T, N, S, alpha, scale, stateEmission, window, arcs.pdf)
        let (start, to, probability) = (arcs.start, arcs.to, arcs.probability)
        var top = 0.0  // the previous frame's largest normalized forward probability
        for t in 0..<T {
            let current = alpha + t * N
            var sum = 0.0, lo = N, hi = 0
            if t > 0 {
                let previous = current - N
                let threshold = top * pruneBelow
                for i in Int(window[2 * t - 2])..<Int(window[2 * t - 1]) {
                    let a = previous[i]
                    guard a > threshold else { previous[i] = 0; continue }
                    for arc in Int(start[i])..<Int(start[i + 1]) {
                        let j = Int(to[arc])
                        current[j] += a * probability[arc]
                        lo = Swift.min(lo, j)
                        hi = Swift.max(hi, j + 1)
                    }
                }
                let row = e.baseAddress! + t * S, emission = stateEmission + t * N
                for j in lo..<Swift.max(lo, hi) {
                    emission[j] = Double(row[Int(pdf[j])])
                    current[j] *= emission[j]
                    sum += current[j]
                }
            } else {
                for j in 0..<N where current[j] > 0 {
                    sum += current[j]
                    lo = Swift.min(lo, j)
                    hi = Swift.max(hi, j + 1)
                }
            }
            guard sum > 0 else { return false }
            (window[2 * t], window[2 * t + 1]) = (Int32(lo), Int32(hi))
            scale[t] = sum
            let inverse = 1 / sum
            top = 0
            for j in lo..<hi {
                current[j] *= inverse
                top = Swift.max(top, current[j])
            }
        }
        return true
    }

    /// β_t (scaled like α) for the states the forward pass kept, and each arc's expected count
    /// α_t(i) a_ij e_{t+1}(j) β_{t+1}(j) / c_{t+1}.
    func backward(_ graph: DecodingGraph, end: Double) {
        let (T, N, alpha, beta, scale, stateEmission, weighted, arcCounts, window) = (T, N, alpha, beta, scale, stateEmission, weighted, arcCounts, window)
        let (start, to, probability) = (arcs.start, arcs.to, arcs.probability)
        for i in 0..<N where alpha[(T - 1) * N + i] > 0 { beta[(T - 1) * N + i] = graph.finalProbability[i] / end }
        guard T >= 2 else { return }
        for t in stride(from: T - 2, through: 0, by: -1) {
            // w(j) = e_{t+1}(j) β_{t+1}(j) / c_{t+1}, shared by every arc into j: the arcs of
            // frame t's survivors reach only frame t + 1's window.
            let next = beta + (t + 1) * N, inverseScale = 1 / scale[t + 1]
            let emission = stateEmission + (t + 1) * N
            for j in Int(window[2 * t + 2])..<Int(window[2 * t + 3]) { weighted[j] = emission[j] * next[j] * inverseScale }
            let forward = alpha + t * N, backward = beta + t * N
            for i in Int(window[2 * t])..<Int(window[2 * t + 1]) where forward[i] > 0 {
                var b = 0.0
                let a = forward[i]
                for arc in Int(start[i])..<Int(start[i + 1]) {
                    let v = probability[arc] * weighted[Int(to[arc])]
                    b += v
                    arcCounts[arc] += a * v
                }
                backward[i] = b
            }
        }
    }
}
