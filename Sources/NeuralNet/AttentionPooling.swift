import SpeechBase
import TensorCore

/// Attention pooling over time: a learned query scores every frame, a softmax over each
/// sequence's frames (padding masked out) weights them, and their weighted sum is the
/// utterance's vector.
///
///     score[b, t] = x[b, t] · query / √H      α[b] = softmax_t(score[b])      y[b] = Σ_t α[b, t] x[b, t]
///
/// Shapes: x `[B, T, H]` with lengths `[B]` → y `[B, H]`; `query` `[H]`.
public final class AttentionPooling<Scalar: TensorScalar>: Layer {
    public let query: Tensor<Scalar>
    public var isTraining = true

    public init(features: Int, generator: inout SeededGenerator) {
        let bound = 1 / Scalar(features).squareRoot()
        query = .uniform([features], low: -bound, high: bound, generator: &generator, requiresGrad: true)
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { [("query", query)] }

    /// The pooled vectors and the attention weights `[B, T]`.
    @inlinable
    public func callAsFunction(_ x: Tensor<Scalar>, lengths: [Int]) -> (pooled: Tensor<Scalar>, weights: Tensor<Scalar>) {
        let B = x.shape[0], T = x.shape[1], H = x.shape[2]
        precondition(x.rank == 3 && H == query.count, "AttentionPooling: input \(x.shape) is not [B, T, \(query.count)]")
        precondition(lengths.count == B && lengths.allSatisfy { $0 >= 1 && $0 <= T }, "AttentionPooling: lengths must be in 1...\(T)")
        let scores = x.reshaped([B * T, H]).matmul(query.reshaped([H, 1])).reshaped([B, T]) / Scalar(H).squareRoot()
        var padding = [Bool](repeating: false, count: B * T)
        for b in 0..<B { for t in lengths[b]..<T { padding[b * T + t] = true } }
        let weights = scores.maskedFill(padding, shape: [B, T], value: -.infinity).softmax(axis: 1)
        let pooled = weights.reshaped([B, 1, T]).matmul(x).reshaped([B, H])
        return (pooled, weights)
    }
}

/// Mean of each sequence's frames: x `[B, T, H]` → `[B, H]`, padding excluded.
@inlinable
public func meanPooling<Scalar: TensorScalar>(_ x: Tensor<Scalar>, lengths: [Int]) -> Tensor<Scalar> {
    let B = x.shape[0], T = x.shape[1], H = x.shape[2]
    var weights = [Scalar](repeating: 0, count: B * T)
    for b in 0..<B { for t in 0..<lengths[b] { weights[b * T + t] = 1 / Scalar(lengths[b]) } }
    return Tensor(shape: [B, 1, T], values: weights).matmul(x).reshaped([B, H])
}

/// Each sequence's frame at its last step: x `[B, T, H]` → `[B, H]`.
@inlinable
public func lastStep<Scalar: TensorScalar>(_ x: Tensor<Scalar>, lengths: [Int]) -> Tensor<Scalar> {
    let B = x.shape[0], T = x.shape[1], H = x.shape[2]
    return x.reshaped([B * T, H]).indexSelect(axis: 0, (0..<B).map { $0 * T + lengths[$0] - 1 })
}
