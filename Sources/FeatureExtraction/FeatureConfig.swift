import Foundation

/// The kind of features computed per frame.
public enum FeatureType: String, Codable, Sendable, CaseIterable {
    /// Mel-frequency cepstral coefficients.
    case mfcc
    /// Log-mel filterbank energies.
    case fbank
}

/// Cepstral mean (and variance) normalization scope (Kaldi's `apply-cmvn`).
public enum CMVNMode: String, Codable, Sendable, CaseIterable {
    /// Statistics of each utterance alone.
    case utterance
    /// Statistics pooled over each speaker's utterances (`utt2spk`).
    case speaker
    /// No normalization.
    case none
}

/// A named starting point for the options.
public enum FeaturePreset: String, Codable, Sendable, CaseIterable {
    /// Kaldi's `compute-mfcc-feats` / `compute-fbank-feats` defaults.
    case kaldi
    /// After HTK's HCopy: Hamming window, 26 channels, magnitude spectrum, 2595·log10 mel,
    /// no DC removal, no dither, C0 (last) instead of log-energy.
    case htk
}

/// Everything that decides the features of an utterance: the front end a model carries.
///
/// The field names follow Kaldi's options; `FeatureConfig(preset:type:)` gives Kaldi's or HTK's
/// defaults, and every field has a Kaldi-named flag in `speechlab features`.
public struct FeatureConfig: Codable, Sendable, Equatable {
    /// Format version of this structure as saved in `config.json` and `model.json`.
    public var version: Int = 1
    public var preset: FeaturePreset = .kaldi
    public var type: FeatureType = .mfcc
    public var frame = FrameOptions()
    public var mel = MelOptions()
    /// `--num-ceps` (MFCC only).
    public var cepstraCount: Int = 13
    /// `--cepstral-lifter`: Q of `1 + Q/2 · sin(πi/Q)`; 0 turns liftering off (MFCC only).
    public var cepstralLifter: Double = 22
    /// `--use-energy`: MFCC puts log-energy in place of C0; fbank adds it as an extra dimension.
    public var useEnergy: Bool = true
    /// `--energy-floor`: floor on the energy (absolute, not log); 0 is none.
    public var energyFloor: Double = 0
    /// `--raw-energy`: energy before pre-emphasis and windowing.
    public var rawEnergy: Bool = true
    /// `--htk-compat`: energy or C0 last, C0 scaled by √2, mel energies floored at 1.
    public var htkCompat: Bool = false
    /// `--use-power`: power spectrum (else magnitude).
    public var usePower: Bool = true
    /// `--use-log-fbank` (fbank only).
    public var useLogFbank: Bool = true
    /// Delta order appended by `add-deltas` (0: none, 2: Δ and ΔΔ).
    public var deltaOrder: Int = 0
    /// `--delta-window`: half-width of the delta regression window.
    public var deltaWindow: Int = 2
    /// CMVN scope.
    public var cmvn: CMVNMode = .utterance
    /// `--norm-vars`: also scale each dimension to unit variance.
    public var normalizeVariance: Bool = false
    /// Seed of the dither noise; each utterance's noise also depends on its id, so results do
    /// not depend on the order or the number of workers.
    public var ditherSeed: UInt64 = 0
    /// A learned last step (splicing and LDA+MLLT), after CMVN and deltas; nil: none.
    public var transform: SpliceTransform?

    public init() {}

    /// The defaults of `preset` for features of `type`.
    public init(preset: FeaturePreset, type: FeatureType = .mfcc) {
        self.preset = preset
        self.type = type
        if type == .fbank {
            useEnergy = false
        }
        if preset == .htk {
            frame.windowType = .hamming
            frame.removeDCOffset = false
            frame.dither = 0
            mel.binCount = 26
            mel.lowFrequency = 0
            mel.scale = .htk
            usePower = false
            useEnergy = false
            htkCompat = true
        }
    }

    /// Dimensions of one frame before deltas.
    public var baseDimension: Int {
        switch type {
        case .mfcc: return cepstraCount
        case .fbank: return mel.binCount + (useEnergy ? 1 : 0)
        }
    }

    /// Dimensions of one frame after CMVN and deltas, before `transform`.
    public var untransformedDimension: Int { baseDimension * (deltaOrder + 1) }

    /// Dimensions of one output frame.
    public var dimension: Int { transform?.outputDimension ?? untransformedDimension }

    /// A one-line description for reports, e.g.
    /// `mfcc 13 + Δ + ΔΔ = 39 dims, 8000 Hz, 25/10 ms frames, CMVN per speaker (means and variances)`.
    public var summary: String {
        let deltas = ["", " + Δ", " + Δ + ΔΔ", " + 3 deltas", " + 4 deltas"][min(max(deltaOrder, 0), 4)]
        let normalization: String
        switch cmvn {
        case .none: normalization = "no CMVN"
        case .utterance, .speaker: normalization = "CMVN per \(cmvn.rawValue) (\(normalizeVariance ? "means and variances" : "means"))"
        }
        let frames = String(format: "%g/%g ms frames", frame.frameLengthMs, frame.frameShiftMs)
        let spliced = transform.map { " spliced ±\($0.context) → \($0.outputDimension)" } ?? ""
        let warped = mel.vtlnWarp == 1 ? "" : String(format: ", VTLN warp %g", mel.vtlnWarp)
        return "\(preset == .htk ? "htk " : "")\(type.rawValue) \(baseDimension)\(deltas)\(spliced) = \(dimension) dims, "
            + "\(Int(frame.sampleFrequency)) Hz, \(frames)\(warped), \(normalization)"
    }

    /// Checks every option and their combinations, naming the flag at fault.
    public func validate() throws {
        try frame.validate()
        if type == .mfcc {
            guard cepstraCount >= 1, cepstraCount <= mel.binCount else {
                throw FeatureConfigurationError("--num-ceps must be between 1 and --num-mel-bins (\(mel.binCount)), not \(cepstraCount)")
            }
            guard cepstralLifter >= 0, cepstralLifter.isFinite else { throw FeatureConfigurationError("--cepstral-lifter must be zero or positive") }
        }
        guard energyFloor >= 0, energyFloor.isFinite else { throw FeatureConfigurationError("--energy-floor must be zero or positive") }
        guard (0...4).contains(deltaOrder) else { throw FeatureConfigurationError("--delta-order must be between 0 and 4, not \(deltaOrder)") }
        guard (1...10).contains(deltaWindow) else { throw FeatureConfigurationError("--delta-window must be between 1 and 10, not \(deltaWindow)") }
        _ = try MelBank(options: mel, sampleFrequency: frame.sampleFrequency, fftLength: frame.paddedWindowSize)
        try transform?.validate(expectedInput: untransformedDimension)
    }
}
