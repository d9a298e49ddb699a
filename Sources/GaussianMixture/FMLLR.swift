import Foundation
import TensorCore

/// Feature-space MLLR (constrained MLLR; Gales 1998; Kaldi's `gmm-est-fmllr`): one affine
/// transform x̂ = A x + b of a speaker's features, shared by every Gaussian, that raises their
/// likelihood under the model. W = [A b] is `[D, D+1]`; with ξ = [x, 1] the auxiliary function
/// is Q(W) = β log|det A| + Σ_i (w_i k_iᵀ − ½ w_i G_i w_iᵀ), whose statistics are, over frames t
/// and Gaussians j with posterior γ_j(t):
///   β = Σ γ,  k_i = Σ γ μ_ji/σ²_ji ξᵀ,  G_i = Σ γ/σ²_ji ξ ξᵀ.
/// The statistics are of the features the transform will be applied to (not of transformed ones).
public struct FMLLRStatistics: Sendable {
    public let dimension: Int
    /// β: the frames (occupancy) accumulated.
    public private(set) var count = 0.0
    /// k_i, `[D, D+1]` row-major.
    public private(set) var linear: [Double]
    /// G_i, `[D][(D+1) × (D+1)]` row-major.
    public private(set) var quadratic: [[Double]]
    /// Frames not yet folded into `quadratic`: ξ `[n, D+1]` and each frame's Σ_j γ_j/σ²_ji `[n, D]`.
    private var pendingFrames: [Double] = [], pendingWeights: [Double] = []
    private static let block = 1024

    public init(dimension: Int) {
        self.dimension = dimension
        linear = [Double](repeating: 0, count: dimension * (dimension + 1))
        quadratic = [[Double]](repeating: [Double](repeating: 0, count: (dimension + 1) * (dimension + 1)), count: dimension)
    }

    /// Adds frame `x` (D values) with the Gaussians it is shared among: each with its mean, its
    /// variances (D values each) and its posterior.
    public mutating func accumulate(_ x: UnsafeBufferPointer<Float>, gaussians: [(mean: ArraySlice<Double>, variance: ArraySlice<Double>, posterior: Double)]) {
        var weights = [Double](repeating: 0, count: dimension), scaledMeans = weights, total = 0.0
        for (mean, variance, posterior) in gaussians where posterior > 0 {
            total += posterior
            for (i, (m, v)) in zip(mean, variance).enumerated() {
                weights[i] += posterior / v
                scaledMeans[i] += posterior * m / v
            }
        }
        weights.withUnsafeBufferPointer { w in
            scaledMeans.withUnsafeBufferPointer { m in accumulate(x, occupancy: total, weights: w, scaledMeans: m) }
        }
    }

    /// Adds frame `x` given its Gaussians' sums: the occupancy Σ_j γ_j, and per dimension
    /// Σ_j γ_j/σ²_ji (`weights`) and Σ_j γ_j μ_ji/σ²_ji (`scaledMeans`).
    public mutating func accumulate(_ x: UnsafeBufferPointer<Float>, occupancy: Double, weights: UnsafeBufferPointer<Double>,
                                    scaledMeans: UnsafeBufferPointer<Double>) {
        let D = dimension, E = D + 1
        precondition(x.count == D && weights.count == D && scaledMeans.count == D, "FMLLRStatistics: a frame of \(x.count) values, expected \(D)")
        guard occupancy > 0 else { return }
        count += occupancy
        linear.withUnsafeMutableBufferPointer { k in
            for i in 0..<D {
                let m = scaledMeans[i]
                for j in 0..<D { k[i * E + j] += m * Double(x[j]) }
                k[i * E + D] += m
            }
        }
        for j in 0..<D { pendingFrames.append(Double(x[j])) }
        pendingFrames.append(1)
        for i in 0..<D { pendingWeights.append(weights[i]) }
        if pendingWeights.count >= Self.block * D { flush() }
    }

    /// Adds the frames of `n` Gaussians, given each one's scatter Σ_t γ(t) ξ_t ξ_tᵀ (`scatters`:
    /// `[n, (D+1)²]`, ξ = [x, 1], so a scatter's last row holds Σγ xᵀ and Σγ), means and
    /// variances (`[n, D]` each): k_i += Σ_g μ_gi/σ²_gi · Σγ ξᵀ and G_i += Σ_g scatter_g/σ²_gi.
    /// Two GEMMs over the Gaussians (not D sums of (D+1)² values per Gaussian); cheaper than
    /// frame by frame when there are many more frames than Gaussians.
    public mutating func add(scatters: UnsafeBufferPointer<Double>, means: UnsafeBufferPointer<Double>,
                             variances: UnsafeBufferPointer<Double>, count n: Int) {
        let D = dimension, E = D + 1, E2 = E * E
        precondition(scatters.count == n * E2 && means.count == n * D && variances.count == n * D, "FMLLRStatistics: sizes do not fit")
        guard n > 0 else { return }
        var inverseVariances = [Double](repeating: 0, count: n * D), scaledMeans = inverseVariances
        for g in 0..<n {
            count += scatters[g * E2 + D * E + D]
            for i in 0..<D {
                inverseVariances[g * D + i] = 1 / variances[g * D + i]
                scaledMeans[g * D + i] = means[g * D + i] / variances[g * D + i]
            }
        }
        // Row i of [D, (D+1)²]: G_i's increment.
        var increments = [Double](repeating: 0, count: D * E2)
        increments.withUnsafeMutableBufferPointer { out in
            Double.gemm(transposeA: true, transposeB: false, m: D, n: E2, k: n, alpha: 1, a: inverseVariances, lda: D,
                        b: scatters.baseAddress!, ldb: E2, beta: 0, c: out.baseAddress!, ldc: E2)
        }
        for i in 0..<D {
            quadratic[i].withUnsafeMutableBufferPointer { g in
                for k in 0..<E2 { g[k] += increments[i * E2 + k] }
            }
        }
        // Each scatter's last row (Σγ ξᵀ), read in place: rows of E values, (D+1)² apart.
        linear.withUnsafeMutableBufferPointer { k in
            Double.gemm(transposeA: true, transposeB: false, m: D, n: E, k: n, alpha: 1, a: scaledMeans, lda: D,
                        b: scatters.baseAddress! + D * E, ldb: E2, beta: 1, c: k.baseAddress!, ldc: E)
        }
    }

    /// Folds the pending frames into G_i: G_i += Ξᵀ diag(w_i) Ξ, one GEMM per dimension.
    private mutating func flush() {
        let D = dimension, E = D + 1, n = pendingWeights.count / max(D, 1)
        guard n > 0 else { return }
        var scaled = [Double](repeating: 0, count: n * E)
        for i in 0..<D {
            for t in 0..<n {
                let w = pendingWeights[t * D + i]
                for c in 0..<E { scaled[t * E + c] = w * pendingFrames[t * E + c] }
            }
            pendingFrames.withUnsafeBufferPointer { xi in
                scaled.withUnsafeBufferPointer { s in
                    quadratic[i].withUnsafeMutableBufferPointer { g in
                        Double.gemm(transposeA: true, transposeB: false, m: E, n: E, k: n, alpha: 1, a: xi.baseAddress!, lda: E,
                                    b: s.baseAddress!, ldb: E, beta: 1, c: g.baseAddress!, ldc: E)
                    }
                }
            }
        }
        pendingFrames.removeAll(keepingCapacity: true)
        pendingWeights.removeAll(keepingCapacity: true)
    }

    /// Adds another speaker's (or worker's) statistics.
    public mutating func add(_ other: FMLLRStatistics) {
        precondition(other.dimension == dimension, "FMLLRStatistics: dimensions differ")
        var other = other
        other.flush()
        flush()
        count += other.count
        for k in linear.indices { linear[k] += other.linear[k] }
        for i in 0..<dimension { for k in quadratic[i].indices { quadratic[i][k] += other.quadratic[i][k] } }
    }

    /// Q(W) of a transform.
    public func auxiliary(_ transform: FMLLRTransform) -> Double {
        folded.auxiliaryOfFolded(transform)
    }

    /// The statistics with every pending frame folded in.
    var folded: FMLLRStatistics {
        var statistics = self
        statistics.flush()
        return statistics
    }

    private func auxiliaryOfFolded(_ transform: FMLLRTransform) -> Double {
        let D = dimension, E = D + 1, W = transform.matrix
        var q = count * DenseMatrix.logAbsDeterminant(transform.linearPart, n: D)
        for i in 0..<D {
            let w = W[(i * E)..<((i + 1) * E)]
            var linearTerm = 0.0, quadraticTerm = 0.0
            for r in 0..<E {
                linearTerm += w[i * E + r] * linear[i * E + r]
                var row = 0.0
                for c in 0..<E { row += quadratic[i][r * E + c] * w[i * E + c] }
                quadraticTerm += w[i * E + r] * row
            }
            q += linearTerm - 0.5 * quadraticTerm
        }
        return q
    }
}

/// An fMLLR transform W = [A b] (`[D, D+1]`, row-major) and how it was estimated.
public struct FMLLRTransform: Codable, Sendable, Equatable {
    /// What the transform may change: a full matrix and offset (D(D+1) parameters), a scale
    /// and offset per dimension (2D), an offset only (D), or nothing.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case full, diagonal, bias, none
    }

    public let dimension: Int
    public var kind: Kind
    /// `[D, D+1]` row-major: row i is [A_i1 … A_iD, b_i].
    public var matrix: [Double]

    /// The identity (no change).
    public init(dimension: Int) {
        self.dimension = dimension
        kind = .none
        matrix = [Double](repeating: 0, count: dimension * (dimension + 1))
        for i in 0..<dimension { matrix[i * (dimension + 1) + i] = 1 }
    }

    public init(kind: Kind, matrix: [Double], dimension: Int) {
        precondition(matrix.count == dimension * (dimension + 1), "FMLLRTransform: \(matrix.count) values for \(dimension) × \(dimension + 1)")
        self.dimension = dimension
        self.kind = kind
        self.matrix = matrix
    }

    /// A, `[D, D]`.
    public var linearPart: [Double] {
        let D = dimension
        return (0..<(D * D)).map { matrix[($0 / D) * (D + 1) + $0 % D] }
    }

    /// Frames `[T, D]` transformed, `A x + b` each (one GEMM).
    public func apply(_ frames: [Float]) -> [Float] {
        let D = dimension, E = D + 1, T = frames.count / max(D, 1)
        guard T > 0 else { return [] }
        var out = [Float](repeating: 0, count: T * D)
        let W = matrix.map(Float.init)
        for t in 0..<T { for i in 0..<D { out[t * D + i] = W[i * E + D] } }
        frames.withUnsafeBufferPointer { x in
            W.withUnsafeBufferPointer { W in
                out.withUnsafeMutableBufferPointer { y in
                    // Y = X Aᵀ + 1 bᵀ: A is W without its last column (leading dimension E).
                    Float.gemm(transposeA: false, transposeB: true, m: T, n: D, k: D, alpha: 1, a: x.baseAddress!, lda: D,
                               b: W.baseAddress!, ldb: E, beta: 1, c: y.baseAddress!, ldc: D)
                }
            }
        }
        return out
    }

    /// The transform of `kind` that maximizes `statistics`' auxiliary function: Gales' row by
    /// row update from `start` (default: the identity), `iterations` sweeps. Each row is
    /// w_i = (α c_i + k_i) G_i⁻¹ with c_i row i's cofactors (extended by 0) and α the root of
    /// α² c G⁻¹ cᵀ + α c G⁻¹ kᵀ − β = 0 with the larger auxiliary function. A diagonal
    /// transform solves the same equation in the 2 × 2 system of a_ii and b_i; an offset alone
    /// is a linear solution. Throws when the statistics cannot determine the transform.
    public static func estimate(_ kind: Kind, from statistics: FMLLRStatistics, start: FMLLRTransform? = nil,
                                iterations: Int = 10) throws -> FMLLRTransform {
        let s = statistics.folded, D = s.dimension, E = D + 1
        var transform = start ?? FMLLRTransform(dimension: D)
        transform.kind = kind
        guard kind != .none else { return FMLLRTransform(dimension: D) }
        guard s.count > 0 else { throw FeatureTransformError("fMLLR: no frames to estimate a transform from") }
        switch kind {
        case .none:
            break
        case .bias:
            // A = I; b_i maximizes b k_i[D] − ½(2 b G_i[i,D] + b² G_i[D,D]).
            transform = FMLLRTransform(dimension: D)
            transform.kind = .bias
            for i in 0..<D {
                let g = s.quadratic[i]
                guard g[D * E + D] > 0 else { throw FeatureTransformError("fMLLR: dimension \(i) has no statistics") }
                transform.matrix[i * E + D] = (s.linear[i * E + D] - g[i * E + D]) / g[D * E + D]
            }
        case .diagonal:
            for i in 0..<D {
                let g = s.quadratic[i]
                let G = [g[i * E + i], g[i * E + D], g[D * E + i], g[D * E + D]]
                let k = [s.linear[i * E + i], s.linear[i * E + D]]
                guard let w = rowUpdate(G: G, k: k, cofactors: [1, 0], count: s.count, n: 2) else {
                    throw FeatureTransformError("fMLLR: the statistics of dimension \(i) are singular")
                }
                for j in 0..<D { transform.matrix[i * E + j] = j == i ? w[0] : 0 }
                transform.matrix[i * E + D] = w[1]
            }
        case .full:
            let inverses = try s.quadratic.enumerated().map { i, G -> [Double] in
                guard let inverse = DenseMatrix.inverse(G, n: E) else {
                    throw FeatureTransformError("fMLLR: the statistics of dimension \(i) are singular (too few frames for a full transform)")
                }
                return inverse
            }
            guard var inverseA = DenseMatrix.inverse(transform.linearPart, n: D) else {
                throw FeatureTransformError("fMLLR: the starting transform is singular")
            }
            for _ in 0..<iterations {
                for i in 0..<D {
                    // Row i of (A⁻¹)ᵀ (column i of A⁻¹) is proportional to row i's cofactors (the scale cancels).
                    let c = (0..<E).map { $0 < D ? inverseA[$0 * D + i] : 0 }
                    let k = Array(s.linear[(i * E)..<((i + 1) * E)])
                    guard let w = rowUpdate(inverse: inverses[i], k: k, cofactors: c, count: s.count, n: E) else { continue }
                    // A changes by e_i dᵀ: A⁻¹ follows by Sherman-Morrison, A⁻¹ − (A⁻¹e_i)(dᵀA⁻¹)/(1 + dᵀA⁻¹e_i).
                    let d = (0..<D).map { w[$0] - transform.matrix[i * E + $0] }
                    for j in 0..<E { transform.matrix[i * E + j] = w[j] }
                    var dA = [Double](repeating: 0, count: D)
                    for r in 0..<D where d[r] != 0 { for col in 0..<D { dA[col] += d[r] * inverseA[r * D + col] } }
                    let denominator = 1 + dA[i]
                    if abs(denominator) > 1e-8 {
                        for r in 0..<D {
                            let f = inverseA[r * D + i] / denominator
                            guard f != 0 else { continue }
                            for col in 0..<D { inverseA[r * D + col] -= f * dA[col] }
                        }
                    } else {
                        guard let fresh = DenseMatrix.inverse(transform.linearPart, n: D) else {
                            throw FeatureTransformError("fMLLR: the transform became singular")
                        }
                        inverseA = fresh
                    }
                }
            }
        }
        guard transform.matrix.allSatisfy(\.isFinite) else { throw FeatureTransformError("fMLLR: the estimate is not finite") }
        return transform
    }

    /// One row of Gales' update for an n × n system given G.
    static func rowUpdate(G: [Double], k: [Double], cofactors: [Double], count: Double, n: Int) -> [Double]? {
        guard let inverse = DenseMatrix.inverse(G, n: n) else { return nil }
        return rowUpdate(inverse: inverse, k: k, cofactors: cofactors, count: count, n: n)
    }

    /// One row of Gales' update given G⁻¹: w = (α c + k) G⁻¹.
    static func rowUpdate(inverse: [Double], k: [Double], cofactors c: [Double], count beta: Double, n: Int) -> [Double]? {
        var cG = [Double](repeating: 0, count: n), kG = cG
        for col in 0..<n {
            for r in 0..<n {
                cG[col] += c[r] * inverse[r * n + col]
                kG[col] += k[r] * inverse[r * n + col]
            }
        }
        let a = zip(cG, c).reduce(0) { $0 + $1.0 * $1.1 }
        let b = zip(kG, c).reduce(0) { $0 + $1.0 * $1.1 }
        guard a > 0 else { return nil }
        let root = (b * b + 4 * a * beta).squareRoot()
        let alphas = [(-b - root) / (2 * a), (-b + root) / (2 * a)]
        let objective = { (alpha: Double) in beta * Foundation.log(abs(alpha * a + b)) - 0.5 * alpha * alpha * a }
        let alpha = objective(alphas[0]) > objective(alphas[1]) ? alphas[0] : alphas[1]
        return (0..<n).map { alpha * cG[$0] + kG[$0] }
    }
}
