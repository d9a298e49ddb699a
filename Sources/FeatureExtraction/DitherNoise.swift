import Foundation
import SpeechBase

/// Seeded Gaussian noise for dithering.
///
/// Seeded from the utterance id and a global seed, so features do not depend on the order in
/// which workers take utterances. Samples are drawn (with replacement) from a fixed table of
/// 65,536 standard-normal values: four draws per 64-bit random number, several times faster
/// than computing each value, and for dither, whose only job is small independent noise, the
/// distribution is as good as Gaussian.
struct DitherNoise {
    private var generator: SeededGenerator
    private var bits: UInt64 = 0
    private var bitsLeft = 0

    init(seed: UInt64, utterance: String) {
        // FNV-1a of the id: stable across runs (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in utterance.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        generator = SeededGenerator(seed: seed ^ hash)
    }

    /// Adds `scale` × standard-normal noise to `count` values at `values`.
    mutating func add(scale: Float, to values: UnsafeMutablePointer<Float>, count: Int) {
        Self.table.withUnsafeBufferPointer { table in
            for i in 0..<count {
                if bitsLeft == 0 {
                    bits = generator.next()
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
        var mix = SplitMix64(seed: 0x5eed)
        var values = [Double]()
        values.reserveCapacity(1 << 16)
        while values.count < 1 << 16 {
            let u = Double(Int64(bitPattern: mix.next()) >> 11) * 0x1p-52
            let v = Double(Int64(bitPattern: mix.next()) >> 11) * 0x1p-52
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
