import Foundation

/// Seeded Gaussian noise for dithering.
///
/// Seeded from the utterance id and a global seed, so features do not depend on the order in
/// which workers take utterances. Samples are drawn (with replacement) from a fixed table of
/// 65,536 standard-normal values: four draws per 64-bit random number, several times faster
/// than computing each value, and for dither, whose only job is small independent noise, the
/// distribution is as good as Gaussian.
struct DitherNoise {
    private var state: (UInt64, UInt64, UInt64, UInt64)
    private var bits: UInt64 = 0
    private var bitsLeft = 0

    init(seed: UInt64, utterance: String) {
        // FNV-1a of the id: stable across runs (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utterance.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        var mix = seed ^ hash
        state = (splitMix(&mix), splitMix(&mix), splitMix(&mix), splitMix(&mix))
    }

    /// xoshiro256**.
    @inline(__always)
    mutating func next() -> UInt64 {
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

    /// Adds `scale` × standard-normal noise to `count` values at `values`.
    mutating func add(scale: Float, to values: UnsafeMutablePointer<Float>, count: Int) {
        Self.table.withUnsafeBufferPointer { table in
            for i in 0..<count {
                if bitsLeft == 0 {
                    bits = next()
                    bitsLeft = 4
                }
                values[i] += scale * table[Int(truncatingIfNeeded: bits & 0xffff)]
                bits >>= 16
                bitsLeft -= 1
            }
        }
    }

    /// 65,536 standard-normal values (Marsaglia's polar method, fixed seed), scaled so that
    /// their mean is 0 and variance exactly 1.
    static let table: [Float] = {
        var mix: UInt64 = 0x5eed
        var values = [Double]()
        values.reserveCapacity(1 << 16)
        while values.count < 1 << 16 {
            let u = Double(Int64(bitPattern: splitMix(&mix)) >> 11) * 0x1p-52
            let v = Double(Int64(bitPattern: splitMix(&mix)) >> 11) * 0x1p-52
            let s = u * u + v * v
            guard s > 0, s < 1 else { continue }
            let factor = (-2 * log(s) / s).squareRoot()
            values.append(u * factor)
            values.append(v * factor)
        }
        let mean = values.reduce(0, +) / Double(values.count)
        let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
        return values.map { Float(($0 - mean) / deviation) }
    }()
}

/// SplitMix64, to spread a seed over xoshiro's state.
private func splitMix(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
}
