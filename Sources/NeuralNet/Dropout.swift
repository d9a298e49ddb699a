import SpeechBase
import TensorCore

/// Inverted dropout: in training, each value is zeroed with probability `p` and the rest are
/// scaled by 1/(1−p), so that evaluation needs no scaling (PyTorch's `nn.Dropout`).
public final class Dropout<Scalar: TensorScalar>: Layer {
    public let probability: Scalar
    public var isTraining = true
    public var generator: SeededGenerator

    public init(probability: Scalar, seed: UInt64 = 0) {
        precondition(probability >= 0 && probability < 1, "Dropout: probability must be in [0, 1), not \(probability)")
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { [] }

    @inlinable
    public func callAsFunction(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        guard isTraining && probability > 0 else { return x }
        return x * dropoutMask(shape: x.shape, probability: probability, generator: &generator)
    }
}

/// A mask of 0 and 1/(1−p), each zero with probability `p`.
@inlinable
public func dropoutMask<Scalar: TensorScalar>(shape: [Int], probability: Scalar, generator: inout SeededGenerator) -> Tensor<Scalar> {
    let keep = 1 / (1 - probability)
    let p = Double(probability)
    let n = shape.reduce(1, *)
    var values = [Scalar](repeating: 0, count: n)
    for i in 0..<n where generator.nextUnit() >= p { values[i] = keep }
    return Tensor(shape: shape, values: values)
}

/// DropConnect: dropout on the entries of a weight matrix (one mask per forward call), as
/// used on an LSTM's recurrent weights (AWD-LSTM's weight drop). Returns `weight ⊙ mask`,
/// through which gradients reach the weight.
@inlinable
public func dropConnect<Scalar: TensorScalar>(_ weight: Tensor<Scalar>, probability: Scalar, generator: inout SeededGenerator) -> Tensor<Scalar> {
    guard probability > 0 else { return weight }
    return weight * dropoutMask(shape: weight.shape, probability: probability, generator: &generator)
}
