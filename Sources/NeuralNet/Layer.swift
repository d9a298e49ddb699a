import TensorCore

/// A model part with named parameters, as PyTorch's `nn.Module`: `parameters` lists the
/// trainable tensors under PyTorch's names (`weight`, `bias`, `weight_ih_l0`, ...), `buffers`
/// the saved non-trainable state (`running_mean`, ...). Containers prefix their children's
/// names (`lstm.weight_ih_l0`), so that a state dictionary loads into PyTorch and back.
public protocol Layer: AnyObject, SendableMetatype {
    associatedtype Scalar: TensorScalar
    /// Trainable tensors by name.
    var parameters: [(name: String, tensor: Tensor<Scalar>)] { get }
    /// Saved non-trainable tensors by name (none by default).
    var buffers: [(name: String, tensor: Tensor<Scalar>)] { get }
    /// Training mode (dropout active, batch statistics) or evaluation mode.
    var isTraining: Bool { get set }
}

/// A state dictionary did not fit a model; the description names the tensor.
public struct StateDictionaryError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Layer {
    public var buffers: [(name: String, tensor: Tensor<Scalar>)] { [] }

    /// Parameters and buffers by name (PyTorch's `state_dict`).
    public func stateDictionary() -> [String: Tensor<Scalar>] {
        var dictionary: [String: Tensor<Scalar>] = [:]
        for (name, tensor) in parameters + buffers { dictionary[name] = tensor }
        return dictionary
    }

    /// Copies values from `dictionary` into this layer's tensors (PyTorch's `load_state_dict`).
    /// With `strict`, a missing or unexpected name is an error; a shape mismatch always is.
    public func loadStateDictionary(_ dictionary: [String: Tensor<Scalar>], strict: Bool = true) throws {
        let own = parameters + buffers
        let names = Set(own.map(\.name))
        if strict, let unexpected = dictionary.keys.sorted().first(where: { !names.contains($0) }) {
            throw StateDictionaryError("unexpected tensor '\(unexpected)': the model has no such parameter")
        }
        for (name, tensor) in own {
            guard let source = dictionary[name] else {
                if strict { throw StateDictionaryError("missing tensor '\(name)' (shape \(tensor.shape))") }
                continue
            }
            guard source.shape == tensor.shape else {
                throw StateDictionaryError("tensor '\(name)' has shape \(source.shape), the model needs \(tensor.shape)")
            }
            tensor.values = source.values
        }
    }

    /// Stops gradients for every parameter whose name starts with one of `prefixes` (and
    /// resumes them for the others when `exclusively`).
    public func freeze(_ prefixes: [String], exclusively: Bool = false) {
        for (name, tensor) in parameters {
            let match = prefixes.contains { name == $0 || name.hasPrefix($0 + ".") || name.hasPrefix($0) }
            if match { tensor.requiresGrad = false } else if exclusively { tensor.requiresGrad = true }
        }
    }

    /// The tensors optimizers update: parameters that require gradients.
    public var trainableParameters: [Tensor<Scalar>] { parameters.map(\.tensor).filter(\.requiresGrad) }

    /// Number of parameter values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.tensor.count } }

    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for (_, tensor) in parameters { tensor.zeroGrad() }
    }
}

/// `prefix.name` for each of `named`.
public func prefixed<Scalar>(_ prefix: String, _ named: [(name: String, tensor: Tensor<Scalar>)]) -> [(name: String, tensor: Tensor<Scalar>)] {
    named.map { (prefix + "." + $0.name, $0.tensor) }
}
