/// Totals in 128-bit fixed point (resolution 2⁻⁴⁰ ≈ 9·10⁻¹³, magnitudes up to 2⁸⁷ ≈ 1.5·10²⁶)
/// whose additions are exact: a sum is the same bits whatever the order of its terms, so
/// statistics summed by any number of threads or ranks, in any order, give the same model.
/// Each term is a Double (a per-chunk or per-speaker partial sum), truncated to 2⁻⁴⁰ when it
/// enters: far below the Float rounding of the sums it carries.
public struct ExactSums: Sendable, Equatable {
    public var values: [Int128]

    public init(count: Int) { values = [Int128](repeating: 0, count: count) }

    public var count: Int { values.count }

    /// The largest magnitude a term may have.
    public static let limit = 1.5e26

    @inline(__always)
    static func fixed(_ x: Double) -> Int128 {
        // |x|·2⁴⁰ in units of the resolution, its high and low 64-bit words separately, the
        // sign applied after (truncation towards zero). Every step is exact (scalings by powers
        // of two; for y ≥ 2⁶⁴ an integer whose low bits y − high·2⁶⁴ fit its significand)
        // except the low word's truncation below one unit.
        let y = abs(x) * 0x1p40
        let high = (y * 0x1p-64).rounded(.down)
        let low = y - high * 0x1p64
        let magnitude = Int128(Int64(high)) << 64 | Int128(UInt64(low))
        return x < 0 ? 0 &- magnitude : magnitude
    }

    /// Adds `x` to element `i`. Non-finite or too-large terms trap: callers check them first.
    @inline(__always)
    public mutating func add(_ x: Double, at i: Int) {
        precondition(abs(x) < Self.limit, "ExactSums: term \(x) is not finite or too large")
        values[i] &+= Self.fixed(x)
    }

    /// Adds `terms` to the elements from `start` on.
    public mutating func add(_ terms: UnsafeBufferPointer<Double>, at start: Int) {
        values.withUnsafeMutableBufferPointer { v in
            for (j, x) in terms.enumerated() {
                precondition(abs(x) < Self.limit, "ExactSums: term \(x) is not finite or too large")
                v[start + j] &+= Self.fixed(x)
            }
        }
    }

    public mutating func add(_ terms: [Double], at start: Int) {
        terms.withUnsafeBufferPointer { add($0, at: start) }
    }

    /// Adds another set of totals, element by element (exact).
    public mutating func add(_ other: ExactSums) {
        precondition(other.count == count, "ExactSums.add: sizes differ")
        values.withUnsafeMutableBufferPointer { v in
            other.values.withUnsafeBufferPointer { o in for i in v.indices { v[i] &+= o[i] } }
        }
    }

    /// Element `i` as a Double (rounded once).
    @inline(__always)
    public func value(at i: Int) -> Double {
        let x = values[i]
        return Double(Int64(truncatingIfNeeded: x >> 64)) * 0x1p24 + Double(UInt64(truncatingIfNeeded: x)) * 0x1p-40
    }

    /// Elements `range` as Doubles.
    public func doubles(_ range: Range<Int>) -> [Double] { range.map { value(at: $0) } }
}
