import Foundation

/// Maximum-likelihood linear regression of Gaussian means (Leggetter and Woodland, 1995): one
/// affine transform μ̂ = A μ + b shared by every Gaussian of a model, estimated from a new voice's
/// adaptation statistics so that even Gaussians the data never visits move with it. With
/// diagonal covariances each row of [b A] is its own (d+1)-dimensional least-squares problem:
/// G_i w_i = k_i, G_i = Σ_m γ_m/σ²_mi ξ_m ξ_mᵀ, k_i = Σ_m (Σ_t γ_m(t) x_ti)/σ²_mi ξ_m, ξ_m = [1, μ_m].
public struct MLLRTransform: Sendable, Equatable {
    /// What the transform may do: a full matrix, a scale per dimension, or a bias only (for
    /// little data: a full transform has d(d+1) parameters).
    public enum Kind: String, Codable, Sendable, CaseIterable { case full, diagonal, bias }

    public let dimension: Int
    /// `[d, d+1]` row-major: row i is [b_i, A_i1 ... A_id].
    public var rows: [Double]

    /// The identity (no change).
    public init(dimension: Int) {
        self.dimension = dimension
        rows = [Double](repeating: 0, count: dimension * (dimension + 1))
        for i in 0..<dimension { rows[i * (dimension + 1) + 1 + i] = 1 }
    }

    /// The transform of `kind` that maximizes the likelihood of `statistics` (one per mixture, its
    /// components' occupancies and first-order sums) under `mixtures` with transformed means. A
    /// row whose system is singular (no data reaches it) stays the identity's.
    public static func estimate(_ kind: Kind, mixtures: [DiagonalGMM], statistics: [GaussianStatistics]) -> MLLRTransform {
        precondition(mixtures.count == statistics.count, "MLLRTransform: one statistics per mixture")
        let D = mixtures.first?.dimension ?? 0
        var transform = MLLRTransform(dimension: D)
        for i in 0..<D {
            // The unknowns of row i: [b_i, A_i·] (full), [b_i, A_ii] (diagonal), [b_i] (bias, A_ii = 1).
            let columns: [Int] = kind == .full ? Array(0...D) : kind == .diagonal ? [0, 1 + i] : [0]
            let n = columns.count
            var G = [Double](repeating: 0, count: n * n), k = [Double](repeating: 0, count: n)
            for (gmm, stats) in zip(mixtures, statistics) {
                for m in 0..<gmm.componentCount where stats.occupancy[m] > 0 {
                    let gamma = stats.occupancy[m], inverse = 1 / gmm.variances[m * D + i]
                    let xi = columns.map { $0 == 0 ? 1 : gmm.means[m * D + $0 - 1] }
                    var target = stats.firstOrder[m * D + i]
                    if kind == .bias { target -= gamma * gmm.means[m * D + i] }
                    for r in 0..<n {
                        k[r] += inverse * target * xi[r]
                        for c in 0..<n { G[r * n + c] += gamma * inverse * xi[r] * xi[c] }
                    }
                }
            }
            guard let w = DenseMatrix.solve(G, k, n: n) else { continue }
            for (r, column) in columns.enumerated() { transform.rows[i * (D + 1) + column] = w[r] }
        }
        return transform
    }

    /// `gmm` with every mean transformed.
    public func apply(to gmm: DiagonalGMM) -> DiagonalGMM {
        var out = gmm
        let D = dimension
        for m in 0..<gmm.componentCount {
            for i in 0..<D {
                let row = i * (D + 1)
                var value = rows[row]
                for j in 0..<D { value += rows[row + 1 + j] * gmm.means[m * D + j] }
                out.means[m * D + i] = value
            }
        }
        return out
    }
}
