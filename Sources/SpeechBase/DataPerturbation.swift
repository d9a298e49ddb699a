/// How a training set was perturbed (what `speechlab perturb` did, kept in the data
/// directory's `perturbation.json` and, by training, in the model's `model.json`): speed
/// factors, a random gain per copy, a simulated room per copy, additive noise at a random SNR
/// per copy, padding, cuts into the speech's onset and offset, and whether the changed copies
/// replace the clean ones or sit beside them.
public struct DataPerturbation: Codable, Sendable, Equatable {
    /// Speed factors, each copy of every utterance at one of them (1: the original speed).
    public var speeds: [Double]
    /// Gain range: each copy's samples are multiplied by a factor drawn uniformly from it
    /// (Kaldi's volume perturbation draws from 0.125...2).
    public var volume: ClosedRange<Double>?
    /// Reverberation time range in seconds: each copy goes through a simulated room whose RT60
    /// is drawn uniformly from it (nil: no room).
    public var reverbRT60: ClosedRange<Double>?
    /// The simulated rooms' direct-to-reverberant energy ratio range in dB (with `reverbRT60`).
    public var reverbDirectToReverberant: ClosedRange<Double>?
    /// SNR range in dB: each copy gets noise at an SNR drawn uniformly from it.
    public var noiseSNR: ClosedRange<Double>?
    /// Where the noise came from: a folder of noise recordings, or nil for generated noise.
    public var noiseFolder: String?
    /// The generated noise's spectrum (without a noise folder).
    public var noiseColor: NoiseColor
    /// Seconds of the recording's own background added at each end of a copy, drawn uniformly
    /// from this range for each end (a trimmed take made to look like an untrimmed one).
    public var padding: ClosedRange<Double>?
    /// Seconds of speech cut from the start of a copy (after its onset), drawn uniformly from
    /// this range: takes whose first sound is missing, as a late-starting recorder leaves them.
    public var onsetCut: ClosedRange<Double>?
    /// Seconds of speech cut from the end of a copy (before its offset), drawn uniformly from
    /// this range: takes whose last sound is missing, as an early-stopping recorder or a tight
    /// endpointer leaves them. The same copies as `onsetCut`'s when both are given.
    public var offsetCut: ClosedRange<Double>?
    /// The seed of the draws: the same seed gives the same copies.
    public var seed: UInt64
    /// With a change: the clean copies are listed too, the changed ones beside them as
    /// `aug-<id>` and the cut ones as a set of their own, `cut-<id>` (false: one copy of each
    /// utterance with every change replaces it).
    public var keepsClean: Bool

    public init(speeds: [Double], volume: ClosedRange<Double>? = nil, noiseSNR: ClosedRange<Double>? = nil,
                noiseFolder: String? = nil, noiseColor: NoiseColor = .white, padding: ClosedRange<Double>? = nil, onsetCut: ClosedRange<Double>? = nil,
                offsetCut: ClosedRange<Double>? = nil, reverbRT60: ClosedRange<Double>? = nil,
                reverbDirectToReverberant: ClosedRange<Double>? = nil, seed: UInt64 = 1, keepsClean: Bool = false) {
        (self.reverbRT60, self.reverbDirectToReverberant) = (reverbRT60, reverbDirectToReverberant)
        (self.speeds, self.volume, self.noiseSNR, self.noiseFolder, self.seed) = (speeds, volume, noiseSNR, noiseFolder, seed)
        (self.noiseColor, self.padding, self.onsetCut, self.offsetCut, self.keepsClean) = (noiseColor, padding, onsetCut, offsetCut, keepsClean)
    }

    /// Whether a gain, room, noise or padding changes the (`aug-`) copies' audio.
    public var augmentsAudio: Bool { volume != nil || reverbRT60 != nil || noiseSNR != nil || padding != nil }

    /// Whether speech is cut from a start or an end (the `cut-` copies, or every copy).
    public var cutsSpeech: Bool { onsetCut != nil || offsetCut != nil }

    /// Whether a gain, room, noise, padding or cut changes the copies' audio.
    public var changesAudio: Bool { augmentsAudio || cutsSpeech }

    enum CodingKeys: String, CodingKey { case speeds, volume, noiseSNR, noiseFolder, noiseColor, padding, onsetCut, offsetCut, reverbRT60, reverbDirectToReverberant, seed, keepsClean }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        speeds = try c.decode([Double].self, forKey: .speeds)
        volume = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .volume)
        noiseSNR = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .noiseSNR)
        noiseFolder = try c.decodeIfPresent(String.self, forKey: .noiseFolder)
        // Records written before noise had colours used white noise.
        noiseColor = try c.decodeIfPresent(NoiseColor.self, forKey: .noiseColor) ?? .white
        padding = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .padding)
        onsetCut = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .onsetCut)
        offsetCut = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .offsetCut)
        reverbRT60 = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .reverbRT60)
        reverbDirectToReverberant = try c.decodeIfPresent(ClosedRange<Double>.self, forKey: .reverbDirectToReverberant)
        seed = try c.decode(UInt64.self, forKey: .seed)
        // Records written before clean copies could be kept replaced them.
        keepsClean = try c.decodeIfPresent(Bool.self, forKey: .keepsClean) ?? false
    }
}

/// The spectrum of generated noise: white (flat), pink (power falling 3 dB an octave: equal
/// power in every octave, like much room and fan noise), brown (6 dB an octave: rumble), or
/// mixed (each copy one of the three, drawn at random).
public enum NoiseColor: String, Codable, Sendable, CaseIterable {
    case white, pink, brown, mixed
}
