/// The analysis window shape (Kaldi's `--window-type`).
public enum WindowType: String, Codable, Sendable, CaseIterable {
    case povey, hamming, hanning, rectangular, sine, blackman
}

/// How a waveform is cut into windowed frames: Kaldi's `FrameExtractionOptions`,
/// with its defaults and its flag names.
public struct FrameOptions: Codable, Sendable, Equatable {
    /// `--sample-frequency`: the working sample rate in Hz (audio at another rate is resampled).
    public var sampleFrequency: Double = 16000
    /// `--frame-shift` in milliseconds.
    public var frameShiftMs: Double = 10
    /// `--frame-length` in milliseconds.
    public var frameLengthMs: Double = 25
    /// `--dither`: standard deviation of Gaussian noise added to each sample (0 turns it off).
    public var dither: Double = 1
    /// `--preemphasis-coefficient`.
    public var preemphasisCoefficient: Double = 0.97
    /// `--remove-dc-offset`: subtract each frame's mean before anything else.
    public var removeDCOffset: Bool = true
    /// `--window-type`.
    public var windowType: WindowType = .povey
    /// `--round-to-power-of-two`: zero-pad each frame to a power of two for the FFT.
    public var roundToPowerOfTwo: Bool = true
    /// `--blackman-coeff`, for the Blackman window.
    public var blackmanCoefficient: Double = 0.42
    /// `--snip-edges`: true keeps only frames that fit entirely in the audio; false centres
    /// frame *t* on sample `t·shift + shift/2` and reflects the audio at its ends.
    public var snipEdges: Bool = true

    public init() {}

    /// Samples between frame starts.
    public var windowShift: Int { Int(sampleFrequency * 0.001 * frameShiftMs) }
    /// Samples in one frame.
    public var windowSize: Int { Int(sampleFrequency * 0.001 * frameLengthMs) }
    /// FFT length: the window size, rounded up to a power of two when asked.
    public var paddedWindowSize: Int {
        guard roundToPowerOfTwo else { return windowSize }
        var n = 1
        while n < windowSize { n <<= 1 }
        return n
    }

    /// Frames for `sampleCount` samples (Kaldi's `NumFrames` with flush).
    public func frameCount(sampleCount: Int) -> Int {
        let shift = windowShift, length = windowSize
        if snipEdges {
            return sampleCount < length ? 0 : 1 + (sampleCount - length) / shift
        }
        return (sampleCount + shift / 2) / shift
    }

    /// Index of frame `frame`'s first sample; negative before the start when edges are not snipped.
    public func firstSample(ofFrame frame: Int) -> Int {
        let shift = windowShift
        if snipEdges { return frame * shift }
        return frame * shift + shift / 2 - windowSize / 2
    }

    /// Checks the options make sense, naming the flag at fault.
    public func validate() throws {
        func fail(_ message: String) -> FeatureConfigurationError { FeatureConfigurationError(message) }
        // Upper bounds first: sizes in samples are computed from these and must fit an Int.
        guard sampleFrequency.isFinite, sampleFrequency >= 100, sampleFrequency <= 1_000_000 else {
            throw fail("--sample-frequency must be between 100 Hz and 1 MHz, not \(sampleFrequency)")
        }
        guard frameShiftMs > 0, frameShiftMs <= 10_000 else { throw fail("--frame-shift must be positive and at most 10 s, not \(frameShiftMs) ms") }
        guard frameLengthMs > 0, frameLengthMs <= 10_000 else { throw fail("--frame-length must be positive and at most 10 s, not \(frameLengthMs) ms") }
        guard windowShift >= 1 else { throw fail("--frame-shift \(frameShiftMs) ms is shorter than one sample at \(sampleFrequency) Hz") }
        guard windowSize >= 2 else { throw fail("--frame-length \(frameLengthMs) ms is shorter than two samples at \(sampleFrequency) Hz") }
        guard windowSize <= 1 << 20 else { throw fail("--frame-length \(frameLengthMs) ms is too long") }
        guard dither >= 0, dither.isFinite else { throw fail("--dither must be zero or positive, not \(dither)") }
        guard preemphasisCoefficient >= 0, preemphasisCoefficient <= 1 else {
            throw fail("--preemphasis-coefficient must be in [0, 1], not \(preemphasisCoefficient)")
        }
    }
}

/// A feature option or a combination of them that cannot work; the message names the flag.
public struct FeatureConfigurationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
