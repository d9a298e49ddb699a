/// Elementwise operations. Binary operations broadcast as NumPy and PyTorch do: shapes are
/// aligned on the right, and each dimension must be equal or 1 in one operand (or missing);
/// the gradient of a broadcast operand is summed over the positions it was repeated to.
extension Tensor {
    /// The broadcast result shape, or a precondition failure naming the op and both shapes.
    @inlinable
    static func broadcastShape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        if a == b { return a }
        let rank = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            precondition(da == db || da == 1 || db == 1, "\(op): shapes \(a) and \(b) do not broadcast")
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// For each position of `outShape`, the offset of the value of a tensor of `shape` that
    /// broadcasts to it; `nil` when that is the position itself (same shape).
    @inlinable
    static func broadcastMap(_ shape: [Int], to outShape: [Int]) -> [Int]? {
        if shape == outShape { return nil }
        let n = outShape.reduce(1, *)
        let count = shape.reduce(1, *)
        if outShape.count >= shape.count && Array(outShape.suffix(shape.count)) == shape {
            return (0..<n).map { $0 % Swift.max(count, 1) }
        }
        let rank = outShape.count
        let padded = [Int](repeating: 1, count: rank - shape.count) + shape
        var strides = [Int](repeating: 0, count: rank)
        var step = 1
        for d in (0..<rank).reversed() {
            strides[d] = padded[d] == 1 ? 0 : step
            step *= padded[d]
        }
        var map = [Int](repeating: 0, count: n)
        var index = [Int](repeating: 0, count: rank)
        var offset = 0
        for i in 0..<n {
            map[i] = offset
            var d = rank - 1
            while d >= 0 {
                index[d] += 1
                offset += strides[d]
                if index[d] < outShape[d] { break }
                offset -= strides[d] * index[d]
                index[d] = 0
                d -= 1
            }
        }
        return map
    }

    /// `f(a, b)` elementwise with broadcasting; `da`, `db` give ∂f/∂a and ∂f/∂b at (a, b).
    @inlinable
    static func binary(_ a: Tensor, _ b: Tensor, op: String,
                       _ f: @escaping (Scalar, Scalar) -> Scalar,
                       da: @escaping (Scalar, Scalar) -> Scalar,
                       db: @escaping (Scalar, Scalar) -> Scalar) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape, op: op)
        let n = shape.reduce(1, *)
        let mapA = broadcastMap(a.shape, to: shape), mapB = broadcastMap(b.shape, to: shape)
        var out = [Scalar](repeating: 0, count: n)
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { o in
                    switch (mapA, mapB) {
                    case (nil, nil): for i in 0..<n { o[i] = f(x[i], y[i]) }
                    case (nil, let mb?): for i in 0..<n { o[i] = f(x[i], y[mb[i]]) }
                    case (let ma?, nil): for i in 0..<n { o[i] = f(x[ma[i]], y[i]) }
                    case (let ma?, let mb?): for i in 0..<n { o[i] = f(x[ma[i]], y[mb[i]]) }
                    }
                }
            }
        }
        let av = a.values, bv = b.values
        return operation(shape: shape, values: out, name: op, inputs: [a, b]) { g in
            var ga: [Scalar]? = nil, gb: [Scalar]? = nil
            if a.requiresGrad {
                var d = [Scalar](repeating: 0, count: av.count)
                for i in 0..<n {
                    let ia = mapA?[i] ?? i, ib = mapB?[i] ?? i
                    d[ia] += g[i] * da(av[ia], bv[ib])
                }
                ga = d
            }
            if b.requiresGrad {
                var d = [Scalar](repeating: 0, count: bv.count)
                for i in 0..<n {
                    let ia = mapA?[i] ?? i, ib = mapB?[i] ?? i
                    d[ib] += g[i] * db(av[ia], bv[ib])
                }
                gb = d
            }
            return [ga, gb]
        }
    }

    /// `f(x)` elementwise; `df(x, y)` gives f′ from the input `x` and output `y`.
    @inlinable
    func unary(_ op: String, _ f: (Scalar) -> Scalar, df: @escaping (Scalar, Scalar) -> Scalar) -> Tensor {
        var out = [Scalar](repeating: 0, count: count)
        values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { o in
                for i in 0..<x.count { o[i] = f(x[i]) }
            }
        }
        let x = values, y = out
        return Tensor.operation(shape: shape, values: out, name: op, inputs: [self]) { g in
            var gx = [Scalar](repeating: 0, count: g.count)
            for i in 0..<g.count { gx[i] = g[i] * df(x[i], y[i]) }
            return [gx]
        }
    }

    @inlinable public static func + (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, op: "add", { $0 + $1 }, da: { _, _ in 1 }, db: { _, _ in 1 })
    }

    @inlinable public static func - (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, op: "sub", { $0 - $1 }, da: { _, _ in 1 }, db: { _, _ in -1 })
    }

    @inlinable public static func * (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, op: "mul", { $0 * $1 }, da: { _, y in y }, db: { x, _ in x })
    }

    @inlinable public static func / (a: Tensor, b: Tensor) -> Tensor {
        binary(a, b, op: "div", { $0 / $1 }, da: { _, y in 1 / y }, db: { x, y in -x / (y * y) })
    }

    @inlinable public static func + (a: Tensor, s: Scalar) -> Tensor { a.unary("add-scalar", { $0 + s }, df: { _, _ in 1 }) }
    @inlinable public static func - (a: Tensor, s: Scalar) -> Tensor { a.unary("sub-scalar", { $0 - s }, df: { _, _ in 1 }) }
    @inlinable public static func * (a: Tensor, s: Scalar) -> Tensor { a.unary("mul-scalar", { $0 * s }, df: { _, _ in s }) }
    @inlinable public static func / (a: Tensor, s: Scalar) -> Tensor { a.unary("div-scalar", { $0 / s }, df: { _, _ in 1 / s }) }
    @inlinable public static prefix func - (a: Tensor) -> Tensor { a.unary("neg", { -$0 }, df: { _, _ in -1 }) }

    /// e^x.
    @inlinable public func exp() -> Tensor { unary("exp", Scalar.exp, df: { _, y in y }) }
    /// Natural logarithm.
    @inlinable public func log() -> Tensor { unary("log", Scalar.log, df: { x, _ in 1 / x }) }
    /// Logistic sigmoid 1/(1+e^−x).
    @inlinable public func sigmoid() -> Tensor { unary("sigmoid", Scalar.sigmoid, df: { _, y in y * (1 - y) }) }
    /// Hyperbolic tangent.
    @inlinable public func tanh() -> Tensor { unary("tanh", Scalar.tanh, df: { _, y in 1 - y * y }) }
    /// max(x, 0).
    @inlinable public func relu() -> Tensor { unary("relu", { Swift.max($0, 0) }, df: { x, _ in x > 0 ? 1 : 0 }) }
    /// √x.
    @inlinable public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }, df: { _, y in 1 / (2 * y) }) }
    /// x².
    @inlinable public func squared() -> Tensor { unary("square", { $0 * $0 }, df: { x, _ in 2 * x }) }

    /// `self` where `mask` is false and `value` where it is true; `mask` has this tensor's shape
    /// or a suffix of it (it is repeated over leading dimensions).
    @inlinable
    public func maskedFill(_ mask: [Bool], shape maskShape: [Int], value: Scalar) -> Tensor {
        precondition(shape.count >= maskShape.count && Array(shape.suffix(maskShape.count)) == maskShape,
                     "maskedFill: mask shape \(maskShape) must end this tensor's shape \(shape)")
        precondition(mask.count == maskShape.reduce(1, *), "maskedFill: \(mask.count) mask values for shape \(maskShape)")
        let m = mask.count
        var out = values
        for i in 0..<out.count where mask[i % m] { out[i] = value }
        return Tensor.operation(shape: shape, values: out, name: "maskedFill", inputs: [self]) { g in
            var gx = g
            for i in 0..<gx.count where mask[i % m] { gx[i] = 0 }
            return [gx]
        }
    }
}
