import SpeechBase

/// SpecAugment's masking (Park et al., 2019) on a batch of normalized feature sequences while
/// training: `timeMasks` spans of up to `maxTimeWidth` consecutive frames, never more than
/// `maxTimeFraction` of an utterance per mask, and `featureMasks` bands of up to
/// `maxFeatureWidth` consecutive feature dimensions, are set to 0 (the normalized mean), each
/// utterance its own draws. No time warping. Park's LibriSpeech "basic" policy is two masks of
/// each kind; widths here are in frames and feature dimensions, so that the same policy suits
/// 0.5-second digits (the fraction bounds the time masks) and 6-second sentences.
public struct SpecAugment: Codable, Sendable, Equatable {
    public var timeMasks = 2
    public var maxTimeWidth = 20
    public var maxTimeFraction = 0.2
    public var featureMasks = 2
    public var maxFeatureWidth = 6

    public init() {}

    /// Masks `values` (`[B, T, D]`, batch-first, sequence b valid for its first `lengths[b]`
    /// frames) in place, drawing from `generator`.
    public func apply(to values: inout [Float], lengths: [Int], frames T: Int, dimension D: Int,
                      generator: inout SeededGenerator) {
        values.withUnsafeMutableBufferPointer { v in
            for (b, length) in lengths.enumerated() where length > 0 {
                let sequence = v.baseAddress! + b * T * D
                let widest = Swift.min(maxTimeWidth, Int(maxTimeFraction * Double(length)))
                for _ in 0..<timeMasks where widest > 0 {
                    let width = Int.random(in: 0...widest, using: &generator)
                    let start = Int.random(in: 0...(length - width), using: &generator)
                    for t in start..<(start + width) { (sequence + t * D).update(repeating: 0, count: D) }
                }
                for _ in 0..<featureMasks where maxFeatureWidth > 0 {
                    let width = Int.random(in: 0...Swift.min(maxFeatureWidth, D), using: &generator)
                    let first = Int.random(in: 0...(D - width), using: &generator)
                    for t in 0..<length {
                        for d in first..<(first + width) { sequence[t * D + d] = 0 }
                    }
                }
            }
        }
    }
}
