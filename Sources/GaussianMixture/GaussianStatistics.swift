/// Sufficient statistics of one mixture for EM, in Double: per component the occupancy
/// Σγ, the first-order sum Σγx and the second-order sum Σγx². A value that adds, so that
/// statistics of any shard of the data can be merged before the update (Kaldi's
/// `AccumDiagGmm`).
public struct GaussianStatistics: Codable, Sendable, Equatable {
    public let dimension: Int
    public var occupancy: [Double]
    public var firstOrder: [Double]
    public var secondOrder: [Double]

    public init(dimension: Int, components: Int) {
        self.dimension = dimension
        occupancy = [Double](repeating: 0, count: components)
        firstOrder = [Double](repeating: 0, count: components * dimension)
        secondOrder = firstOrder
    }

    public var componentCount: Int { occupancy.count }
    public var totalOccupancy: Double { occupancy.reduce(0, +) }

    /// Adds frame `x` to component `m` with weight `gamma`.
    @inlinable
    public mutating func accumulate(component m: Int, frame x: UnsafePointer<Float>, weight gamma: Double) {
        occupancy[m] += gamma
        let base = m * dimension
        firstOrder.withUnsafeMutableBufferPointer { f in
            secondOrder.withUnsafeMutableBufferPointer { s in
                for d in 0..<dimension {
                    let v = Double(x[d])
                    f[base + d] += gamma * v
                    s[base + d] += gamma * v * v
                }
            }
        }
    }

    /// Adds component `m`'s sums of one batch of frames: `occupancy`, and `sums` holding Σγx
    /// then Σγx² (2D values, as the statistics GEMM of training produces them).
    @inlinable
    public mutating func accumulate(component m: Int, occupancy gamma: Double, sums: UnsafePointer<Float>) {
        occupancy[m] += gamma
        let base = m * dimension
        firstOrder.withUnsafeMutableBufferPointer { f in
            secondOrder.withUnsafeMutableBufferPointer { s in
                for d in 0..<dimension {
                    f[base + d] += Double(sums[d])
                    s[base + d] += Double(sums[dimension + d])
                }
            }
        }
    }

    /// Every sum back to zero, the storage kept (for a buffer reused chunk after chunk).
    public mutating func zero() {
        for i in occupancy.indices { occupancy[i] = 0 }
        for i in firstOrder.indices {
            firstOrder[i] = 0
            secondOrder[i] = 0
        }
    }

    public mutating func add(_ other: GaussianStatistics) {
        precondition(other.dimension == dimension && other.componentCount == componentCount, "GaussianStatistics.add: shapes differ")
        for i in occupancy.indices { occupancy[i] += other.occupancy[i] }
        for i in firstOrder.indices {
            firstOrder[i] += other.firstOrder[i]
            secondOrder[i] += other.secondOrder[i]
        }
    }
}

/// How the M-step treats degenerate components.
public struct GMMUpdateOptions: Codable, Sendable, Equatable {
    /// Variances are floored at this times the floor vector (the global variance).
    public var varianceFloorFraction: Double = 0.01
    /// A component with less occupancy than this is removed (unless it is the last one).
    public var minimumOccupancy: Double = 3
    /// Weights below this are removed likewise.
    public var minimumWeight: Double = 1e-5

    public init() {}
}

extension DiagonalGMM {
    /// The maximum-likelihood update from `statistics`: weights, means and variances,
    /// variances floored at `varianceFloor`·fraction, starved components removed. A mixture
    /// with no occupancy at all is left as it was. Returns the number of components removed.
    @discardableResult
    public mutating func update(from statistics: GaussianStatistics, varianceFloor: [Double], options: GMMUpdateOptions = GMMUpdateOptions()) -> Int {
        precondition(statistics.componentCount == componentCount && statistics.dimension == dimension, "DiagonalGMM.update: statistics do not fit")
        let total = statistics.totalOccupancy
        guard total > 0 else { return 0 }
        var keep: [Int] = []
        for m in 0..<componentCount {
            let occ = statistics.occupancy[m]
            if occ >= options.minimumOccupancy && occ / total >= options.minimumWeight { keep.append(m) }
        }
        if keep.isEmpty, let best = statistics.occupancy.indices.max(by: { statistics.occupancy[$0] < statistics.occupancy[$1] }),
           statistics.occupancy[best] > 0 {
            keep = [best]
        }
        let kept = keep.reduce(0) { $0 + statistics.occupancy[$1] }
        var newWeights: [Double] = [], newMeans: [Double] = [], newVariances: [Double] = []
        for m in keep {
            let occ = statistics.occupancy[m]
            newWeights.append(occ / kept)
            for d in 0..<dimension {
                let mean = statistics.firstOrder[m * dimension + d] / occ
                let variance = statistics.secondOrder[m * dimension + d] / occ - mean * mean
                newMeans.append(mean)
                newVariances.append(Swift.max(variance, varianceFloor[d] * options.varianceFloorFraction, 1e-10))
            }
        }
        let removed = componentCount - keep.count
        weights = newWeights
        means = newMeans
        variances = newVariances
        return removed
    }
}

extension DiagonalGMM {
    /// Maximum a posteriori re-estimation of the means with `prior`'s means as the prior
    /// (Gauvain and Lee, 1994; Kaldi's `gmm-adapt-map --mean-tau`): μ̂ = (τ μ₀ + Σγx) / (τ + Σγ).
    /// A Gaussian the adaptation data hardly visits keeps its prior mean; one with much more
    /// than τ frames moves to the data's mean. Weights and variances stay `prior`'s.
    public mutating func adaptMeans(prior: DiagonalGMM, statistics: GaussianStatistics, tau: Double) {
        precondition(statistics.componentCount == prior.componentCount && statistics.dimension == dimension && prior.dimension == dimension,
                     "DiagonalGMM.adaptMeans: statistics do not fit")
        weights = prior.weights
        variances = prior.variances
        for m in 0..<componentCount {
            let occupancy = statistics.occupancy[m]
            for d in 0..<dimension {
                let i = m * dimension + d
                means[i] = (tau * prior.means[i] + statistics.firstOrder[i]) / (tau + occupancy)
            }
        }
    }
}
