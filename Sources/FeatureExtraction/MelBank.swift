import Foundation

/// Which mel formula the filterbank spaces its triangles on.
public enum MelScale: String, Codable, Sendable {
    /// Kaldi: `1127 · ln(1 + f/700)`.
    case kaldi
    /// HTK: `2595 · log10(1 + f/700)`.
    case htk

    /// Mel value of `frequency` Hz, in Float as Kaldi computes it.
    @inlinable
    public func mel(_ frequency: Float) -> Float {
        switch self {
        case .kaldi: return 1127 * logf(1 + frequency / 700)
        case .htk: return 2595 * log10f(1 + frequency / 700)
        }
    }

    /// Frequency in Hz of the mel value `mel`.
    @inlinable
    public func frequency(ofMel mel: Float) -> Float {
        switch self {
        case .kaldi: return 700 * (expf(mel / 1127) - 1)
        case .htk: return 700 * (powf(10, mel / 2595) - 1)
        }
    }
}

/// Options of the triangular mel filterbank: Kaldi's `MelBanksOptions`.
public struct MelOptions: Codable, Sendable, Equatable {
    /// `--num-mel-bins`.
    public var binCount: Int = 23
    /// `--low-freq` in Hz.
    public var lowFrequency: Double = 20
    /// `--high-freq` in Hz; zero or negative counts down from the Nyquist frequency.
    public var highFrequency: Double = 0
    /// The mel formula.
    public var scale: MelScale = .kaldi
    /// `--vtln-warp`: the speaker's warp factor α (1: none); see ``VTLNWarp``.
    public var vtlnWarp: Double = 1
    /// `--vtln-low` in Hz: below `vtlnLow · max(1, α)` the warp bends to keep `lowFrequency` fixed.
    public var vtlnLow: Double = 100
    /// `--vtln-high` in Hz (zero or negative counts down from the Nyquist frequency): above
    /// `vtlnHigh · min(1, α)` the warp bends to keep `highFrequency` fixed.
    public var vtlnHigh: Double = -500

    public init() {}

    private enum CodingKeys: String, CodingKey { case binCount, lowFrequency, highFrequency, scale, vtlnWarp, vtlnLow, vtlnHigh }

    /// Reads options saved before VTLN existed too (no warp).
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        binCount = try container.decode(Int.self, forKey: .binCount)
        lowFrequency = try container.decode(Double.self, forKey: .lowFrequency)
        highFrequency = try container.decode(Double.self, forKey: .highFrequency)
        scale = try container.decode(MelScale.self, forKey: .scale)
        let defaults = MelOptions()
        vtlnWarp = try container.decodeIfPresent(Double.self, forKey: .vtlnWarp) ?? defaults.vtlnWarp
        vtlnLow = try container.decodeIfPresent(Double.self, forKey: .vtlnLow) ?? defaults.vtlnLow
        vtlnHigh = try container.decodeIfPresent(Double.self, forKey: .vtlnHigh) ?? defaults.vtlnHigh
    }
}

/// Kaldi's piecewise-linear VTLN warp of the frequency axis (`MelBanks::VtlnWarpFreq`): `f/α`
/// between the cut-offs `l = vtlnLow · max(1, α)` and `h = vtlnHigh · min(1, α)`, and straight
/// lines from there to the filterbank's own edges, which stay fixed. The filter nominally at f
/// sits at f/α, so a formant at F Hz looks like one at α·F: α < 1 lowers the formants of a
/// voice with a shorter vocal tract than the model's voices, α > 1 raises them.
public struct VTLNWarp: Sendable, Equatable {
    public let factor: Double
    public let lowFrequency: Double, highFrequency: Double
    public let lowCutoff: Double, highCutoff: Double

    /// The warp of `options` for a filterbank up to the Nyquist frequency `nyquist`.
    public init(options: MelOptions, low: Double, high: Double, nyquist: Double) throws {
        let factor = options.vtlnWarp
        guard factor.isFinite, (0.5...2).contains(factor) else {
            throw FeatureConfigurationError("--vtln-warp must be between 0.5 and 2, not \(factor)")
        }
        let vtlnHigh = options.vtlnHigh > 0 ? options.vtlnHigh : nyquist + options.vtlnHigh
        let l = options.vtlnLow * max(1, factor), h = vtlnHigh * min(1, factor)
        guard options.vtlnLow > low, vtlnHigh < high, l > low, h < high, l < h else {
            throw FeatureConfigurationError(
                "VTLN needs --low-freq (\(low) Hz) < --vtln-low (\(options.vtlnLow) Hz) < --vtln-high (\(vtlnHigh) Hz) < --high-freq (\(high) Hz) at warp \(factor)")
        }
        self.factor = factor
        lowFrequency = low
        highFrequency = high
        lowCutoff = l
        highCutoff = h
    }

    /// The warped frequency of `frequency` Hz; frequencies outside the filterbank stay.
    public func callAsFunction(_ frequency: Double) -> Double {
        guard frequency >= lowFrequency, frequency <= highFrequency else { return frequency }
        let scale = 1 / factor
        if frequency < lowCutoff {
            let slope = (scale * lowCutoff - lowFrequency) / (lowCutoff - lowFrequency)
            return lowFrequency + slope * (frequency - lowFrequency)
        }
        if frequency < highCutoff { return scale * frequency }
        let slope = (highFrequency - scale * highCutoff) / (highFrequency - highCutoff)
        return highFrequency + slope * (frequency - highFrequency)
    }
}

/// Triangular filters on the mel scale over the FFT bins, stored sparsely: each filter keeps
/// only its non-zero span (Kaldi's `MelBanks`).
public struct MelBank: Sendable {
    /// Per filter: index of the first FFT bin it covers and its weights from there.
    public let filters: [(firstBin: Int, weights: [Float])]

    /// Builds the bank for `fftLength`-point FFTs of audio at `sampleFrequency` Hz.
    public init(options: MelOptions, sampleFrequency: Double, fftLength: Int) throws {
        let binCount = options.binCount
        guard binCount >= 3 else { throw FeatureConfigurationError("--num-mel-bins must be at least 3, not \(binCount)") }
        let fftBins = fftLength / 2
        guard binCount <= fftBins else {
            throw FeatureConfigurationError("--num-mel-bins=\(binCount) is more than the \(fftBins) bins of a \(fftLength)-point FFT")
        }
        let nyquist = 0.5 * sampleFrequency
        let low = options.lowFrequency
        let high = options.highFrequency > 0 ? options.highFrequency : nyquist + options.highFrequency
        guard low >= 0, low < nyquist, high > 0, high <= nyquist, high > low else {
            throw FeatureConfigurationError(
                "mel bins need 0 <= --low-freq < --high-freq <= Nyquist (\(nyquist) Hz); got --low-freq=\(low) and --high-freq=\(options.highFrequency)")
        }
        let binWidth = Float(sampleFrequency) / Float(fftLength)
        let scale = options.scale
        let melLow = scale.mel(Float(low)), melHigh = scale.mel(Float(high))
        let delta = (melHigh - melLow) / Float(binCount + 1)
        // With VTLN the triangles' corners move along the warp (Kaldi's `VtlnWarpMelFreq`).
        let warp = options.vtlnWarp == 1 ? nil : try VTLNWarp(options: options, low: low, high: high, nyquist: nyquist)
        func corner(_ mel: Float) -> Float {
            guard let warp else { return mel }
            return scale.mel(Float(warp(Double(scale.frequency(ofMel: mel)))))
        }
        var filters: [(Int, [Float])] = []
        for bin in 0..<binCount {
            let left = corner(melLow + Float(bin) * delta)
            let center = corner(melLow + Float(bin + 1) * delta)
            let right = corner(melLow + Float(bin + 2) * delta)
            var first = -1
            var weights: [Float] = []
            for i in 0..<fftBins {
                let mel = scale.mel(binWidth * Float(i))
                guard mel > left && mel < right else { continue }
                let weight = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center)
                if first < 0 { first = i }
                // Fill any gap so that the span stays contiguous.
                while first + weights.count < i { weights.append(0) }
                weights.append(weight)
            }
            if first < 0 {
                throw FeatureConfigurationError(
                    "mel bin \(bin) covers no FFT bin: --num-mel-bins=\(binCount) is too many for a \(fftLength)-point FFT at \(sampleFrequency) Hz")
            }
            filters.append((first, weights))
        }
        self.filters = filters
    }

    /// Number of filters.
    public var count: Int { filters.count }
}
