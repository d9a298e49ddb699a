import Foundation

/// Linear discriminant analysis as Kaldi's `acc-lda` / `est-lda` compute it for feature
/// transforms: statistics per class (HMM state) of aligned frames, then the projection to `k`
/// dimensions that maximizes between-class over within-class scatter, scaled so that the
/// within-class covariance of the projected features is the identity. The first step of Kaldi's
/// LDA+MLLT (`tri2b`) front end, applied to spliced frames.
public struct LDAStatistics: Sendable, Equatable {
    public let dimension: Int
    /// Frames per class, and each class's sum of frames `[classes, D]`.
    public private(set) var counts: [Double]
    public private(set) var sums: [Double]
    /// Σ x xᵀ over every frame `[D, D]`.
    public private(set) var scatter: [Double]

    public init(dimension: Int, classes: Int) {
        self.dimension = dimension
        counts = [Double](repeating: 0, count: classes)
        sums = [Double](repeating: 0, count: classes * dimension)
        scatter = [Double](repeating: 0, count: dimension * dimension)
    }

    /// Statistics from their values (e.g. sums over the ranks of a distributed training).
    public init(dimension: Int, counts: [Double], sums: [Double], scatter: [Double]) {
        precondition(sums.count == counts.count * dimension && scatter.count == dimension * dimension, "LDAStatistics: sizes differ")
        self.dimension = dimension
        self.counts = counts
        self.sums = sums
        self.scatter = scatter
    }

    /// Adds frame `x` (D values) of class `c` with weight `weight`.
    public mutating func accumulate(_ x: ArraySlice<Float>, class c: Int, weight: Double = 1) {
        precondition(x.count == dimension, "LDAStatistics: frame of \(x.count) values, not \(dimension)")
        let D = dimension, values = x.map(Double.init)
        counts[c] += weight
        for i in 0..<D {
            sums[c * D + i] += weight * values[i]
            for j in 0...i { scatter[i * D + j] += weight * values[i] * values[j] }
        }
    }

    /// The projection `[k, D]` (row-major): rows are the k most discriminating directions, best
    /// first. Throws when there are too few frames or classes, or when the within-class scatter
    /// is singular (a constant or duplicated feature dimension), naming the cause.
    public func transform(to k: Int) throws -> [Double] {
        let D = dimension, total = counts.reduce(0, +)
        let classes = counts.filter { $0 > 0 }.count
        guard k >= 1, k <= D else { throw FeatureTransformError("cannot project \(D) dimensions to \(k)") }
        guard classes >= 2, total > Double(D) else {
            throw FeatureTransformError("needs frames of at least 2 classes and more frames than the \(D) dimensions (\(classes) classes, \(Int(total)) frames)")
        }
        // Total, between-class and within-class covariances (per frame).
        var within = [Double](repeating: 0, count: D * D), between = within
        var mean = [Double](repeating: 0, count: D)
        for c in counts.indices { for i in 0..<D { mean[i] += sums[c * D + i] / total } }
        for i in 0..<D {
            for j in 0...i {
                var b = 0.0
                for c in counts.indices where counts[c] > 0 { b += sums[c * D + i] * sums[c * D + j] / counts[c] }
                b = b / total - mean[i] * mean[j]
                let t = scatter[i * D + j] / total - mean[i] * mean[j]
                (between[i * D + j], between[j * D + i]) = (b, b)
                (within[i * D + j], within[j * D + i]) = (t - b, t - b)
            }
        }
        // W = L Lᵀ; the eigenvectors u of L⁻¹ B L⁻ᵀ give directions v = L⁻ᵀ u with vᵀ W v = 1.
        guard let L = DenseMatrix.cholesky(within, n: D) else {
            let zero = (0..<D).first { within[$0 * D + $0] <= 1e-10 * max(1e-300, (0..<D).map { within[$0 * D + $0] }.max()!) }
            throw FeatureTransformError("the within-class scatter is singular" + (zero.map { ": dimension \($0) does not vary within classes" } ?? " (dimensions that are linear combinations of others?)"))
        }
        let inverse = DenseMatrix.lowerInverse(L, n: D)
        let M = DenseMatrix.multiply(DenseMatrix.multiply(inverse, between, n: D), DenseMatrix.transpose(inverse, n: D), n: D)
        let (values, vectors) = DenseMatrix.eigen(M, n: D)
        let order = values.indices.sorted { values[$0] > values[$1] }
        var projection = [Double](repeating: 0, count: k * D)
        for (row, e) in order.prefix(k).enumerated() {
            // v = L⁻ᵀ u, i.e. vᵀ = uᵀ L⁻¹.
            for j in 0..<D {
                var v = 0.0
                for i in 0..<D { v += vectors[i * D + e] * inverse[i * D + j] }
                projection[row * D + j] = v
            }
        }
        return projection
    }
}

/// A feature transform (LDA, MLLT) could not be estimated; the description says why.
public struct FeatureTransformError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
