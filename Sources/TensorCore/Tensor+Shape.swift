/// Shape operations. Every result is contiguous (values are copied where the order changes).
extension Tensor {
    /// The same values in another shape of the same size; one dimension may be -1 (inferred).
    @inlinable
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let unknown = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != unknown }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshaped: cannot infer -1 in \(newShape) for \(count) values")
            target[unknown] = count / known
        }
        precondition(target.reduce(1, *) == count && target.allSatisfy { $0 >= 0 },
                     "reshaped: shape \(newShape) does not hold the \(count) values of shape \(shape)")
        return Tensor.operation(shape: target, values: values, name: "reshape", inputs: [self]) { g in [g] }
    }

    /// Swaps two dimensions (by default the last two: a matrix transpose).
    @inlinable
    public func transposed(_ first: Int = -2, _ second: Int = -1) -> Tensor {
        let a = first < 0 ? first + rank : first, b = second < 0 ? second + rank : second
        precondition(a >= 0 && a < rank && b >= 0 && b < rank, "transposed: axes \(first), \(second) out of range for \(shape)")
        if a == b { return self }
        var permutation = Array(0..<rank)
        permutation.swapAt(a, b)
        return permuted(permutation)
    }

    /// Reorders the dimensions: result dimension i is input dimension `permutation[i]`.
    @inlinable
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "permuted: \(permutation) is not a permutation of \(rank) axes")
        let newShape = permutation.map { shape[$0] }
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        let sourceStrides = permutation.map { strides[$0] }
        // For every output position, the input offset (computed once, reused by backward).
        var map = [Int](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: rank)
        for out in 0..<count {
            var offset = 0
            for d in 0..<rank { offset += index[d] * sourceStrides[d] }
            map[out] = offset
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                if index[d] < newShape[d] { break }
                index[d] = 0
                d -= 1
            }
        }
        let out = map.map { values[$0] }
        let n = count
        return Tensor.operation(shape: newShape, values: out, name: "permute", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: n)
            for i in 0..<n { gx[map[i]] = g[i] }
            return [gx]
        }
    }

    /// The entries `range` along `axis`.
    @inlinable
    public func slice(axis: Int, _ range: Range<Int>) -> Tensor {
        let (a, outer, n, inner) = axisSplit(axis, op: "slice")
        precondition(range.lowerBound >= 0 && range.upperBound <= n, "slice: range \(range) out of bounds for axis \(axis) of \(shape)")
        var newShape = shape
        newShape[a] = range.count
        var out = [Scalar]()
        out.reserveCapacity(outer * range.count * inner)
        for o in 0..<outer {
            out.append(contentsOf: values[((o * n + range.lowerBound) * inner)..<((o * n + range.upperBound) * inner)])
        }
        let total = count
        return Tensor.operation(shape: newShape, values: out, name: "slice", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: total)
            let width = range.count * inner
            for o in 0..<outer {
                let start = (o * n + range.lowerBound) * inner
                for i in 0..<width { gx[start + i] = g[o * width + i] }
            }
            return [gx]
        }
    }

    /// Joins tensors along `axis`; their other dimensions must agree.
    @inlinable
    public static func concatenate(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concatenate: no tensors")
        let first = tensors[0]
        let (a, outer, _, inner) = first.axisSplit(axis, op: "concatenate")
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == a || $0.element == first.shape[$0.offset] },
                         "concatenate: shapes \(first.shape) and \(t.shape) differ outside axis \(axis)")
        }
        let widths = tensors.map { $0.shape[a] * inner }
        let rowWidth = widths.reduce(0, +)
        var newShape = first.shape
        newShape[a] = tensors.map { $0.shape[a] }.reduce(0, +)
        var out = [Scalar]()
        out.reserveCapacity(outer * rowWidth)
        for o in 0..<outer {
            for (t, w) in zip(tensors, widths) { out.append(contentsOf: t.values[(o * w)..<((o + 1) * w)]) }
        }
        return operation(shape: newShape, values: out, name: "concatenate", inputs: tensors) { g in
            var offset = 0
            return zip(tensors, widths).map { t, w in
                defer { offset += w }
                guard t.requiresGrad else { return nil }
                var gt = [Scalar](repeating: 0, count: outer * w)
                for o in 0..<outer {
                    for i in 0..<w { gt[o * w + i] = g[o * rowWidth + offset + i] }
                }
                return gt
            }
        }
    }

    /// Stacks equally shaped tensors along a new dimension at `axis`.
    @inlinable
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "stack: no tensors")
        let shape = tensors[0].shape
        precondition(tensors.allSatisfy { $0.shape == shape }, "stack: tensors of different shapes")
        let a = axis < 0 ? axis + shape.count + 1 : axis
        precondition(a >= 0 && a <= shape.count, "stack: axis \(axis) out of range")
        var expanded = shape
        expanded.insert(1, at: a)
        return concatenate(tensors.map { $0.reshaped(expanded) }, axis: a)
    }

    /// The entries `indices` along `axis`, in that order (PyTorch's `index_select`); indices
    /// may repeat, and their gradients add up.
    @inlinable
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let (a, outer, n, inner) = axisSplit(axis, op: "indexSelect")
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "indexSelect: an index is out of range 0..<\(n) for axis \(axis) of \(shape)")
        var newShape = shape
        newShape[a] = indices.count
        var out = [Scalar]()
        out.reserveCapacity(outer * indices.count * inner)
        for o in 0..<outer {
            for j in indices { out.append(contentsOf: values[((o * n + j) * inner)..<((o * n + j + 1) * inner)]) }
        }
        let total = count
        return Tensor.operation(shape: newShape, values: out, name: "indexSelect", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: total)
            var k = 0
            for o in 0..<outer {
                for j in indices {
                    for i in 0..<inner { gx[(o * n + j) * inner + i] += g[k]; k += 1 }
                }
            }
            return [gx]
        }
    }
}
