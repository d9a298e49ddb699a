import Foundation

/// A seeded random number generator (xoshiro256**), so that the same seed gives the same
/// weights, masks, shuffles and dither on every machine. The one generator of the project (with
/// ``SplitMix64``, which seeds it), here so that any module can use it without BLAS.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose sequence is fixed by `seed` (spread over the state by SplitMix64).
    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        state = (mix.next(), mix.next(), mix.next(), mix.next())
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = (state.3 << 45) | (state.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal sample (Box-Muller).
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u = 1 - nextUnit()  // (0, 1]
        let v = nextUnit()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }

    /// The generator's state, to save and restore it (resuming training where it stopped).
    public var savedState: [UInt64] {
        get { [state.0, state.1, state.2, state.3] }
        set {
            precondition(newValue.count == 4, "SeededGenerator: a state is 4 values")
            state = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }

    /// A generator for another purpose or thread, independent of this one's sequence.
    public mutating func split() -> SeededGenerator {
        SeededGenerator(seed: next())
    }
}

/// SplitMix64: a tiny generator of its own (the connected-digit corpus draws from it) and the
/// way a 64-bit seed is spread over ``SeededGenerator``'s state.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// A standard normal sample (Box-Muller).
    public mutating func gaussian() -> Double {
        (-2 * Foundation.log(1 - unit())).squareRoot() * Foundation.cos(2 * Double.pi * unit())
    }
}
