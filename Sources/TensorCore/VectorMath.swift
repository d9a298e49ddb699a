import Foundation

// Vectorizable exp, sigmoid and tanh over arrays. The scalar libm functions cost 5-20 ns a
// value and do not vectorize; these loops have no branches or calls, so the compiler turns
// them into SIMD code. Float uses Cephes' expf polynomial (relative error ≈ 1 ulp for the
// exponential; tanh = 2σ(2x) − 1 has absolute error below 1e-7). Double (gradient checks)
// keeps libm's functions.

extension TensorScalar {
    /// `x[i] ← e^x[i]`.
    @inlinable
    public static func exp(_ x: UnsafeMutablePointer<Self>, count: Int) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self, capacity: count) { fastExp($0, count: count) }
        } else {
            for i in 0..<count { x[i] = exp(x[i]) }
        }
    }

    /// `x[i] ← 1 / (1 + e^−x[i])`.
    @inlinable
    public static func sigmoid(_ x: UnsafeMutablePointer<Self>, count: Int) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self, capacity: count) { fastSigmoid($0, count: count) }
        } else {
            for i in 0..<count { x[i] = sigmoid(x[i]) }
        }
    }

    /// `x[i] ← tanh x[i]`.
    @inlinable
    public static func tanh(_ x: UnsafeMutablePointer<Self>, count: Int) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self, capacity: count) { fastTanh($0, count: count) }
        } else {
            for i in 0..<count { x[i] = tanh(x[i]) }
        }
    }
}

/// e^x for one Float, branch-free (Cephes expf; inputs clamped to [−87.3, 88.3]).
@inlinable @inline(__always)
func fastExpValue(_ input: Float) -> Float {
    let x = Swift.min(Swift.max(input, -87.3), 88.3)
    // n = round(x / ln 2) by adding 1.5·2²³: the sum's low mantissa bits hold n, so neither a
    // floor call nor a checked float-to-int conversion stands in the way of vectorizing.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
    var y: Float = 1.987_569_15e-4
    y = y * r + 1.398_199_950_7e-3
    y = y * r + 8.333_451_907_3e-3
    y = y * r + 4.166_579_589_4e-2
    y = y * r + 1.666_666_545_9e-1
    y = y * r + 5.000_000_120_1e-1
    y = y * r * r + r + 1
    // 2ⁿ: exponent field n + 127, from the bits of `shifted` (0x4B40_0000 + n).
    let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    return y * scale
}

@inlinable
func fastExp(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = fastExpValue(x[i]) }
}

@inlinable
func fastSigmoid(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = 1 / (1 + fastExpValue(-x[i])) }
}

@inlinable
func fastTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = 2 / (1 + fastExpValue(-2 * x[i])) - 1 }
}
