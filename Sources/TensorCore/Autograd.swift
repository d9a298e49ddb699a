import Foundation

/// How an operation's result sends its gradient back: its inputs, and a function from the
/// gradient of the result to the gradients of the inputs (`nil` for inputs that need none).
///
/// Gradients travel as plain value arrays shaped like the tensor they belong to; a fused
/// operation (an LSTM layer over a whole sequence, say) is one node with one backward.
@usableFromInline
final class GradFunction<Scalar: TensorScalar> {
    @usableFromInline let name: String
    @usableFromInline let inputs: [Tensor<Scalar>]
    @usableFromInline let backward: ([Scalar]) -> [[Scalar]?]

    @inlinable
    init(name: String, inputs: [Tensor<Scalar>], backward: @escaping ([Scalar]) -> [[Scalar]?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

/// Releases graphs without recursion: freeing the last tensor of a long chain would otherwise
/// free its inputs from inside its own deinit, and theirs from inside theirs, until the stack
/// overflows (a 20,000-step recurrence is a 20,000-deep chain). A tensor being freed hands its
/// graph node to this per-thread queue, which the outermost release drains in a loop.
@usableFromInline
final class GraphReleaseQueue {
    private var pending: [AnyObject] = []
    private var draining = false

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<GraphReleaseQueue>.fromOpaque(pointer).release() }
        }
        return key
    }()

    private static var current: GraphReleaseQueue {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<GraphReleaseQueue>.fromOpaque(existing).takeUnretainedValue()
        }
        let queue = GraphReleaseQueue()
        pthread_setspecific(key, Unmanaged.passRetained(queue).toOpaque())
        return queue
    }

    /// Takes the node out of `slot` (leaving no other reference here) and frees it, and what it
    /// frees in turn, iteratively.
    @usableFromInline
    static func release<Node: AnyObject>(_ slot: inout Node?) {
        guard slot != nil else { return }
        let queue = current
        queue.pending.append(slot.take()!)  // no local: the queue must hold the last reference
        guard !queue.draining else { return }
        queue.draining = true
        while !queue.pending.isEmpty {
            _ = queue.pending.removeLast()  // may free tensors, which append their nodes
        }
        queue.draining = false
    }
}

/// Whether operations record the graph for gradients. Per thread, so that an inference
/// thread and a training thread do not disturb each other.
public enum GradMode {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Whether gradients are recorded on this thread.
    public static var isEnabled: Bool {
        pthread_getspecific(key) == nil
    }

    /// Runs `body` without recording gradients (inference, optimizer updates), then restores
    /// the previous mode.
    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, previous) }
        return try body()
    }
}

extension Tensor {
    /// The result of an operation, for defining fused operations outside this module (as
    /// `torch.autograd.Function`): `backward` maps the gradient of the result (shaped like it)
    /// to the gradients of `inputs` (one array each, shaped like that input, or nil), and is
    /// attached when an input needs gradients and gradients are on.
    @inlinable
    public static func operation(shape: [Int], values: [Scalar], name: String, inputs: [Tensor],
                       backward: @escaping ([Scalar]) -> [[Scalar]?]) -> Tensor {
        let output = Tensor(shape: shape, values: values)
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            output.requiresGrad = true
            output.gradFunction = GradFunction(name: name, inputs: inputs, backward: backward)
        }
        return output
    }

    /// Computes the gradient of this tensor with respect to every leaf that requires one, and
    /// adds it to that leaf's ``grad``. `gradient` is the gradient of some scalar with respect to
    /// this tensor; it defaults to 1 for a one-element tensor (a loss).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(_ gradient: [Scalar]? = nil) {
        precondition(requiresGrad, "backward: the tensor does not require gradients")
        let seed = gradient ?? {
            precondition(count == 1, "backward: give the gradient for a tensor of shape \(shape)")
            return [1]
        }()
        precondition(seed.count == count, "backward: gradient of \(seed.count) values for shape \(shape)")

        // Reverse topological order of the graph's nodes (iterative DFS: graphs can be deep).
        var order: [Tensor] = []
        var visited: Set<ObjectIdentifier> = []
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded {
                order.append(tensor)
                continue
            }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.gradFunction?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        var grads: [ObjectIdentifier: [Scalar]] = [ObjectIdentifier(self): seed]
        for tensor in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(tensor)) else { continue }
            guard let function = tensor.gradFunction else {
                // A leaf: accumulate.
                if let existing = tensor.grad {
                    existing.values.withUnsafeMutableBufferPointer { e in
                        for i in e.indices { e[i] += g[i] }
                    }
                } else {
                    tensor.grad = Tensor(shape: tensor.shape, values: g)
                }
                continue
            }
            let inputGrads = function.backward(g)
            for (input, inputGrad) in zip(function.inputs, inputGrads) {
                guard input.requiresGrad, let inputGrad else { continue }
                let key = ObjectIdentifier(input)
                if var existing = grads.removeValue(forKey: key) {
                    existing.withUnsafeMutableBufferPointer { e in
                        for i in e.indices { e[i] += inputGrad[i] }
                    }
                    grads[key] = existing
                } else {
                    grads[key] = inputGrad
                }
            }
        }
    }
}
