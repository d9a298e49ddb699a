import Foundation
import TensorCore

/// Log-likelihoods of frames under many GMMs at once, by one GEMM (Kaldi's `DiagGmm` expansion):
///
///     log w N(x; μ, σ²) = gconst + x·(μ/σ²) − ½ x²·(1/σ²),
///     gconst = log w − ½ (D log 2π + Σ log σ² + Σ μ²/σ²)
///
/// so that for frames X `[T, D]`, `[X, X²] · W + gconst` gives every component's value `[T, K]`
/// (K components of all mixtures), and a log-sum-exp over each mixture's columns its
/// log-likelihood `[T, S]`. Precomputed once per model.
public struct GMMLikelihoods: Sendable {
    public let dimension: Int
    /// Mixtures S.
    public let mixtureCount: Int
    /// First component (column) of each mixture, and one past the last: S + 1 values.
    public let componentOffsets: [Int]
    /// `[2D, K]`: rows 0..<D are μ/σ², rows D..<2D are −½/σ².
    let weights: [Float]
    /// `[K]`.
    let gconst: [Float]

    public init(_ mixtures: [DiagonalGMM]) {
        let dimension = mixtures.first?.dimension ?? 0
        precondition(mixtures.allSatisfy { $0.dimension == dimension }, "GMMLikelihoods: mixtures of different dimensions")
        var offsets = [0]
        for gmm in mixtures { offsets.append(offsets.last! + gmm.componentCount) }
        let K = offsets.last!
        var w = [Float](repeating: 0, count: 2 * dimension * K)
        var g = [Float](repeating: 0, count: K)
        let log2pi = Foundation.log(2 * Double.pi)
        for (s, gmm) in mixtures.enumerated() {
            for m in 0..<gmm.componentCount {
                let k = offsets[s] + m
                var c = Foundation.log(gmm.weights[m]) - 0.5 * Double(dimension) * log2pi
                for d in 0..<dimension {
                    let v = gmm.variances[m * dimension + d], mu = gmm.means[m * dimension + d]
                    c -= 0.5 * (Foundation.log(v) + mu * mu / v)
                    w[d * K + k] = Float(mu / v)
                    w[(dimension + d) * K + k] = Float(-0.5 / v)
                }
                g[k] = Float(c)
            }
        }
        self.dimension = dimension
        mixtureCount = mixtures.count
        componentOffsets = offsets
        weights = w
        gconst = g
    }

    /// Components K.
    public var componentCount: Int { componentOffsets.last! }

    /// `[T, 2D]`: each frame followed by its squares, the left operand of the likelihood GEMM.
    public func expand(_ frames: [Float], count T: Int) -> [Float] {
        var expanded = [Float](repeating: 0, count: T * 2 * dimension)
        frames.withUnsafeBufferPointer { f in
            expanded.withUnsafeMutableBufferPointer { Self.expand(f, dimension: dimension, count: T, into: $0.baseAddress!) }
        }
        return expanded
    }

    /// Writes the `[T, 2D]` rows of each frame and its squares, for frames of `dimension`
    /// values, at `expanded` (room for T·2D values), e.g. into a larger buffer of many utterances.
    public static func expand(_ frames: UnsafeBufferPointer<Float>, dimension D: Int, count T: Int, into expanded: UnsafeMutablePointer<Float>) {
        precondition(frames.count == T * D, "GMMLikelihoods: \(frames.count) values are not \(T) frames of \(D)")
        for t in 0..<T {
            for d in 0..<D {
                let x = frames[t * D + d]
                expanded[t * 2 * D + d] = x
                expanded[t * 2 * D + D + d] = x * x
            }
        }
    }

    /// Every component's weighted log-likelihood for `frames` (`[T, D]` row-major): `[T, K]`.
    /// - Complexity: one `[T, 2D] × [2D, K]` GEMM.
    public func componentLogLikelihoods(_ frames: [Float], count T: Int) -> [Float] {
        componentLogLikelihoods(expanded: expand(frames, count: T), count: T)
    }

    /// Every component's weighted log-likelihood from ``expand(_:count:)``'s output.
    public func componentLogLikelihoods(expanded: [Float], count T: Int) -> [Float] {
        var out: [Float] = []
        componentLogLikelihoods(expanded: expanded, count: T, into: &out)
        return out
    }

    /// The same into a reused buffer (its first T·K values).
    public func componentLogLikelihoods(expanded: [Float], count T: Int, into out: inout [Float]) {
        let D = dimension, K = componentCount
        precondition(expanded.count >= T * 2 * D, "GMMLikelihoods: too few expanded values")
        if out.count < T * K { out = [Float](repeating: 0, count: T * K) }
        expanded.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                gconst.withUnsafeBufferPointer { g in
                    out.withUnsafeMutableBufferPointer { o in
                        for t in 0..<T { (o.baseAddress! + t * K).update(from: g.baseAddress!, count: K) }
                        // In blocks of rows small enough for OpenBLAS's small-matrix kernels
                        // (m·n·k ≤ 64³), which skip the operand packing that costs a narrow
                        // product (K columns) as much as its arithmetic.
                        let block = Swift.max(16, 262_144 / Swift.max(K * 2 * D, 1))
                        for first in stride(from: 0, to: T, by: block) {
                            let rows = Swift.min(block, T - first)
                            Float.gemm(transposeA: false, transposeB: false, m: rows, n: K, k: 2 * D, alpha: 1,
                                       a: x.baseAddress! + first * 2 * D, lda: 2 * D, b: w.baseAddress!, ldb: K, beta: 1,
                                       c: o.baseAddress! + first * K, ldc: K)
                        }
                    }
                }
            }
        }
    }

    /// Each mixture's log-likelihood per frame `[T, S]`, from component values `[T, K]`:
    /// ``mixtureShares(components:count:top:sums:)`` and one vectorized log over all `T·S`,
    /// log p = top + log Σ e^(value − top).
    public func mixtureLogLikelihoods(components: [Float], count T: Int) -> [Float] {
        let K = componentCount, S = mixtureCount
        precondition(components.count >= T * K, "GMMLikelihoods: too few component values")
        if K == S { return Array(components.prefix(T * S)) }  // one Gaussian per mixture: each component is its mixture
        var shares = Array(components.prefix(T * K)), top: [Float] = [], sums: [Float] = []
        mixtureShares(components: &shares, count: T, top: &top, sums: &sums)
        sums.withUnsafeMutableBufferPointer { Float.log($0.baseAddress!, count: T * S) }
        for i in 0..<(T * S) { top[i] += sums[i] }
        return top
    }

    /// The linear-domain form of ``mixtureLogLikelihoods(components:count:)``, for callers that
    /// work with probabilities: each mixture's largest component value `top` `[T, S]`, the
    /// components replaced by e^(value − top of their mixture) `[T, K]`, and their sums per
    /// mixture `sums` `[T, S]`, so that p_s(x_t) = e^top · sum and a component's share of its
    /// mixture is its value over the sum. No logarithm is taken.
    public func mixtureShares(components: inout [Float], count T: Int, top: inout [Float], sums: inout [Float]) {
        let K = componentCount, S = mixtureCount
        precondition(components.count >= T * K, "GMMLikelihoods: too few component values")
        if top.count < T * S { top = [Float](repeating: 0, count: T * S) }
        if sums.count < T * S { sums = [Float](repeating: 0, count: T * S) }
        components.withUnsafeMutableBufferPointer { c in
        top.withUnsafeMutableBufferPointer { top in
        sums.withUnsafeMutableBufferPointer { sums in
        componentOffsets.withUnsafeBufferPointer { offsets in
            let M = S > 0 ? K / S : 0
            if M > 0 && K == M * S && (0...S).allSatisfy({ offsets[$0] == M * $0 }) {
                // Every mixture has M Gaussians (the usual case): one flat pass over the
                // (frame, mixture) pairs without the offsets, inlined for the common sizes so
                // that the inner loops unroll.
                switch M {
                case 1: Self.uniformShares(c.baseAddress!, pairs: T * S, gaussians: 1, top: top.baseAddress!, sums: sums.baseAddress!)
                case 2: Self.uniformShares(c.baseAddress!, pairs: T * S, gaussians: 2, top: top.baseAddress!, sums: sums.baseAddress!)
                case 4: Self.uniformShares(c.baseAddress!, pairs: T * S, gaussians: 4, top: top.baseAddress!, sums: sums.baseAddress!)
                case 8: Self.uniformShares(c.baseAddress!, pairs: T * S, gaussians: 8, top: top.baseAddress!, sums: sums.baseAddress!)
                default: Self.uniformShares(c.baseAddress!, pairs: T * S, gaussians: M, top: top.baseAddress!, sums: sums.baseAddress!)
                }
                return
            }
            for t in 0..<T {
                let row = c.baseAddress! + t * K
                for s in 0..<S {
                    let lo = offsets[s], hi = offsets[s + 1]
                    var m = row[lo]
                    for k in (lo + 1)..<max(hi, lo + 1) { m = Swift.max(m, row[k]) }
                    top[t * S + s] = m
                    for k in lo..<hi { row[k] -= m }
                }
            }
            Float.exp(c.baseAddress!, count: T * K)
            for t in 0..<T {
                let row = c.baseAddress! + t * K
                for s in 0..<S {
                    var total: Float = 0
                    for k in offsets[s]..<offsets[s + 1] { total += row[k] }
                    sums[t * S + s] = total
                }
            }
        }}}}
    }

    /// ``mixtureShares(components:count:top:sums:)`` when every mixture has `M` Gaussians.
    @inline(__always)
    static func uniformShares(_ c: UnsafeMutablePointer<Float>, pairs: Int, gaussians M: Int,
                              top: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Float>) {
        for i in 0..<pairs {
            let row = c + i * M
            var m = row[0]
            for k in 1..<M { m = Swift.max(m, row[k]) }
            top[i] = m
            for k in 0..<M { row[k] -= m }
        }
        Float.exp(c, count: pairs * M)
        for i in 0..<pairs {
            let row = c + i * M
            var total: Float = 0
            for k in 0..<M { total += row[k] }
            sums[i] = total
        }
    }

    /// Each mixture's log-likelihood per frame `[T, S]`.
    public func logLikelihoods(_ frames: [Float], count T: Int) -> [Float] {
        mixtureLogLikelihoods(components: componentLogLikelihoods(frames, count: T), count: T)
    }
}
