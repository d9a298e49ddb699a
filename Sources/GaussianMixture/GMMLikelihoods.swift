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

    /// `[T, 2D]`: each frame followed by its squares, the left operand of the likelihood GEMM
    /// (and of the statistics GEMM in training).
    public func expand(_ frames: [Float], count T: Int) -> [Float] {
        let D = dimension
        precondition(frames.count == T * D, "GMMLikelihoods: \(frames.count) values are not \(T) frames of \(D)")
        var expanded = [Float](repeating: 0, count: T * 2 * D)
        frames.withUnsafeBufferPointer { f in
            expanded.withUnsafeMutableBufferPointer { e in
                for t in 0..<T {
                    for d in 0..<D {
                        let x = f[t * D + d]
                        e[t * 2 * D + d] = x
                        e[t * 2 * D + D + d] = x * x
                    }
                }
            }
        }
        return expanded
    }

    /// Every component's weighted log-likelihood for `frames` (`[T, D]` row-major): `[T, K]`.
    /// - Complexity: one `[T, 2D] × [2D, K]` GEMM.
    public func componentLogLikelihoods(_ frames: [Float], count T: Int) -> [Float] {
        componentLogLikelihoods(expanded: expand(frames, count: T), count: T)
    }

    /// Every component's weighted log-likelihood from ``expand(_:count:)``'s output.
    public func componentLogLikelihoods(expanded: [Float], count T: Int) -> [Float] {
        let D = dimension, K = componentCount
        var out = [Float](repeating: 0, count: T * K)
        expanded.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { o in
                    for t in 0..<T { for k in 0..<K { o[t * K + k] = gconst[k] } }
                    Float.gemm(transposeA: false, transposeB: false, m: T, n: K, k: 2 * D, alpha: 1,
                               a: x.baseAddress!, lda: 2 * D, b: w.baseAddress!, ldb: K, beta: 1, c: o.baseAddress!, ldc: K)
                }
            }
        }
        return out
    }

    /// Each mixture's log-likelihood per frame `[T, S]`, from component values `[T, K]`.
    public func mixtureLogLikelihoods(components: [Float], count T: Int) -> [Float] {
        let K = componentCount, S = mixtureCount
        var out = [Float](repeating: 0, count: T * S)
        var shifted = [Float](repeating: 0, count: K)
        components.withUnsafeBufferPointer { c in
            shifted.withUnsafeMutableBufferPointer { e in
                for t in 0..<T {
                    // Each component minus its mixture's largest, exponentiated in one vector pass.
                    for s in 0..<S {
                        let lo = componentOffsets[s], hi = componentOffsets[s + 1]
                        var top = -Float.infinity
                        for k in lo..<hi { top = Swift.max(top, c[t * K + k]) }
                        out[t * S + s] = top
                        for k in lo..<hi { e[k] = c[t * K + k] - top }
                    }
                    Float.exp(e.baseAddress!, count: K)
                    for s in 0..<S {
                        var sum: Float = 0
                        for k in componentOffsets[s]..<componentOffsets[s + 1] { sum += e[k] }
                        out[t * S + s] += Float.log(sum)
                    }
                }
            }
        }
        return out
    }

    /// Each mixture's log-likelihood per frame `[T, S]`.
    public func logLikelihoods(_ frames: [Float], count T: Int) -> [Float] {
        mixtureLogLikelihoods(components: componentLogLikelihoods(frames, count: T), count: T)
    }
}
