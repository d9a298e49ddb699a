import SpeechBase
/// An n-dimensional array of `Scalar`, row-major and contiguous, that records the operations
/// made on it for reverse-mode automatic differentiation (as PyTorch's `torch.Tensor`).
///
/// A tensor is a reference: parameters are updated in place by optimizers, and the graph of
/// an expression holds its inputs. Operations make new tensors. When any input requires a
/// gradient (and gradients are enabled, see ``GradMode``), the result remembers how to send
/// its gradient back to its inputs; ``backward(_:)`` does so for the whole graph and adds the
/// gradients of leaf tensors that require them into their ``grad``.
public final class Tensor<Scalar: TensorScalar> {
    /// The size of each dimension.
    public let shape: [Int]
    /// The values, row-major.
    public var values: [Scalar]
    /// Whether gradients flow to (and accumulate in) this tensor.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf tensor after ``backward(_:)``; `nil` before.
    public var grad: Tensor?
    /// How this tensor was computed, when it needs gradients; `nil` for leaves.
    @usableFromInline var gradFunction: GradFunction<Scalar>?

    /// A tensor of `shape` holding `values` (row-major; their count must match the shape).
    @inlinable
    public init(shape: [Int], values: [Scalar], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(values.count == shape.reduce(1, *), "Tensor: \(values.count) values for shape \(shape)")
        self.shape = shape
        self.values = values
        self.requiresGrad = requiresGrad
    }

    deinit {
        GraphReleaseQueue.release(&gradFunction)
    }

    /// Number of values.
    @inlinable public var count: Int { values.count }
    /// Number of dimensions.
    @inlinable public var rank: Int { shape.count }
    /// Whether this tensor is a leaf of the graph (made by the user, not by an operation).
    @inlinable public var isLeaf: Bool { gradFunction == nil }

    /// The single value of a one-element tensor.
    @inlinable public var item: Scalar {
        precondition(count == 1, "item: tensor of shape \(shape) has \(count) values")
        return values[0]
    }

    /// The value at a full index.
    @inlinable
    public subscript(index: Int...) -> Scalar {
        precondition(index.count == rank, "subscript: \(index.count) indices for shape \(shape)")
        var offset = 0
        for (i, n) in zip(index, shape) {
            precondition(i >= 0 && i < n, "subscript: index \(index) out of range for shape \(shape)")
            offset = offset * n + i
        }
        return values[offset]
    }

    /// A tensor with the same values that is a new leaf (no graph, no gradient).
    @inlinable
    public func detached() -> Tensor {
        Tensor(shape: shape, values: values)
    }

    /// Clears the accumulated gradient.
    @inlinable
    public func zeroGrad() {
        grad = nil
    }

    /// Whether every value is finite (no NaN, no infinity).
    @inlinable
    public var isFinite: Bool { values.allSatisfy { $0.isFinite } }

    /// The same values in another scalar type (a new leaf).
    @inlinable
    public func converted<Other: TensorScalar>(to: Other.Type = Other.self) -> Tensor<Other> {
        Tensor<Other>(shape: shape, values: values.map { Other($0) }, requiresGrad: requiresGrad)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = values.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)(\(shown)\(count > 8 ? ", ..." : ""))"
    }
}

// MARK: - Creation

extension Tensor {
    /// A tensor of `shape` filled with `value`.
    @inlinable
    public static func full(_ shape: [Int], _ value: Scalar, requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, values: [Scalar](repeating: value, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// Zeros of `shape`.
    @inlinable
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 0, requiresGrad: requiresGrad)
    }

    /// Ones of `shape`.
    @inlinable
    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, 1, requiresGrad: requiresGrad)
    }

    /// A scalar (rank-0) tensor.
    @inlinable
    public convenience init(_ value: Scalar, requiresGrad: Bool = false) {
        self.init(shape: [], values: [value], requiresGrad: requiresGrad)
    }

    /// A 1-D tensor of `values`.
    @inlinable
    public convenience init(_ values: [Scalar], requiresGrad: Bool = false) {
        self.init(shape: [values.count], values: values, requiresGrad: requiresGrad)
    }

    /// A 2-D tensor from rows of equal length.
    @inlinable
    public convenience init(rows: [[Scalar]], requiresGrad: Bool = false) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows:): rows of different lengths")
        self.init(shape: [rows.count, columns], values: rows.flatMap { $0 }, requiresGrad: requiresGrad)
    }

    /// Values drawn from the normal distribution N(`mean`, `std`²).
    @inlinable
    public static func normal(_ shape: [Int], mean: Scalar = 0, std: Scalar = 1, generator: inout SeededGenerator,
                              requiresGrad: Bool = false) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Scalar]()
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(mean + std * Scalar(generator.nextGaussian())) }
        return Tensor(shape: shape, values: values, requiresGrad: requiresGrad)
    }

    /// Values drawn uniformly from [`low`, `high`).
    @inlinable
    public static func uniform(_ shape: [Int], low: Scalar, high: Scalar, generator: inout SeededGenerator,
                               requiresGrad: Bool = false) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Scalar]()
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(low + (high - low) * Scalar(generator.nextUnit())) }
        return Tensor(shape: shape, values: values, requiresGrad: requiresGrad)
    }
}
