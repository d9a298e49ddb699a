import Foundation

/// Maximum-likelihood linear transform of the features for diagonal-covariance Gaussians
/// (Gopinath's MLLT, Gales' semi-tied covariances; Kaldi's `gmm-acc-mllt` and `est-mllt`): a
/// square A such that the Gaussians' covariances are as diagonal as possible in the space A x.
/// Statistics: β, the frames, and per feature dimension i, G_i = Σ_j (1/σ²_ji) Σ_t γ_j(t)
/// (x_t − μ_j)(x_t − μ_j)ᵀ. The update is Gales' row by row, a_i = c_i G_i⁻¹ √(β / c_i G_i⁻¹ c_iᵀ)
/// with c_i the cofactors of row i, which never lowers the auxiliary function
/// Q(A) = β log|det A| − ½ Σ_i a_i G_i a_iᵀ.
public struct MLLTStatistics: Sendable {
    public let dimension: Int
    /// β: the frames (occupancy) accumulated.
    public private(set) var count = 0.0
    /// G_i, `[D][D × D]` row-major.
    public private(set) var rows: [[Double]]

    public init(dimension: Int) {
        self.dimension = dimension
        rows = [[Double]](repeating: [Double](repeating: 0, count: dimension * dimension), count: dimension)
    }

    /// Adds one Gaussian's full scatter around its mean, `scatter` = Σ_t γ(t)(x_t − μ)(x_t − μ)ᵀ
    /// (`[D, D]`), its occupancy and its diagonal variances.
    public mutating func add(scatter: [Double], occupancy: Double, variances: ArraySlice<Double>) {
        let D = dimension
        precondition(scatter.count == D * D && variances.count == D, "MLLTStatistics: sizes do not fit")
        count += occupancy
        for (i, variance) in variances.enumerated() {
            let w = 1 / variance
            for k in 0..<(D * D) { rows[i][k] += w * scatter[k] }
        }
    }

    /// Adds another worker's statistics.
    public mutating func add(_ other: MLLTStatistics) {
        precondition(other.dimension == dimension, "MLLTStatistics: dimensions differ")
        count += other.count
        for i in rows.indices { for k in rows[i].indices { rows[i][k] += other.rows[i][k] } }
    }

    /// Q(A) for a square A `[D, D]` (row-major).
    public func auxiliary(_ A: [Double]) -> Double {
        let D = dimension
        var q = count * Foundation.log(abs(DenseMatrix.determinant(A, n: D)))
        for i in 0..<D {
            var quadratic = 0.0
            for r in 0..<D { for c in 0..<D { quadratic += A[i * D + r] * rows[i][r * D + c] * A[i * D + c] } }
            q -= 0.5 * quadratic
        }
        return q
    }

    /// `iterations` sweeps of Gales' row update from `start` (default: the identity); returns A.
    public func estimate(from start: [Double]? = nil, iterations: Int = 10) throws -> [Double] {
        let D = dimension
        guard count > Double(D) else { throw FeatureTransformError("MLLT needs more frames than the \(D) dimensions (\(Int(count)) frames)") }
        var A = start ?? (0..<(D * D)).map { $0 % (D + 1) == 0 ? 1 : 0 }
        let inverses = try rows.enumerated().map { i, G -> [Double] in
            guard let inverse = DenseMatrix.inverse(G, n: D) else { throw FeatureTransformError("MLLT: the statistics of dimension \(i) are singular") }
            return inverse
        }
        for _ in 0..<iterations {
            for i in 0..<D {
                // Cofactors of row i: det(A) times row i of (A⁻¹)ᵀ, i.e. column i of A⁻¹.
                guard let inverseA = DenseMatrix.inverse(A, n: D) else { throw FeatureTransformError("MLLT: the transform became singular") }
                let det = DenseMatrix.determinant(A, n: D)
                let c = (0..<D).map { det * inverseA[$0 * D + i] }
                var cG = [Double](repeating: 0, count: D)
                for col in 0..<D { for r in 0..<D { cG[col] += c[r] * inverses[i][r * D + col] } }
                let norm = zip(cG, c).reduce(0) { $0 + $1.0 * $1.1 }
                guard norm > 0 else { continue }
                let scale = (count / norm).squareRoot()
                for col in 0..<D { A[i * D + col] = scale * cG[col] }
            }
        }
        return A
    }
}
