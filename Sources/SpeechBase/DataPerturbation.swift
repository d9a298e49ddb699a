/// How a training set was perturbed (what `speechlab perturb` did, kept in the data
/// directory's `perturbation.json` and, by training, in the model's `model.json`): speed
/// factors, a random gain per copy, additive noise at a random SNR per copy.
public struct DataPerturbation: Codable, Sendable, Equatable {
    /// Speed factors, each copy of every utterance at one of them (1: the original speed).
    public var speeds: [Double]
    /// Gain range: each copy's samples are multiplied by a factor drawn uniformly from it
    /// (Kaldi's volume perturbation draws from 0.125...2).
    public var volume: ClosedRange<Double>?
    /// SNR range in dB: each copy gets noise at an SNR drawn uniformly from it.
    public var noiseSNR: ClosedRange<Double>?
    /// Where the noise came from: a folder of noise recordings, or nil for generated white noise.
    public var noiseFolder: String?
    /// The seed of the draws: the same seed gives the same copies.
    public var seed: UInt64

    public init(speeds: [Double], volume: ClosedRange<Double>? = nil, noiseSNR: ClosedRange<Double>? = nil,
                noiseFolder: String? = nil, seed: UInt64 = 1) {
        (self.speeds, self.volume, self.noiseSNR, self.noiseFolder, self.seed) = (speeds, volume, noiseSNR, noiseFolder, seed)
    }

    /// Whether each copy gets audio of its own even at speed 1 (a gain or noise changes it).
    public var changesEveryCopy: Bool { volume != nil || noiseSNR != nil }
}
