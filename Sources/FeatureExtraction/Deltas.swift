/// Appends time derivatives to features, as Kaldi's `add-deltas` (`DeltaFeatures`).
///
/// Order-i coefficients are a regression filter applied i times: the order-1 filter is
/// `Σ_{j=-W..W} j·x[t+j] / Σ j²`; frames beyond either end are replaced by the end frame.
public struct DeltaComputer: Sendable {
    public let order: Int
    public let window: Int
    /// `scales[i]`: the order-i filter taps, centred (length `2·i·window + 1`).
    public let scales: [[Float]]

    public init(order: Int = 2, window: Int = 2) {
        precondition(order >= 0 && window > 0)
        self.order = order
        self.window = window
        var scales: [[Float]] = [[1]]
        for i in stride(from: 1, through: order, by: 1) {
            let previous = scales[i - 1]
            let previousOffset = (previous.count - 1) / 2
            let offset = previousOffset + window
            var current = [Float](repeating: 0, count: previous.count + 2 * window)
            var normalizer: Float = 0
            for j in -window...window {
                normalizer += Float(j * j)
                for k in -previousOffset...previousOffset {
                    current[j + k + offset] += Float(j) * previous[k + previousOffset]
                }
            }
            scales.append(current.map { $0 / normalizer })
        }
        self.scales = scales
    }

    /// `input` with its deltas appended: `frames × (dimension · (order + 1))`.
    /// - Complexity: O(T · D · order² · window).
    public func apply(_ input: FeatureMatrix) -> FeatureMatrix {
        let frames = input.frames, dim = input.dimension
        let outDim = dim * (order + 1)
        var output = FeatureMatrix(frames: frames, dimension: outDim)
        guard frames > 0 else { return output }
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                for t in 0..<frames {
                    let row = y.baseAddress! + t * outDim
                    for (i, taps) in scales.enumerated() {
                        let half = (taps.count - 1) / 2
                        let target = row + i * dim
                        for j in -half...half {
                            let scale = taps[j + half]
                            if scale == 0 { continue }
                            let source = x.baseAddress! + min(max(t + j, 0), frames - 1) * dim
                            for d in 0..<dim { target[d] += scale * source[d] }
                        }
                    }
                }
            }
        }
        return output
    }
}
