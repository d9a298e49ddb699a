/// Per-dimension sums of features over frames, in Double (Kaldi's CMVN stats): a value that adds,
/// so that speaker statistics are the sum of their utterances'.
public struct CMVNStatistics: Sendable, Equatable {
    public private(set) var count: Double = 0
    public private(set) var sum: [Double]
    public private(set) var sumOfSquares: [Double]

    public init(dimension: Int) {
        sum = [Double](repeating: 0, count: dimension)
        sumOfSquares = sum
    }

    /// Statistics of one utterance's features.
    public init(_ features: FeatureMatrix) {
        self.init(dimension: features.dimension)
        accumulate(features)
    }

    public var dimension: Int { sum.count }

    public mutating func accumulate(_ features: FeatureMatrix) {
        precondition(features.dimension == dimension)
        let dim = dimension
        features.values.withUnsafeBufferPointer { x in
            sum.withUnsafeMutableBufferPointer { s in
                sumOfSquares.withUnsafeMutableBufferPointer { q in
                    for t in 0..<features.frames {
                        for d in 0..<dim {
                            let v = Double(x[t * dim + d])
                            s[d] += v
                            q[d] += v * v
                        }
                    }
                }
            }
        }
        count += Double(features.frames)
    }

    public mutating func add(_ other: CMVNStatistics) {
        precondition(other.dimension == dimension)
        count += other.count
        for d in 0..<dimension {
            sum[d] += other.sum[d]
            sumOfSquares[d] += other.sumOfSquares[d]
        }
    }

    /// Normalizes `features` as Kaldi's `apply-cmvn`: subtract the mean and, with
    /// `normalizeVariance`, divide by the standard deviation (variance floored at 1e-20).
    public func apply(to features: inout FeatureMatrix, normalizeVariance: Bool) {
        precondition(features.dimension == dimension)
        guard count > 0 else { return }
        var scale = [Float](repeating: 1, count: dimension)
        var offset = [Float](repeating: 0, count: dimension)
        for d in 0..<dimension {
            let mean = sum[d] / count
            if normalizeVariance {
                let variance = max(sumOfSquares[d] / count - mean * mean, 1e-20)
                let s = 1 / variance.squareRoot()
                scale[d] = Float(s)
                offset[d] = Float(-mean * s)
            } else {
                offset[d] = Float(-mean)
            }
        }
        let dim = dimension
        features.values.withUnsafeMutableBufferPointer { x in
            for t in 0..<features.frames {
                for d in 0..<dim {
                    x[t * dim + d] = x[t * dim + d] * scale[d] + offset[d]
                }
            }
        }
    }
}
