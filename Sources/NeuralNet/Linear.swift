import SpeechBase
import TensorCore

/// `y = x Wᵀ + b` over the last dimension (PyTorch's `nn.Linear`).
///
/// Shapes: x `[*, in]` → y `[*, out]`; `weight` `[out, in]`, `bias` `[out]`. Initialized as
/// PyTorch does: U(−1/√in, 1/√in) for both.
public final class Linear<Scalar: TensorScalar>: Layer {
    public let weight: Tensor<Scalar>
    public let bias: Tensor<Scalar>?
    public var isTraining = true

    public init(inputSize: Int, outputSize: Int, bias: Bool = true, generator: inout SeededGenerator) {
        let bound = 1 / Scalar(inputSize).squareRoot()
        weight = .uniform([outputSize, inputSize], low: -bound, high: bound, generator: &generator, requiresGrad: true)
        self.bias = bias ? .uniform([outputSize], low: -bound, high: bound, generator: &generator, requiresGrad: true) : nil
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public var inputSize: Int { weight.shape[1] }
    public var outputSize: Int { weight.shape[0] }

    @inlinable
    public func callAsFunction(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        let y = x.matmul(weight, transposeB: true)
        return bias.map { y + $0 } ?? y
    }
}
