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

    /// Q(A) for a square A `[D, D]` (row-major).
    public func auxiliary(_ A: [Double]) -> Double {
        let D = dimension
        var q = count * Foundation.log(abs(Self.determinant(A, n: D)))
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
            guard let inverse = Self.inverse(G, n: D) else { throw FeatureTransformError("MLLT: the statistics of dimension \(i) are singular") }
            return inverse
        }
        for _ in 0..<iterations {
            for i in 0..<D {
                // Cofactors of row i: det(A) times row i of (A⁻¹)ᵀ, i.e. column i of A⁻¹.
                guard let inverseA = Self.inverse(A, n: D) else { throw FeatureTransformError("MLLT: the transform became singular") }
                let det = Self.determinant(A, n: D)
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

    /// The inverse of a general n × n matrix (Gauss-Jordan with partial pivoting), or nil.
    static func inverse(_ M: [Double], n: Int) -> [Double]? {
        var a = M, x = [Double](repeating: 0, count: n * n)
        for i in 0..<n { x[i * n + i] = 1 }
        let scale = M.map(abs).max() ?? 0
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard abs(a[pivot * n + col]) > 1e-13 * scale else { return nil }
            if pivot != col { for k in 0..<n { a.swapAt(pivot * n + k, col * n + k); x.swapAt(pivot * n + k, col * n + k) } }
            let p = a[col * n + col]
            for k in 0..<n { a[col * n + k] /= p; x[col * n + k] /= p }
            for r in 0..<n where r != col {
                let f = a[r * n + col]
                guard f != 0 else { continue }
                for k in 0..<n { a[r * n + k] -= f * a[col * n + k]; x[r * n + k] -= f * x[col * n + k] }
            }
        }
        return x
    }

    /// det(M) by Gaussian elimination with partial pivoting.
    static func determinant(_ M: [Double], n: Int) -> Double {
        var a = M, det = 1.0
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard a[pivot * n + col] != 0 else { return 0 }
            if pivot != col { for k in 0..<n { a.swapAt(pivot * n + k, col * n + k) }; det = -det }
            det *= a[col * n + col]
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                for k in col..<n { a[r * n + k] -= f * a[col * n + k] }
            }
        }
        return det
    }
}
