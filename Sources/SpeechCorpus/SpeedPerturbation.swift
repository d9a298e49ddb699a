import AudioIO
import Foundation
import SpeechBase

/// Speed perturbation of a corpus, as Kaldi's `utils/data/perturb_data_dir_speed.sh` makes it:
/// each utterance resampled by a factor f (tempo and pitch both scaled by f, duration by 1/f),
/// the copy named `sp<f>-<utt>`, its speaker `sp<f>-<speaker>` (a faster voice is another
/// speaker for normalization and adaptation), and `utt2uniq` pointing back to the original.
/// Factor 1 keeps the original utterance as it is. Kaldi's recipes train on 0.9, 1.0 and 1.1.
public struct SpeedPerturbation: Sendable {
    /// The speed factors, each in 0.5...2, distinct, in the order given.
    public let factors: [Double]

    /// Factors outside 0.5...2, repeated or none at all are refused.
    public init(factors: [Double]) throws {
        guard !factors.isEmpty else { throw CorpusError("speed perturbation needs at least one factor") }
        for f in factors where !(f.isFinite && f >= 0.5 && f <= 2) {
            throw CorpusError("speed factor \(f) is outside 0.5...2")
        }
        guard Set(factors).count == factors.count else { throw CorpusError("speed factors \(factors.map(Self.label)) repeat one") }
        self.factors = factors
    }

    /// `0.9` → "0.9", `1.05` → "1.05": the shortest decimal that reads back as the factor.
    public static func label(_ factor: Double) -> String { String(format: "%g", factor) }

    /// The id of `id`'s copy at `factor` (`sp0.9-id`); `id` itself at factor 1.
    public static func copyID(_ id: String, factor: Double) -> String {
        factor == 1 ? id : "sp\(label(factor))-\(id)"
    }

    /// `samples` played `factor` times faster (and higher): resampled by 1/factor at the same rate.
    public static func perturb(_ samples: [Float], factor: Double, path: String = "audio") throws -> [Float] {
        try Resampler.resample(samples, ratio: 1 / factor, path: path)
    }

    /// One copy to make: the source utterance, the factor, and the copy as it will be listed
    /// (its audio at `copy.audioPath`, to be written, unless it is the source's own).
    public struct Copy: Sendable {
        public var source: Utterance
        public var factor: Double
        public var copy: Utterance
        /// Whether the copy gets the gain, noise and padding (see ``AugmentedCopies``).
        public var augmented: Bool
        /// Whether the copy loses the start or end of its speech (see ``SpeechCutCopies``).
        public var cutsSpeech: Bool
        /// Whether the copy needs new audio (every factor but 1, and factor 1 of a segment, which
        /// a directory without `segments` can only list as a file of its own).
        public var writesAudio: Bool { copy.audioPath != source.audioPath }
    }

    /// Which copies a gain or noise changes.
    public enum AugmentedCopies: Sendable {
        /// None: speed copies only.
        case none
        /// Every copy, factor 1's too (the originals are not listed as they are).
        case replacingClean
        /// Copies of their own beside the clean ones, named `aug-<copy>` with speaker
        /// `aug-<speaker>` (a noisy channel is a condition of its own for normalization and
        /// adaptation), as Kaldi's recipes combine augmented copies with the clean data.
        case besideClean
    }

    /// Which copies lose the start or end of their speech (`--cut-onset`, `--cut-offset`).
    public enum SpeechCutCopies: Sendable {
        /// None.
        case none
        /// The augmented copies (with their gain and noise, if any).
        case augmented
        /// Copies of their own, named `cut-<copy>` with speaker `cut-<speaker>`, beside the clean
        /// (and augmented) ones, and otherwise clean.
        case besideClean
    }

    /// The prefix of ``AugmentedCopies/besideClean`` copies' ids and speakers.
    public static let augmentedPrefix = "aug-"
    /// The prefix of ``SpeechCutCopies/besideClean`` copies' ids and speakers.
    public static let cutPrefix = "cut-"

    /// Every utterance at every factor, audio of the new copies under `audioFolder/sp<f>/<id>.flac`
    /// (augmented ones beside clean copies under `audioFolder/aug-sp<f>/`, cut ones under
    /// `audioFolder/cut-sp<f>/`); with `augmented` `.replacingClean`, factor 1's are written too.
    public func copies(of utterances: [Utterance], audioFolder: String, augmented: AugmentedCopies = .none,
                       speechCut: SpeechCutCopies = .none) -> [Copy] {
        var passes: [(prefix: String, augmented: Bool, cutsSpeech: Bool)] = switch augmented {
        case .none: [("", false, false)]
        case .replacingClean: [("", true, speechCut == .augmented)]
        case .besideClean: [("", false, false), (Self.augmentedPrefix, true, speechCut == .augmented)]
        }
        if speechCut == .besideClean { passes.append((Self.cutPrefix, false, true)) }
        var copies: [Copy] = []
        copies.reserveCapacity(utterances.count * factors.count * passes.count)
        for pass in passes {
            for factor in factors {
                let folder = (audioFolder as NSString).appendingPathComponent(pass.prefix + "sp\(Self.label(factor))")
                for u in utterances {
                    var copy = u
                    copy.id = pass.prefix + Self.copyID(u.id, factor: factor)
                    copy.speaker = u.speaker.map { pass.prefix + Self.copyID($0, factor: factor) }
                    copy.original = copy.id == u.id ? u.original : (u.original ?? u.id)
                    if factor != 1 || u.segment != nil || pass.augmented || pass.cutsSpeech {
                        copy.audioPath = (folder as NSString).appendingPathComponent(copy.id + ".flac")
                        copy.segment = nil
                    }
                    copies.append(Copy(source: u, factor: factor, copy: copy, augmented: pass.augmented, cutsSpeech: pass.cutsSpeech))
                }
            }
        }
        return copies
    }
}

/// Gain and additive noise for training copies (Kaldi's volume perturbation and noise
/// augmentation), applied to samples in memory.
public enum AudioAugmentation {
    /// `samples` plus `noise` (repeated from a random offset when shorter, as a noise recording
    /// is looped) scaled so that the signal-to-noise ratio over the whole utterance is `snr` dB.
    /// A silent utterance gets no noise (its SNR is undefined).
    public static func addNoise(_ samples: inout [Float], noise: [Float], snr: Double, generator: inout SeededGenerator) {
        guard !samples.isEmpty, !noise.isEmpty else { return }
        let signalPower = energy(samples[...]) / Double(samples.count)
        let start = Int.random(in: 0..<noise.count, using: &generator)
        var noisePower = 0.0
        for i in samples.indices { let n = Double(noise[(start + i) % noise.count]); noisePower += n * n }
        noisePower /= Double(samples.count)
        guard signalPower > 0, noisePower > 0 else { return }
        let scale = Float((signalPower / (noisePower * Foundation.pow(10, snr / 10))).squareRoot())
        for i in samples.indices { samples[i] += scale * noise[(start + i) % noise.count] }
    }

    /// `count` samples of white Gaussian noise.
    public static func whiteNoise(count: Int, generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in Float(generator.nextGaussian()) }
    }

    /// `count` samples of Gaussian noise of `color` (`mixed`: one of the three drawn first).
    /// Pink is white noise through Paul Kellet's sum of seven one-pole filters (within 0.5 dB
    /// of −3 dB an octave over the audio band); brown is white noise through a leaky
    /// integrator (−6 dB an octave above a few Hz). Only the shape matters: `addNoise` scales it.
    public static func noise(_ color: NoiseColor, count: Int, generator: inout SeededGenerator) -> [Float] {
        if color == .mixed {
            return noise([NoiseColor.white, .pink, .brown][Int.random(in: 0..<3, using: &generator)], count: count, generator: &generator)
        }
        var white = whiteNoise(count: count, generator: &generator)
        switch color {
        case .white, .mixed:  // mixed has drawn its colour above
            return white
        case .pink:
            var b = [Float](repeating: 0, count: 7)
            for i in white.indices {
                let w = white[i]
                b[0] = 0.99886 * b[0] + w * 0.0555179
                b[1] = 0.99332 * b[1] + w * 0.0750759
                b[2] = 0.96900 * b[2] + w * 0.1538520
                b[3] = 0.86650 * b[3] + w * 0.3104856
                b[4] = 0.55000 * b[4] + w * 0.5329522
                b[5] = -0.7616 * b[5] - w * 0.0168980
                white[i] = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362
                b[6] = w * 0.115926
            }
            return white
        case .brown:
            var y: Float = 0
            for i in white.indices {
                y = 0.998 * y + white[i]
                white[i] = y
            }
            return white
        }
    }

    /// `samples` with `before` and `after` samples of the recording's own background at its
    /// ends: Gaussian noise at the RMS level of its quietest block of `blockLength` samples
    /// (10 ms). Corpora trimmed to the word (FSDD) teach a silence model only a few frames;
    /// a user's recordings start and end in their room's background.
    public static func pad(_ samples: [Float], before: Int, after: Int, blockLength: Int, generator: inout SeededGenerator) -> [Float] {
        guard before > 0 || after > 0 else { return samples }
        // A take shorter than one block is its own quietest block.
        let quietest = blockPowers(samples, blockLength: blockLength).min() ?? blockPowers(samples, blockLength: samples.count).min()
        let level = Float(quietest.map { $0.squareRoot() } ?? 0)
        let head = (0..<before).map { _ in level * Float(generator.nextGaussian()) }
        let tail = (0..<after).map { _ in level * Float(generator.nextGaussian()) }
        return head + samples + tail
    }

    /// `samples` from `count` samples after the speech's onset on: a recording that started late,
    /// or a voice-activity detector that triggered late, so that the word's first sound is
    /// partly or wholly missing ("six" without its /s/). The onset is the first block of
    /// `blockLength` samples (10 ms) whose energy is within `onsetDecibels` of the loudest
    /// block's; anything before it goes too. At least half of what follows the onset is kept,
    /// and at least `minimumKept` samples of it (all of it when it is shorter): a copy too short
    /// for its transcript's states would only be skipped by training.
    public static func cutOnset(_ samples: [Float], count: Int, blockLength: Int, minimumKept: Int = 0,
                                onsetDecibels: Double = 35) -> [Float] {
        let powers = blockPowers(samples, blockLength: blockLength)
        guard let loudest = powers.max(), loudest > 0 else { return samples }
        let threshold = loudest * Foundation.pow(10, -onsetDecibels / 10)
        let onset = (powers.firstIndex { $0 >= threshold } ?? 0) * blockLength
        let speech = samples.count - onset
        let start = onset + max(0, min(count, speech / 2, speech - minimumKept))
        return Array(samples[start...])
    }

    /// `samples` up to `count` samples before the speech's offset: a recording that stopped
    /// early, or an endpointer that trimmed tightly, so that the word's last sound is partly or
    /// wholly missing ("six" without its final /s/). The mirror of ``cutOnset(_:count:blockLength:minimumKept:onsetDecibels:)``:
    /// the offset is the end of the last block within `offsetDecibels` of the loudest; anything
    /// after it goes too; at least half of the samples before it, and `minimumKept` of them, stay.
    /// After ``cutOnset(_:count:blockLength:minimumKept:onsetDecibels:)`` the floor counts from
    /// the onset cut's start, whose own floor counted the tail: a take with both cuts can keep
    /// less than `minimumKept` (down to its loud part between the cuts).
    public static func cutOffset(_ samples: [Float], count: Int, blockLength: Int, minimumKept: Int = 0,
                                 offsetDecibels: Double = 35) -> [Float] {
        Array(cutOnset(Array(samples.reversed()), count: count, blockLength: blockLength, minimumKept: minimumKept,
                       onsetDecibels: offsetDecibels).reversed())
    }

    /// A room's impulse response by Polack's statistical model of reverberation: the direct
    /// sound (a unit tap), then from 2.5 ms on a diffuse tail of Gaussian noise whose energy
    /// decays by 60 dB in `rt60` seconds, scaled so that the direct sound has
    /// `directToReverberant` dB more energy than the whole tail. It ends where the tail has
    /// decayed by 60 dB. (Kaldi's recipes convolve with simulated or measured responses; this one
    /// needs no files.)
    public static func roomImpulseResponse(rt60: Double, directToReverberant: Double, sampleRate: Int,
                                           generator: inout SeededGenerator) -> [Float] {
        let predelay = max(1, sampleRate / 400)
        let length = max(1, Int(rt60 * Double(sampleRate)))
        // Energy falls by 10^6 over rt60: amplitude by exp(−3 ln 10 · t / rt60).
        let rate = 3 * Foundation.log(10.0) / (rt60 * Double(sampleRate))
        let tail = (0..<length).map { n in generator.nextGaussian() * Foundation.exp(-rate * Double(n)) }
        let tailEnergy = tail.reduce(0) { $0 + $1 * $1 }
        let scale = tailEnergy > 0 ? (Foundation.pow(10, -directToReverberant / 10) / tailEnergy).squareRoot() : 0
        var response = [Float](repeating: 0, count: predelay + length)
        response[0] = 1
        for n in tail.indices { response[predelay + n] = Float(scale * tail[n]) }
        return response
    }

    /// `samples` through `impulseResponse` (the full convolution: the room rings on after the
    /// take ends), scaled so that its first `samples.count` samples have the take's energy: a
    /// reverberant copy at the level of the dry one.
    public static func reverberate(_ samples: [Float], impulseResponse: [Float]) -> [Float] {
        guard !samples.isEmpty, !impulseResponse.isEmpty else { return samples }
        var wet = [Float](repeating: 0, count: samples.count + impulseResponse.count - 1)
        wet.withUnsafeMutableBufferPointer { out in
            samples.withUnsafeBufferPointer { x in
                // Tap by tap: the inner loop runs over contiguous samples and vectorizes.
                for (k, h) in impulseResponse.enumerated() where h != 0 {
                    for n in 0..<x.count { out[k + n] += h * x[n] }
                }
            }
        }
        let dry = energy(samples[...]), kept = energy(wet[..<samples.count])
        guard dry > 0, kept > 0 else { return wet }
        let gain = Float((dry / kept).squareRoot())
        for i in wet.indices { wet[i] *= gain }
        return wet
    }

    /// The sum of the squares of `samples`, in Double.
    static func energy(_ samples: ArraySlice<Float>) -> Double {
        samples.reduce(0.0) { $0 + Double($1) * Double($1) }
    }

    /// The mean square of each whole block of `blockLength` samples (none when the take is
    /// shorter than a block).
    static func blockPowers(_ samples: [Float], blockLength: Int) -> [Double] {
        guard blockLength > 0 else { return [] }
        return (0..<(samples.count / blockLength)).map { b in
            energy(samples[(b * blockLength)..<((b + 1) * blockLength)]) / Double(blockLength)
        }
    }

    /// A value drawn uniformly from `range`.
    public static func draw(_ range: ClosedRange<Double>, generator: inout SeededGenerator) -> Double {
        range.lowerBound == range.upperBound ? range.lowerBound : Double.random(in: range, using: &generator)
    }
}
