import Foundation

// Vectorizable exp, log, sigmoid and tanh over arrays. The scalar libm functions cost 5-20 ns a
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

    /// `x[i] ← log x[i]` (natural; −∞ at 0, NaN below).
    @inlinable
    public static func log(_ x: UnsafeMutablePointer<Self>, count: Int) {
        if Self.self == Float.self {
            x.withMemoryRebound(to: Float.self, capacity: count) { fastLog($0, count: count) }
        } else {
            for i in 0..<count { x[i] = log(x[i]) }
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

/// log x for one Float, branch-free (Cephes logf: x = m·2ᵉ with m in [√½, √2), a degree-9
/// polynomial in m − 1; relative error ≈ 1e-7). Subnormals are scaled up first; 0 gives −∞,
/// negative values and NaN give NaN, +∞ gives +∞.
@inlinable @inline(__always)
func fastLogValue(_ input: Float) -> Float {
    let tiny = input < Float.leastNormalMagnitude
    let scaled = tiny ? input * 8_388_608 : input
    let bits = scaled.bitPattern
    var e = Float(Int32(bitPattern: (bits >> 23) & 0xFF) - 126) - (tiny ? 23 : 0)
    var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F00_0000)  // in [0.5, 1)
    let low = m < 0.707_106_781_186_547_524
    e = low ? e - 1 : e
    m = low ? m + m - 1 : m - 1
    let z = m * m
    var y: Float = 7.037_683_629_2e-2
    y = y * m - 1.151_461_031_0e-1
    y = y * m + 1.167_699_874_0e-1
    y = y * m - 1.242_014_084_6e-1
    y = y * m + 1.424_932_278_7e-1
    y = y * m - 1.666_805_766_5e-1
    y = y * m + 2.000_071_476_5e-1
    y = y * m - 2.499_999_399_3e-1
    y = y * m + 3.333_333_117_4e-1
    y = y * m * z
    y += -2.121_944_400_5e-4 * e
    y += -0.5 * z
    var result = m + y + 0.693_359_375 * e
    result = input == 0 ? -.infinity : result
    result = input == .infinity ? .infinity : result
    return input < 0 || input.isNaN ? .nan : result
}

@inlinable
func fastLog(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = fastLogValue(x[i]) }
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
