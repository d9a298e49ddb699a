import CVectorKernels
import TensorCore

/// Updates parameters from their gradients (PyTorch's `torch.optim`). Parameters without a
/// gradient (frozen, or unused this step) are left alone.
public protocol Optimizer: AnyObject {
    associatedtype Scalar: TensorScalar
    /// The tensors updated.
    var parameters: [Tensor<Scalar>] { get }
    /// The current learning rate (schedules change it).
    var learningRate: Scalar { get set }
    /// One update from the accumulated gradients.
    func step()
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for p in parameters { p.zeroGrad() }
    }
}

/// Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay
/// (`torch.optim.SGD`, dampening 0):
/// `g ← ∇ + λθ;  v ← μv + g;  θ ← θ − lr·(nesterov ? g + μv : v)`.
public final class SGD<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Tensor<Scalar>]
    public var learningRate: Scalar
    public let momentum: Scalar
    public let nesterov: Bool
    public let weightDecay: Scalar
    private var velocity: [[Scalar]?]

    public init(parameters: [Tensor<Scalar>], learningRate: Scalar, momentum: Scalar = 0, nesterov: Bool = false, weightDecay: Scalar = 0) {
        precondition(!nesterov || momentum > 0, "SGD: Nesterov momentum needs momentum > 0")
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        velocity = Array(repeating: nil, count: parameters.count)
    }

    @_specialize(where Scalar == Float)
    public func step() {
        for (k, p) in parameters.enumerated() {
            guard let grad = p.grad?.values else { continue }
            var v = velocity[k] ?? []
            let first = v.isEmpty
            if momentum != 0 && first { v = [Scalar](repeating: 0, count: p.count) }
            p.values.withUnsafeMutableBufferPointer { theta in
                for i in 0..<theta.count {
                    var g = grad[i] + weightDecay * theta[i]
                    if momentum != 0 {
                        v[i] = first ? g : momentum * v[i] + g
                        g = nesterov ? g + momentum * v[i] : v[i]
                    }
                    theta[i] -= learningRate * g
                }
            }
            if momentum != 0 { velocity[k] = v }
        }
    }
}

/// Adam (`torch.optim.Adam`) and, with `decoupledWeightDecay`, AdamW (`torch.optim.AdamW`):
/// `m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  θ ← θ − lr·m̂/(√v̂ + ε)`, bias-corrected; Adam adds
/// λθ to g, AdamW multiplies θ by (1 − lr·λ) first.
public final class Adam<Scalar: TensorScalar>: Optimizer {
    public let parameters: [Tensor<Scalar>]
    public var learningRate: Scalar
    public let beta1: Scalar
    public let beta2: Scalar
    public let epsilon: Scalar
    public let weightDecay: Scalar
    public let decoupledWeightDecay: Bool
    /// Steps taken per parameter (a parameter without gradient does not count).
    public private(set) var steps: [Int]
    /// First moment estimates per parameter.
    public private(set) var firstMoments: [[Scalar]]
    /// Second moment estimates per parameter.
    public private(set) var secondMoments: [[Scalar]]

    public init(parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-3, beta1: Scalar = 0.9, beta2: Scalar = 0.999,
                epsilon: Scalar = 1e-8, weightDecay: Scalar = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        steps = Array(repeating: 0, count: parameters.count)
        firstMoments = parameters.map { [Scalar](repeating: 0, count: $0.count) }
        secondMoments = firstMoments
    }

    /// Restores the state saved from another run (for resuming): steps and moments per
    /// parameter, which must have the parameters' sizes.
    public func restore(steps: [Int], firstMoments: [[Scalar]], secondMoments: [[Scalar]]) throws {
        guard steps.count == parameters.count, firstMoments.count == parameters.count, secondMoments.count == parameters.count,
              zip(parameters, zip(firstMoments, secondMoments)).allSatisfy({ $0.count == $1.0.count && $0.count == $1.1.count }) else {
            throw StateDictionaryError("Adam: the saved state does not fit the parameters")
        }
        self.steps = steps
        self.firstMoments = firstMoments
        self.secondMoments = secondMoments
    }

    /// AdamW with PyTorch's default weight decay 0.01.
    public static func adamW(parameters: [Tensor<Scalar>], learningRate: Scalar = 1e-3, weightDecay: Scalar = 0.01) -> Adam {
        Adam(parameters: parameters, learningRate: learningRate, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    @_specialize(where Scalar == Float)
    public func step() {
        for (k, p) in parameters.enumerated() {
            guard let grad = p.grad?.values else { continue }
            steps[k] += 1
            let t = Scalar(steps[k])
            let correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t)
            let stepSize = learningRate / correction1
            let decay = decoupledWeightDecay ? 1 - learningRate * weightDecay : 1
            let l2 = decoupledWeightDecay ? 0 : weightDecay
            let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
            grad.withUnsafeBufferPointer { grad in
            p.values.withUnsafeMutableBufferPointer { theta in
                firstMoments[k].withUnsafeMutableBufferPointer { m in
                    secondMoments[k].withUnsafeMutableBufferPointer { v in
                        let (g0, t0, m0, v0) = (grad.baseAddress!, theta.baseAddress!, m.baseAddress!, v.baseAddress!)
                        if Scalar.self == Float.self {
                            // Swift leaves this loop scalar (it cannot know the arrays do not
                            // overlap): the C kernel is the same operations, vectorized.
                            func float(_ x: Scalar) -> Float { unsafeBitCast(x, to: Float.self) }
                            speechlab_adam_step_f32(theta.count, floats(t0), floats(g0), floats(m0), floats(v0),
                                                    float(decay), float(l2), float(beta1), float(beta2), float(correction2),
                                                    float(stepSize), float(epsilon))
                            return
                        }
                        for i in 0..<theta.count {
                            t0[i] *= decay
                            let g = g0[i] + l2 * t0[i]
                            m0[i] = beta1 * m0[i] + (1 - beta1) * g
                            v0[i] = beta2 * v0[i] + (1 - beta2) * g * g
                            t0[i] -= stepSize * m0[i] / ((v0[i] / correction2).squareRoot() + epsilon)
                        }
                    }
                }
            }}
        }
    }

    private func pow(_ base: Scalar, _ exponent: Scalar) -> Scalar {
        Scalar.exp(exponent * Scalar.log(base))
    }
}

/// Scales all gradients together so that their global L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@inlinable
@discardableResult
public func clipGradientNorm<Scalar: TensorScalar>(_ parameters: [Tensor<Scalar>], maxNorm: Scalar) -> Scalar {
    var sum: Scalar = 0
    for p in parameters {
        p.grad?.values.withUnsafeBufferPointer { g in
            if Scalar.self == Float.self, let base = g.baseAddress {
                // Eight partial sums in C, vectorized (one running sum in order cannot be).
                sum += unsafeBitCast(speechlab_sum_squares_f32(g.count, floats(base)), to: Scalar.self)
            } else {
                for v in g { sum += v * v }
            }
        }
    }
    let norm = sum.squareRoot()
    if norm > maxNorm {
        let scale = maxNorm / (norm + 1e-6)
        for p in parameters {
            p.grad?.values.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= scale } }
        }
    }
    return norm
}

/// Which build of the C vector loops (Adam's step, the gradient norm, the recurrent backward
/// steps) runs on this CPU.
public enum VectorKernels {
    public static var target: String { speechlab_vector_kernels_use_avx2() != 0 ? "AVX2" : "baseline (SSE2)" }
}
