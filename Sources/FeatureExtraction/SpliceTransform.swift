/// The last step of a model's front end when it has learned one: each frame spliced with its
/// `context` neighbours on either side (Kaldi's `splice-feats`; frames beyond either end repeat
/// the end frame), then multiplied by a matrix (Kaldi's `transform-feats` with LDA, or LDA
/// composed with MLLT: the `final.mat` of `tri2b`).
///
/// The matrix is `[outputDimension, inputDimension · (2·context + 1)]`, row-major; spliced frame
/// t is `[x_{t−c}, …, x_t, …, x_{t+c}]`.
public struct SpliceTransform: Codable, Sendable, Equatable {
    /// Frames spliced on each side.
    public var context: Int
    /// Dimensions of each frame before splicing.
    public var inputDimension: Int
    /// Rows of the matrix: the dimensions of the output.
    public var outputDimension: Int
    /// `[outputDimension, splicedDimension]`, row-major.
    public var matrix: [Float]

    public init(context: Int, inputDimension: Int, outputDimension: Int, matrix: [Float]) {
        self.context = context
        self.inputDimension = inputDimension
        self.outputDimension = outputDimension
        self.matrix = matrix
    }

    /// Dimensions of a spliced frame.
    public var splicedDimension: Int { inputDimension * (2 * context + 1) }

    /// The frames of `input` spliced with their neighbours, `[frames, splicedDimension]`.
    public static func splice(_ input: FeatureMatrix, context: Int) -> FeatureMatrix {
        let T = input.frames, D = input.dimension, width = D * (2 * context + 1)
        var output = FeatureMatrix(frames: T, dimension: width)
        guard T > 0 else { return output }
        input.values.withUnsafeBufferPointer { x in
            output.values.withUnsafeMutableBufferPointer { y in
                for t in 0..<T {
                    for (k, offset) in (-context...context).enumerated() {
                        let source = min(max(t + offset, 0), T - 1) * D
                        let target = t * width + k * D
                        for d in 0..<D { y[target + d] = x[source + d] }
                    }
                }
            }
        }
        return output
    }

    /// `input` spliced and projected: `[frames, outputDimension]`.
    public func apply(_ input: FeatureMatrix) -> FeatureMatrix {
        precondition(input.dimension == inputDimension, "SpliceTransform: frames of \(input.dimension) dimensions, expected \(inputDimension)")
        let spliced = Self.splice(input, context: context)
        let T = input.frames, S = splicedDimension, K = outputDimension
        var output = FeatureMatrix(frames: T, dimension: K)
        spliced.values.withUnsafeBufferPointer { x in
            matrix.withUnsafeBufferPointer { m in
                output.values.withUnsafeMutableBufferPointer { y in
                    for t in 0..<T {
                        let row = x.baseAddress! + t * S
                        for k in 0..<K {
                            let weights = m.baseAddress! + k * S
                            var sum: Float = 0
                            for j in 0..<S { sum += weights[j] * row[j] }
                            y[t * K + k] = sum
                        }
                    }
                }
            }
        }
        return output
    }

    /// Checks the sizes against each other and the frames fed in (`inputDimension` must be
    /// what the front end computes before this step) and that every value is finite.
    public func validate(expectedInput: Int) throws {
        guard (0...10).contains(context) else {
            throw FeatureConfigurationError("the splice transform's context must be between 0 and 10 frames, not \(context)")
        }
        guard inputDimension == expectedInput else {
            throw FeatureConfigurationError("the splice transform takes frames of \(inputDimension) dimensions, but the features before it have \(expectedInput)")
        }
        guard outputDimension >= 1, outputDimension <= splicedDimension else {
            throw FeatureConfigurationError("the splice transform's output dimension must be between 1 and \(splicedDimension), not \(outputDimension)")
        }
        guard matrix.count == outputDimension * splicedDimension else {
            throw FeatureConfigurationError("the splice transform's matrix has \(matrix.count) values; \(outputDimension) × \(splicedDimension) = \(outputDimension * splicedDimension) expected")
        }
        guard matrix.allSatisfy(\.isFinite) else { throw FeatureConfigurationError("the splice transform's matrix has a value that is not finite") }
    }
}
