import ArgumentParser
import FeatureExtraction
import Foundation
import SpeechCorpus

/// Feature options as Kaldi names them, so that a Kaldi `mfcc.conf` translates one to one.
/// Unset flags keep the preset's value (or the `--config` file's).
struct FeatureFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Starting defaults: kaldi (compute-mfcc-feats) or htk (HCopy-like).", valueName: "kaldi|htk"))
    var preset: FeaturePreset = .kaldi

    @Option(help: ArgumentHelp("Features: mfcc (cepstra) or fbank (log-mel energies).", valueName: "mfcc|fbank"))
    var type: FeatureType = .mfcc

    @Option(help: ArgumentHelp("Kaldi configuration file (--name=value lines), applied before these flags.", valueName: "file"))
    var config: String?

    @Flag(help: "Append deltas and delta-deltas (Kaldi's add-deltas, window 2).")
    var deltas = false

    @Option(help: ArgumentHelp("Mean (and variance) normalization per utterance, per speaker (utt2spk) or none.", valueName: "utterance|speaker|none"))
    var cmvn: CMVNMode?

    @Option(name: .customLong("norm-vars"), help: ArgumentHelp("Also normalize variances (true|false).", valueName: "bool"))
    var normVars: Bool?

    @Option(name: .customLong("sample-frequency"), help: ArgumentHelp("Working sample rate in Hz; default: the first file's. Other rates are resampled.", valueName: "Hz"))
    var sampleFrequency: Double?
    @Option(name: .customLong("allow-downsample"), help: ArgumentHelp("Resample audio at a higher rate than the working rate down to it (true|false; Kaldi's default false: refused).", valueName: "bool"))
    var allowDownsample: Bool?
    @Option(name: .customLong("allow-upsample"), help: ArgumentHelp("Resample audio at a lower rate than the working rate up to it (true|false; default false: refused).", valueName: "bool"))
    var allowUpsample: Bool?
    @Option(name: .customLong("dither"), help: ArgumentHelp("Dither noise standard deviation (0: none; kaldi preset: 1).", valueName: "x"))
    var dither: Double?
    @Option(name: .customLong("dither-seed"), help: ArgumentHelp("Seed of the dither noise.", valueName: "n"))
    var ditherSeed: UInt64?
    @Option(name: .customLong("preemphasis-coefficient"), help: ArgumentHelp("Pre-emphasis coefficient (default 0.97).", valueName: "x"))
    var preemphasisCoefficient: Double?
    @Option(name: .customLong("remove-dc-offset"), help: ArgumentHelp("Subtract each frame's mean (true|false).", valueName: "bool"))
    var removeDCOffset: Bool?
    @Option(name: .customLong("window-type"), help: ArgumentHelp("povey, hamming, hanning, rectangular, sine or blackman.", valueName: "name"))
    var windowType: String?
    @Option(name: .customLong("blackman-coeff"), help: ArgumentHelp("Blackman window coefficient (default 0.42).", valueName: "x"))
    var blackmanCoeff: Double?
    @Option(name: .customLong("frame-length"), help: ArgumentHelp("Frame length in milliseconds (default 25).", valueName: "ms"))
    var frameLength: Double?
    @Option(name: .customLong("frame-shift"), help: ArgumentHelp("Frame shift in milliseconds (default 10).", valueName: "ms"))
    var frameShift: Double?
    @Option(name: .customLong("round-to-power-of-two"), help: ArgumentHelp("Zero-pad frames to a power of two (true|false).", valueName: "bool"))
    var roundToPowerOfTwo: Bool?
    @Option(name: .customLong("snip-edges"), help: ArgumentHelp("true: only frames that fit in the audio; false: frames centred every shift, edges reflected.", valueName: "bool"))
    var snipEdges: Bool?
    @Option(name: .customLong("num-mel-bins"), help: ArgumentHelp("Mel filters (kaldi 23, htk 26).", valueName: "n"))
    var numMelBins: Int?
    @Option(name: .customLong("low-freq"), help: ArgumentHelp("Lowest filter edge in Hz (kaldi 20).", valueName: "Hz"))
    var lowFreq: Double?
    @Option(name: .customLong("high-freq"), parsing: .unconditional, help: ArgumentHelp("Highest filter edge in Hz; ≤ 0 counts down from Nyquist (default 0).", valueName: "Hz"))
    var highFreq: Double?
    @Option(name: .customLong("vtln-warp"), help: ArgumentHelp("VTLN warp factor α of the mel filters' frequencies, f/α between --vtln-low and --vtln-high (default 1: none; Kaldi's range 0.8-1.2).", valueName: "α"))
    var vtlnWarp: Double?
    @Option(name: .customLong("vtln-low"), help: ArgumentHelp("VTLN: lower cut-off of the linear part in Hz (default 100).", valueName: "Hz"))
    var vtlnLow: Double?
    @Option(name: .customLong("vtln-high"), parsing: .unconditional, help: ArgumentHelp("VTLN: upper cut-off in Hz; ≤ 0 counts down from Nyquist (default -500).", valueName: "Hz"))
    var vtlnHigh: Double?
    @Option(name: .customLong("num-ceps"), help: ArgumentHelp("Cepstra kept, C0 included (default 13).", valueName: "n"))
    var numCeps: Int?
    @Option(name: .customLong("cepstral-lifter"), help: ArgumentHelp("Lifter coefficient Q (default 22; 0: none).", valueName: "Q"))
    var cepstralLifter: Double?
    @Option(name: .customLong("use-energy"), help: ArgumentHelp("MFCC: log-energy in place of C0; fbank: extra energy dimension (true|false).", valueName: "bool"))
    var useEnergy: Bool?
    @Option(name: .customLong("energy-floor"), help: ArgumentHelp("Floor on the energy (default 0: none).", valueName: "x"))
    var energyFloor: Double?
    @Option(name: .customLong("raw-energy"), help: ArgumentHelp("Energy before pre-emphasis and windowing (true|false).", valueName: "bool"))
    var rawEnergy: Bool?
    @Option(name: .customLong("htk-compat"), help: ArgumentHelp("Energy/C0 last, C0 scaled by √2, mel floor 1 (true|false).", valueName: "bool"))
    var htkCompat: Bool?
    @Option(name: .customLong("use-power"), help: ArgumentHelp("Power spectrum, else magnitude (true|false).", valueName: "bool"))
    var usePower: Bool?
    @Option(name: .customLong("use-log-fbank"), help: ArgumentHelp("fbank: log of the mel energies (true|false).", valueName: "bool"))
    var useLogFbank: Bool?

    /// Flags given on the command line, as Kaldi option names and values.
    var givenOptions: [(String, String)] {
        let all: [(String, CustomStringConvertible?)] = [
            ("sample-frequency", sampleFrequency), ("dither", dither), ("dither-seed", ditherSeed),
            ("preemphasis-coefficient", preemphasisCoefficient), ("remove-dc-offset", removeDCOffset),
            ("window-type", windowType), ("blackman-coeff", blackmanCoeff), ("frame-length", frameLength),
            ("frame-shift", frameShift), ("round-to-power-of-two", roundToPowerOfTwo), ("snip-edges", snipEdges),
            ("num-mel-bins", numMelBins), ("low-freq", lowFreq), ("high-freq", highFreq),
            ("vtln-warp", vtlnWarp), ("vtln-low", vtlnLow), ("vtln-high", vtlnHigh), ("num-ceps", numCeps),
            ("cepstral-lifter", cepstralLifter), ("use-energy", useEnergy), ("energy-floor", energyFloor),
            ("raw-energy", rawEnergy), ("htk-compat", htkCompat), ("use-power", usePower),
            ("use-log-fbank", useLogFbank), ("cmvn", cmvn?.rawValue), ("norm-vars", normVars),
        ]
        return all.compactMap { name, value in value.map { (name, $0.description) } }
    }

    /// Whether any feature option was given (a preset, type, config file, deltas or a Kaldi option).
    var anyGiven: Bool { preset != .kaldi || type != .mfcc || config != nil || deltas || !givenOptions.isEmpty }

    /// The configuration: preset defaults, then the `--config` file (read once), then the flags
    /// given; with Kaldi's resampling policy (audio at another rate than the working rate is
    /// refused unless `--allow-downsample` or `--allow-upsample`, flag or file line, allows it).
    func resolve() throws -> ResolvedFeatures {
        var result = FeatureConfig(preset: preset, type: type)
        var named: Set<String> = []
        var allowed: [String: Bool] = [:]
        if let config {
            for option in try FeatureConfig.readKaldiConfig(config) {
                do { try result.apply(option: option.name, value: option.value) } catch {
                    throw FeatureConfigurationError("\(config):\(option.line): \(error)")
                }
                named.insert(option.name)
                if option.name.hasPrefix("allow-") { allowed[option.name] = option.value.map { KaldiArguments.booleanValue($0) == "true" } ?? true }
            }
        }
        for (name, value) in givenOptions {
            try result.apply(option: name, value: value)
            named.insert(name)
        }
        if deltas { result.deltaOrder = 2 }
        return ResolvedFeatures(config: result, sampleRateGiven: named.contains("sample-frequency"),
                                allowDownsample: allowDownsample ?? allowed["allow-downsample"] ?? false,
                                allowUpsample: allowUpsample ?? allowed["allow-upsample"] ?? false)
    }

    /// The front end a model trains on by default, the one policy of every training command:
    /// these options, with deltas and delta-deltas (`deltas`), and, unless the flags or the
    /// `--config` file say how to normalize, means and variances per speaker when `data` is a
    /// data directory with `utt2spk` (as Kaldi recipes do).
    func trainingFrontEnd(for data: String, deltas: Bool = true) throws -> ResolvedFeatures {
        var resolved = try resolve()
        if deltas { resolved.config.deltaOrder = max(resolved.config.deltaOrder, 2) }
        if cmvn == nil && normVars == nil && config == nil, DataDirectory.isDataDirectory(data),
           FileManager.default.fileExists(atPath: (data as NSString).appendingPathComponent("utt2spk")) {
            resolved.config.cmvn = .speaker
            resolved.config.normalizeVariance = true
        }
        return resolved
    }
}

/// Feature flags resolved into a configuration, once.
struct ResolvedFeatures {
    var config: FeatureConfig
    /// Whether the sample rate was set (else it is the first file's).
    var sampleRateGiven: Bool
    var allowDownsample: Bool
    var allowUpsample: Bool
}

extension FeaturePreset: ExpressibleByArgument {}
extension FeatureType: ExpressibleByArgument {}
extension CMVNMode: ExpressibleByArgument {}
