import TensorCore

/// Batch normalization over the feature dimension of `[N, C]` inputs (PyTorch's
/// `nn.BatchNorm1d` on 2-D input): in training, `y = (x − mean_N) / √(var_N + ε) · weight + bias`
/// with the batch's biased variance, and running statistics updated with momentum (unbiased
/// variance, as PyTorch); in evaluation, the running statistics are used.
public final class BatchNorm1d<Scalar: TensorScalar>: Layer {
    public let weight: Tensor<Scalar>
    public let bias: Tensor<Scalar>
    public let runningMean: Tensor<Scalar>
    public let runningVariance: Tensor<Scalar>
    public let batchesTracked: Tensor<Scalar>
    public let epsilon: Scalar
    public let momentum: Scalar
    public var isTraining = true

    public init(features: Int, epsilon: Scalar = 1e-5, momentum: Scalar = 0.1) {
        weight = .ones([features], requiresGrad: true)
        bias = .zeros([features], requiresGrad: true)
        runningMean = .zeros([features])
        runningVariance = .ones([features])
        batchesTracked = .zeros([])
        self.epsilon = epsilon
        self.momentum = momentum
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { [("weight", weight), ("bias", bias)] }
    public var buffers: [(name: String, tensor: Tensor<Scalar>)] {
        [("running_mean", runningMean), ("running_var", runningVariance), ("num_batches_tracked", batchesTracked)]
    }

    @inlinable
    public func callAsFunction(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(x.rank == 2 && x.shape[1] == weight.count, "BatchNorm1d: input \(x.shape) is not [N, \(weight.count)]")
        if isTraining {
            let n = x.shape[0]
            precondition(n > 1, "BatchNorm1d: training needs more than one value per feature, got input \(x.shape)")
            let mean = x.mean(axis: 0)
            let centered = x - mean
            let variance = centered.squared().mean(axis: 0)
            GradMode.withoutGradients {
                for c in 0..<weight.count {
                    runningMean.values[c] = (1 - momentum) * runningMean.values[c] + momentum * mean.values[c]
                    let unbiased = variance.values[c] * Scalar(n) / Scalar(n - 1)
                    runningVariance.values[c] = (1 - momentum) * runningVariance.values[c] + momentum * unbiased
                }
                batchesTracked.values[0] += 1
            }
            return centered / (variance + epsilon).sqrt() * weight + bias
        }
        return (x - runningMean) / (runningVariance + epsilon).sqrt() * weight + bias
    }
}

/// Layer normalization over the last dimension (PyTorch's `nn.LayerNorm(features)`):
/// `y = (x − mean) / √(var + ε) · weight + bias`, statistics per position.
public final class LayerNorm<Scalar: TensorScalar>: Layer {
    public let weight: Tensor<Scalar>
    public let bias: Tensor<Scalar>
    public let epsilon: Scalar
    public var isTraining = true

    public init(features: Int, epsilon: Scalar = 1e-5) {
        weight = .ones([features], requiresGrad: true)
        bias = .zeros([features], requiresGrad: true)
        self.epsilon = epsilon
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { [("weight", weight), ("bias", bias)] }

    @inlinable
    public func callAsFunction(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
        precondition(x.shape.last == weight.count, "LayerNorm: input \(x.shape) does not end with \(weight.count)")
        let centered = x - x.mean(axis: -1, keepingDimension: true)
        let variance = centered.squared().mean(axis: -1, keepingDimension: true)
        return centered / (variance + epsilon).sqrt() * weight + bias
    }
}
