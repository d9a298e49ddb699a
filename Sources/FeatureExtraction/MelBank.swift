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

    public init() {}
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
        var filters: [(Int, [Float])] = []
        for bin in 0..<binCount {
            let left = melLow + Float(bin) * delta
            let center = melLow + Float(bin + 1) * delta
            let right = melLow + Float(bin + 2) * delta
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
