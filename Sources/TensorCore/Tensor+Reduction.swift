/// Reductions and normalizations along one axis. A tensor of shape `[..outer.., n, ..inner..]`
/// is seen as `outer × n × inner`; the axis may be negative (counted from the end).
extension Tensor {
    @inlinable
    func axisSplit(_ axis: Int, op: String) -> (axis: Int, outer: Int, n: Int, inner: Int) {
        let a = axis < 0 ? axis + rank : axis
        precondition(a >= 0 && a < rank, "\(op): axis \(axis) is out of range for shape \(shape)")
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        return (a, outer, shape[a], inner)
    }

    @inlinable
    func reducedShape(_ axis: Int, keepingDimension: Bool) -> [Int] {
        var s = shape
        if keepingDimension { s[axis] = 1 } else { s.remove(at: axis) }
        return s
    }

    /// The sum of all values (a scalar tensor).
    @inlinable
    public func sum() -> Tensor {
        let n = count
        return Tensor.operation(shape: [], values: [values.reduce(0, +)], name: "sum", inputs: [self]) { g in
            [[Scalar](repeating: g[0], count: n)]
        }
    }

    /// The mean of all values (a scalar tensor).
    @inlinable
    public func mean() -> Tensor {
        sum() / Scalar(Swift.max(count, 1))
    }

    /// Sums along `axis`.
    @inlinable
    public func sum(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let (a, outer, n, inner) = axisSplit(axis, op: "sum")
        var out = [Scalar](repeating: 0, count: outer * inner)
        values.withUnsafeBufferPointer { x in
            for o in 0..<outer {
                for j in 0..<n {
                    let row = (o * n + j) * inner
                    for i in 0..<inner { out[o * inner + i] += x[row + i] }
                }
            }
        }
        let shapeIn = shape
        return Tensor.operation(shape: reducedShape(a, keepingDimension: keepingDimension), values: out, name: "sum(axis)", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: shapeIn.reduce(1, *))
            for o in 0..<outer {
                for j in 0..<n {
                    for i in 0..<inner { gx[(o * n + j) * inner + i] = g[o * inner + i] }
                }
            }
            return [gx]
        }
    }

    /// Means along `axis`.
    @inlinable
    public func mean(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let n = axisSplit(axis, op: "mean").n
        return sum(axis: axis, keepingDimension: keepingDimension) / Scalar(Swift.max(n, 1))
    }

    /// Maxima along `axis`; the gradient goes to the first maximum.
    @inlinable
    public func max(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let (a, outer, n, inner) = axisSplit(axis, op: "max")
        precondition(n > 0, "max: empty axis in shape \(shape)")
        var out = [Scalar](repeating: 0, count: outer * inner)
        var arg = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var best = values[o * n * inner + i], at = 0
                for j in 1..<Swift.max(n, 1) where values[(o * n + j) * inner + i] > best {
                    best = values[(o * n + j) * inner + i]
                    at = j
                }
                out[o * inner + i] = best
                arg[o * inner + i] = at
            }
        }
        let total = count
        return Tensor.operation(shape: reducedShape(a, keepingDimension: keepingDimension), values: out, name: "max(axis)", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: total)
            for o in 0..<outer {
                for i in 0..<inner { gx[(o * n + arg[o * inner + i]) * inner + i] = g[o * inner + i] }
            }
            return [gx]
        }
    }

    /// log Σ exp along `axis`, computed stably (max subtracted).
    @inlinable
    public func logSumExp(axis: Int, keepingDimension: Bool = false) -> Tensor {
        let (a, outer, n, inner) = axisSplit(axis, op: "logSumExp")
        var out = [Scalar](repeating: 0, count: outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var m = -Scalar.infinity
                for j in 0..<n { m = Swift.max(m, values[(o * n + j) * inner + i]) }
                var s: Scalar = 0
                if m.isFinite {
                    for j in 0..<n { s += Scalar.exp(values[(o * n + j) * inner + i] - m) }
                    out[o * inner + i] = m + Scalar.log(s)
                } else {
                    out[o * inner + i] = m
                }
            }
        }
        let x = values, y = out, total = count
        return Tensor.operation(shape: reducedShape(a, keepingDimension: keepingDimension), values: out, name: "logSumExp", inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: total)
            for o in 0..<outer {
                for i in 0..<inner where y[o * inner + i].isFinite {
                    for j in 0..<n {
                        let k = (o * n + j) * inner + i
                        gx[k] = g[o * inner + i] * Scalar.exp(x[k] - y[o * inner + i])
                    }
                }
            }
            return [gx]
        }
    }

    /// Softmax along `axis` (default: the last).
    @inlinable
    public func softmax(axis: Int = -1) -> Tensor {
        let (_, outer, n, inner) = axisSplit(axis, op: "softmax")
        var out = [Scalar](repeating: 0, count: count)
        for o in 0..<outer {
            for i in 0..<inner {
                var m = -Scalar.infinity
                for j in 0..<n { m = Swift.max(m, values[(o * n + j) * inner + i]) }
                var s: Scalar = 0
                for j in 0..<n {
                    let k = (o * n + j) * inner + i
                    out[k] = m.isFinite ? Scalar.exp(values[k] - m) : 0
                    s += out[k]
                }
                if s > 0 { for j in 0..<n { out[(o * n + j) * inner + i] /= s } }
            }
        }
        let y = out
        return Tensor.operation(shape: shape, values: out, name: "softmax", inputs: [self]) { g in
            // dx = y ⊙ (g − Σ g⊙y)
            var gx = [Scalar](repeating: 0, count: y.count)
            for o in 0..<outer {
                for i in 0..<inner {
                    var dot: Scalar = 0
                    for j in 0..<n { let k = (o * n + j) * inner + i; dot += g[k] * y[k] }
                    for j in 0..<n { let k = (o * n + j) * inner + i; gx[k] = y[k] * (g[k] - dot) }
                }
            }
            return [gx]
        }
    }

    /// Log-softmax along `axis` (default: the last), computed stably.
    @inlinable
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let (_, outer, n, inner) = axisSplit(axis, op: "logSoftmax")
        var out = [Scalar](repeating: 0, count: count)
        for o in 0..<outer {
            for i in 0..<inner {
                var m = -Scalar.infinity
                for j in 0..<n { m = Swift.max(m, values[(o * n + j) * inner + i]) }
                var s: Scalar = 0
                for j in 0..<n { s += Scalar.exp(values[(o * n + j) * inner + i] - m) }
                let lse = m + Scalar.log(s)
                for j in 0..<n { let k = (o * n + j) * inner + i; out[k] = values[k] - lse }
            }
        }
        let y = out
        return Tensor.operation(shape: shape, values: out, name: "logSoftmax", inputs: [self]) { g in
            // dx = g − softmax · Σ g
            var gx = [Scalar](repeating: 0, count: y.count)
            for o in 0..<outer {
                for i in 0..<inner {
                    var total: Scalar = 0
                    for j in 0..<n { total += g[(o * n + j) * inner + i] }
                    for j in 0..<n { let k = (o * n + j) * inner + i; gx[k] = g[k] - Scalar.exp(y[k]) * total }
                }
            }
            return [gx]
        }
    }
}
