import TensorCore

/// A loss that is NaN or infinite: training stops here instead of spreading it into the weights.
public struct NonFiniteLossError: Error, CustomStringConvertible, Sendable {
    public var step: Int
    public var value: Double
    public init(step: Int, value: Double) {
        self.step = step
        self.value = value
    }
    public var description: String { "loss is \(value) at step \(step): training diverged (lower the learning rate or clip gradients)" }
}

/// One training step: computes the loss, checks it is finite, back-propagates, clips the
/// gradient norm (when `maxGradientNorm` is set), updates, and clears the gradients.
/// Returns the loss. Nothing is updated when the loss or the gradients are not finite.
@inlinable
@discardableResult
public func trainingStep<O: Optimizer>(step: Int, optimizer: O, maxGradientNorm: O.Scalar? = nil,
                                       loss computeLoss: () -> Tensor<O.Scalar>) throws -> O.Scalar {
    optimizer.zeroGradients()
    let loss = computeLoss()
    guard loss.item.isFinite else { throw NonFiniteLossError(step: step, value: Double(loss.item)) }
    loss.backward()
    let norm = clipGradientNorm(optimizer.parameters, maxNorm: maxGradientNorm ?? .infinity)
    guard norm.isFinite else {
        optimizer.zeroGradients()
        throw NonFiniteLossError(step: step, value: Double(norm))
    }
    optimizer.step()
    optimizer.zeroGradients()
    return loss.item
}
