import CFFTW
import Foundation

/// Computes MFCC or log-mel filterbank frames of a waveform, as Kaldi's `MfccComputer` and
/// `FbankComputer` with `OfflineFeatureTpl` do.
///
/// Owns the precomputed tables (window, mel bank, DCT, lifter) and the scratch buffers, so one
/// computer serves many utterances without allocating per frame. Not thread-safe: give each
/// worker its own (the FFTW plan inside is shared).
///
/// Per frame: extract (reflecting at the edges when `snipEdges` is false), dither, remove DC,
/// raw log-energy, pre-emphasis, window, zero-pad, FFT, power (or magnitude) spectrum, mel
/// energies, log with a `FLT_EPSILON` floor; for MFCC then an orthonormal DCT-II, liftering and
/// log-energy in place of C0.
public final class FeatureComputer {
    public let config: FeatureConfig
    private let window: [Float]
    private let melBank: MelBank
    /// `cepstraCount × binCount`, row-major: Kaldi's `ComputeDctMatrix`, first rows kept.
    private let dct: [Float]
    private let lifter: [Float]
    private let fft: RealFFTPlan
    private let fftInput: UnsafeMutablePointer<Float>
    private let fftOutput: UnsafeMutablePointer<fftwf_complex>
    /// The frame's power (or magnitude) spectrum, N/2 + 1 bins, and its mel energies.
    private let spectrum: UnsafeMutablePointer<Float>
    private let melEnergies: UnsafeMutablePointer<Float>

    public init(config: FeatureConfig) throws {
        try config.validate()
        self.config = config
        let frame = config.frame
        let n = frame.paddedWindowSize
        window = frame.windowType.coefficients(length: frame.windowSize, blackmanCoefficient: frame.blackmanCoefficient)
        melBank = try MelBank(options: config.mel, sampleFrequency: frame.sampleFrequency, fftLength: n)
        let bins = config.mel.binCount
        let ceps = config.cepstraCount
        var dct = [Float](repeating: 0, count: ceps * bins)
        for k in 0..<ceps {
            for j in 0..<bins {
                let value = k == 0
                    ? (1 / Double(bins)).squareRoot()
                    : (2 / Double(bins)).squareRoot() * cos(Double.pi / Double(bins) * (Double(j) + 0.5) * Double(k))
                dct[k * bins + j] = Float(value)
            }
        }
        self.dct = dct
        let q = config.cepstralLifter
        lifter = (0..<ceps).map { i in q == 0 ? 1 : Float(1 + 0.5 * q * sin(Double.pi * Double(i) / q)) }
        fft = RealFFTPlan.forLength(n)
        fftInput = fftwf_alloc_real(n)!
        fftOutput = fftwf_alloc_complex(n / 2 + 1)!
        spectrum = .allocate(capacity: n / 2 + 1)
        spectrum.initialize(repeating: 0, count: n / 2 + 1)
        melEnergies = .allocate(capacity: max(bins, 1))
        melEnergies.initialize(repeating: 0, count: bins)
    }

    deinit {
        fftwf_free(fftInput)
        fftwf_free(fftOutput)
        spectrum.deallocate()
        melEnergies.deallocate()
    }

    /// Number of frames `sampleCount` samples give.
    public func frameCount(sampleCount: Int) -> Int { config.frame.frameCount(sampleCount: sampleCount) }

    /// Base features (no CMVN, no deltas) of `samples`, which are at the working sample rate and
    /// at the 16-bit integer scale. `utterance` seeds the dither noise.
    /// - Complexity: O(T · N log N) for T frames of an N-point FFT.
    public func compute(_ samples: [Float], utterance: String = "") -> FeatureMatrix {
        let options = config.frame
        let frames = options.frameCount(sampleCount: samples.count)
        var output = FeatureMatrix(frames: frames, dimension: config.baseDimension)
        guard frames > 0 else { return output }
        var noise = DitherNoise(seed: config.ditherSeed, utterance: utterance)
        samples.withUnsafeBufferPointer { wave in
            output.values.withUnsafeMutableBufferPointer { out in
                for t in 0..<frames {
                    computeFrame(t, wave: wave, noise: &noise, into: out.baseAddress! + t * output.dimension)
                }
            }
        }
        return output
    }

    /// One frame, step by step, into `row`.
    @inline(__always)
    private func computeFrame(_ t: Int, wave: UnsafeBufferPointer<Float>, noise: inout DitherNoise, into row: UnsafeMutablePointer<Float>) {
        extractFrame(t, wave: wave)
        let logEnergy = conditionFrame(noise: &noise)
        fft.execute(fftInput, fftOutput)
        computeSpectrum()
        computeMelEnergies()
        switch config.type {
        case .fbank: writeFilterbank(into: row, logEnergy: logEnergy)
        case .mfcc: writeCepstra(into: row, logEnergy: logEnergy)
        }
    }

    /// The frame's samples into the FFT input, reflecting out-of-range indices as Kaldi's
    /// `ExtractWindow` does.
    @inline(__always)
    private func extractFrame(_ t: Int, wave: UnsafeBufferPointer<Float>) {
        let length = config.frame.windowSize, start = config.frame.firstSample(ofFrame: t), count = wave.count
        if start >= 0 && start + length <= count {
            fftInput.update(from: wave.baseAddress! + start, count: length)
            return
        }
        for s in 0..<length {
            var index = start + s
            while index < 0 || index >= count {
                index = index < 0 ? -index - 1 : 2 * count - 1 - index
            }
            fftInput[s] = wave[index]
        }
    }

    /// Dither, DC removal, pre-emphasis, window and zero padding, in place; returns the log
    /// energy (of the raw frame, or of the windowed one without `rawEnergy`; 0 when unused).
    @inline(__always)
    private func conditionFrame(noise: inout DitherNoise) -> Float {
        let options = config.frame, length = options.windowSize, padded = options.paddedWindowSize
        let frame = fftInput
        if options.dither != 0 {
            noise.add(scale: Float(options.dither), to: frame, count: length)
        }
        if options.removeDCOffset {
            var sum: Float = 0
            for s in 0..<length { sum += frame[s] }
            let mean = sum / Float(length)
            for s in 0..<length { frame[s] -= mean }
        }
        let wantsEnergy = config.useEnergy
        var logEnergy: Float = 0
        if wantsEnergy && config.rawEnergy {
            logEnergy = Self.logEnergy(frame, length)
        }
        let coefficient = Float(options.preemphasisCoefficient)
        if coefficient != 0 {
            var s = length - 1
            while s > 0 {
                frame[s] -= coefficient * frame[s - 1]
                s -= 1
            }
            frame[0] -= coefficient * frame[0]
        }
        window.withUnsafeBufferPointer { w in
            for s in 0..<length { frame[s] *= w[s] }
        }
        if padded > length {
            (frame + length).update(repeating: 0, count: padded - length)
        }
        if wantsEnergy && !config.rawEnergy {
            logEnergy = Self.logEnergy(frame, length)
        }
        if wantsEnergy && config.energyFloor > 0 {
            logEnergy = max(logEnergy, Float(log(config.energyFloor)))
        }
        return logEnergy
    }

    /// The FFT output's power spectrum (or magnitude, without `usePower`).
    @inline(__always)
    private func computeSpectrum() {
        let half = config.frame.paddedWindowSize / 2, power = spectrum
        fftOutput.withMemoryRebound(to: Float.self, capacity: 2 * (half + 1)) { complex in
            for k in 0...half {
                let re = complex[2 * k], im = complex[2 * k + 1]
                power[k] = re * re + im * im
            }
        }
        if !config.usePower {
            for k in 0...half { power[k] = power[k].squareRoot() }
        }
    }

    /// Each mel filter's energy, floored at 1 with `htkCompat` and logged (with a `FLT_EPSILON`
    /// floor) for MFCC or log filterbanks.
    @inline(__always)
    private func computeMelEnergies() {
        let htk = config.htkCompat, takeLog = config.type == .mfcc || config.useLogFbank
        for (b, filter) in melBank.filters.enumerated() {
            var energy: Float = 0
            filter.weights.withUnsafeBufferPointer { weights in
                let base = spectrum + filter.firstBin
                for i in 0..<weights.count { energy += weights[i] * base[i] }
            }
            if htk && energy < 1 { energy = 1 }
            if takeLog { energy = logf(max(energy, Float.ulpOfOne)) }
            melEnergies[b] = energy
        }
    }

    /// Filterbank row: the mel energies, with the log energy first (Kaldi) or last (HTK).
    @inline(__always)
    private func writeFilterbank(into row: UnsafeMutablePointer<Float>, logEnergy: Float) {
        let bins = config.mel.binCount, wantsEnergy = config.useEnergy, htk = config.htkCompat
        (row + (wantsEnergy && !htk ? 1 : 0)).update(from: melEnergies, count: bins)
        if wantsEnergy { row[htk ? bins : 0] = logEnergy }
    }

    /// MFCC row: DCT of the log mel energies, liftered, the log energy in place of C0 when
    /// used; with `htkCompat`, C0 (or energy) last.
    @inline(__always)
    private func writeCepstra(into row: UnsafeMutablePointer<Float>, logEnergy: Float) {
        let bins = config.mel.binCount, ceps = config.cepstraCount, wantsEnergy = config.useEnergy
        dct.withUnsafeBufferPointer { d in
            lifter.withUnsafeBufferPointer { lift in
                for k in 0..<ceps {
                    var sum: Float = 0
                    let basis = d.baseAddress! + k * bins
                    for j in 0..<bins { sum += basis[j] * melEnergies[j] }
                    row[k] = sum * lift[k]
                }
            }
        }
        if wantsEnergy { row[0] = logEnergy }
        if config.htkCompat {
            // C0 (or energy) goes last; HTK's C0 is √2 larger than the orthonormal DCT's.
            let first = wantsEnergy ? row[0] : row[0] * Float(2.0.squareRoot())
            for k in 0..<(ceps - 1) { row[k] = row[k + 1] }
            row[ceps - 1] = first
        }
    }

    @inline(__always)
    private static func logEnergy(_ frame: UnsafeMutablePointer<Float>, _ length: Int) -> Float {
        var sum: Float = 0
        for s in 0..<length { sum += frame[s] * frame[s] }
        return logf(max(sum, Float.ulpOfOne))
    }
}
