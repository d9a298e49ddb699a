import Foundation

/// A mixture of Gaussians with diagonal covariances, one per HMM state (Kaldi's `DiagGmm`).
/// Parameters are kept in Double; likelihoods are computed in Float by GEMM (see
/// ``GMMLikelihoods``).
public struct DiagonalGMM: Codable, Sendable, Equatable {
    /// Feature dimension D.
    public let dimension: Int
    /// Component weights (sum to 1), M values.
    public var weights: [Double]
    /// Means, M × D row-major.
    public var means: [Double]
    /// Variances, M × D row-major (floored, never zero).
    public var variances: [Double]

    public init(dimension: Int, weights: [Double], means: [Double], variances: [Double]) {
        precondition(means.count == weights.count * dimension && variances.count == means.count,
                     "DiagonalGMM: \(weights.count) weights, \(means.count) means, \(variances.count) variances for dimension \(dimension)")
        self.dimension = dimension
        self.weights = weights
        self.means = means
        self.variances = variances
    }

    /// One Gaussian with the given mean and variance.
    public init(mean: [Double], variance: [Double]) {
        self.init(dimension: mean.count, weights: [1], means: mean, variances: variance)
    }

    /// The mixture with every mean multiplied by the square matrix A (`[D, D]`, row-major):
    /// the model of features A x, whose variances the next re-estimation will correct.
    public func transformingMeans(_ A: [Double]) -> DiagonalGMM {
        let D = dimension
        precondition(A.count == D * D, "DiagonalGMM: a \(A.count)-value matrix for dimension \(D)")
        var means = self.means
        for m in 0..<componentCount {
            for i in 0..<D {
                var sum = 0.0
                for j in 0..<D { sum += A[i * D + j] * self.means[m * D + j] }
                means[m * D + i] = sum
            }
        }
        return DiagonalGMM(dimension: D, weights: weights, means: means, variances: variances)
    }

    /// Number of components M.
    public var componentCount: Int { weights.count }

    /// Each component's posterior given x (they add to 1), written into `posteriors`.
    public func componentPosteriors(_ x: [Double], into posteriors: inout [Double]) {
        posteriors.removeAll(keepingCapacity: true)
        for m in 0..<componentCount { posteriors.append(componentLogLikelihood(m, x)) }
        let top = posteriors.max() ?? 0
        var total = 0.0
        for m in posteriors.indices { posteriors[m] = Foundation.exp(posteriors[m] - top); total += posteriors[m] }
        for m in posteriors.indices { posteriors[m] /= total }
    }

    /// log N(x; μ_m, σ²_m) + log w_m for component m, in Double (reference for tests).
    public func componentLogLikelihood(_ m: Int, _ x: [Double]) -> Double {
        var sum = Foundation.log(weights[m]) - 0.5 * Double(dimension) * Foundation.log(2 * Double.pi)
        for d in 0..<dimension {
            let v = variances[m * dimension + d], diff = x[d] - means[m * dimension + d]
            sum -= 0.5 * (Foundation.log(v) + diff * diff / v)
        }
        return sum
    }

    /// log p(x) = log Σ_m w_m N(x; μ_m, σ²_m), in Double.
    public func logLikelihood(_ x: [Double]) -> Double {
        let parts = (0..<componentCount).map { componentLogLikelihood($0, x) }
        let top = parts.max() ?? -.infinity
        return top + Foundation.log(parts.reduce(0) { $0 + Foundation.exp($1 - top) })
    }

    /// Splits the heaviest component in two, means moved by ±`perturbation`·σ, weights halved.
    public mutating func splitHeaviestComponent(perturbation: Double = 0.2) {
        guard let heaviest = weights.indices.max(by: { weights[$0] < weights[$1] }) else { return }
        let range = (heaviest * dimension)..<((heaviest + 1) * dimension)
        let mean = Array(means[range]), variance = Array(variances[range])
        weights[heaviest] /= 2
        weights.append(weights[heaviest])
        for d in 0..<dimension {
            let offset = perturbation * variance[d].squareRoot()
            means[heaviest * dimension + d] = mean[d] + offset
            means.append(mean[d] - offset)
        }
        variances.append(contentsOf: variance)
    }

    /// Whether every parameter is finite and every variance and weight positive.
    public var isValid: Bool {
        weights.allSatisfy { $0 > 0 && $0.isFinite } && means.allSatisfy(\.isFinite) && variances.allSatisfy { $0 > 0 && $0.isFinite }
    }
}
