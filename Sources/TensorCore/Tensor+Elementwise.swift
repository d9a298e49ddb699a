/// Elementwise operations. Binary operations broadcast over leading dimensions: the smaller
/// operand's shape must be a suffix of the larger's (`[B, T, H] + [H]`, `[B, H] * [B, H]`,
/// anything with a scalar), and its gradient is summed over the dimensions it was repeated on.
extension Tensor {
    /// The shape of a broadcast result, or a precondition failure naming the op and both shapes.
    @inlinable
    static func broadcastShape(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        if a == b { return a }
        if a.count >= b.count, Array(a.suffix(b.count)) == b { return a }
        if b.count > a.count, Array(b.suffix(a.count)) == a { return b }
        preconditionFailure("\(op): shapes \(a) and \(b) do not broadcast (one must end with the other)")
    }

    /// Sums a gradient of `count` values down to `target` values by folding repeated blocks.
    @inlinable
    static func reduceBroadcast(_ g: [Scalar], to target: Int) -> [Scalar] {
        if g.count == target { return g }
        var out = [Scalar](repeating: 0, count: target)
        g.withUnsafeBufferPointer { g in
            out.withUnsafeMutableBufferPointer { o in
                var i = 0
                while i < g.count {
                    for j in 0..<target { o[j] += g[i + j] }
                    i += target
                }
            }
        }
        return out
    }

    /// `f(a, b)` elementwise with broadcasting; `da`, `db` give ∂f/∂a and ∂f/∂b at (a, b).
    @inlinable
    static func binary(_ a: Tensor, _ b: Tensor, op: String,
                       _ f: @escaping (Scalar, Scalar) -> Scalar,
                       da: @escaping (Scalar, Scalar) -> Scalar,
                       db: @escaping (Scalar, Scalar) -> Scalar) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape, op: op)
        let n = shape.reduce(1, *)
        let na = a.count, nb = b.count
        var out = [Scalar](repeating: 0, count: n)
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { o in
                    if na == n && nb == n {
                        for i in 0..<n { o[i] = f(x[i], y[i]) }
                    } else {
                        for i in 0..<n { o[i] = f(x[i % na], y[i % nb]) }
                    }
                }
            }
        }
        let av = a.values, bv = b.values
        return result(shape: shape, values: out, name: op, inputs: [a, b]) { g in
            var ga: [Scalar]? = nil, gb: [Scalar]? = nil
            if a.requiresGrad {
                var full = [Scalar](repeating: 0, count: n)
                for i in 0..<n { full[i] = g[i] * da(av[i % na], bv[i % nb]) }
                ga = reduceBroadcast(full, to: na)
            }
            if b.requiresGrad {
                var full = [Scalar](repeating: 0, count: n)
                for i in 0..<n { full[i] = g[i] * db(av[i % na], bv[i % nb]) }
                gb = reduceBroadcast(full, to: nb)
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
        return Tensor.result(shape: shape, values: out, name: op, inputs: [self]) { g in
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
        precondition(Tensor.broadcastShape(shape, maskShape, op: "maskedFill") == shape,
                     "maskedFill: mask shape \(maskShape) must end this tensor's shape \(shape)")
        precondition(mask.count == maskShape.reduce(1, *), "maskedFill: \(mask.count) mask values for shape \(maskShape)")
        let m = mask.count
        var out = values
        for i in 0..<out.count where mask[i % m] { out[i] = value }
        return Tensor.result(shape: shape, values: out, name: "maskedFill", inputs: [self]) { g in
            var gx = g
            for i in 0..<gx.count where mask[i % m] { gx[i] = 0 }
            return [gx]
        }
    }
}
