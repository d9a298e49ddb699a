import Foundation
import SpeechBase

/// Kaldi's option names for ``FeatureConfig``, so that a Kaldi `mfcc.conf` or `fbank.conf`
/// translates one to one, from a file (`--config`) or from the command line.
extension FeatureConfig {
    /// Every option name ``apply(option:value:)`` takes, without the leading dashes.
    public static let kaldiOptionNames: [String] = [
        "sample-frequency", "frame-shift", "frame-length", "dither", "preemphasis-coefficient",
        "remove-dc-offset", "window-type", "round-to-power-of-two", "blackman-coeff", "snip-edges",
        "num-mel-bins", "low-freq", "high-freq", "num-ceps", "cepstral-lifter", "use-energy",
        "energy-floor", "raw-energy", "htk-compat", "use-power", "use-log-fbank",
        "delta-order", "delta-window", "cmvn", "norm-vars", "dither-seed", "vtln-warp", "vtln-low", "vtln-high",
        // Accepted for compatibility; see apply(option:value:).
        "allow-downsample", "allow-upsample", "debug-mel", "verbose",
    ]

    /// Sets the option Kaldi calls `name` (without dashes) from its text `value`.
    /// A missing value for a Boolean means true, as in Kaldi.
    public mutating func apply(option name: String, value: String?) throws {
        func number() throws -> Double {
            guard let text = value, let v = Double(text), v.isFinite else {
                throw FeatureConfigurationError("--\(name) needs a number, not '\(value ?? "")'")
            }
            return v
        }
        func integer() throws -> Int {
            guard let text = value, let v = Int(text) else {
                throw FeatureConfigurationError("--\(name) needs a whole number, not '\(value ?? "")'")
            }
            return v
        }
        func boolean() throws -> Bool {
            switch value?.lowercased() {
            case nil, "true", "t", "1": return true
            case "false", "f", "0": return false
            default: throw FeatureConfigurationError("--\(name) needs true or false, not '\(value!)'")
            }
        }
        switch name {
        case "sample-frequency": frame.sampleFrequency = try number()
        case "frame-shift": frame.frameShiftMs = try number()
        case "frame-length": frame.frameLengthMs = try number()
        case "dither": frame.dither = try number()
        case "preemphasis-coefficient": frame.preemphasisCoefficient = try number()
        case "remove-dc-offset": frame.removeDCOffset = try boolean()
        case "window-type":
            guard let text = value, let type = WindowType(rawValue: text) else {
                throw FeatureConfigurationError("--window-type must be one of \(WindowType.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value ?? "")'")
            }
            frame.windowType = type
        case "round-to-power-of-two": frame.roundToPowerOfTwo = try boolean()
        case "blackman-coeff": frame.blackmanCoefficient = try number()
        case "snip-edges": frame.snipEdges = try boolean()
        case "num-mel-bins": mel.binCount = try integer()
        case "low-freq": mel.lowFrequency = try number()
        case "high-freq": mel.highFrequency = try number()
        case "num-ceps": cepstraCount = try integer()
        case "cepstral-lifter": cepstralLifter = try number()
        case "use-energy": useEnergy = try boolean()
        case "energy-floor": energyFloor = try number()
        case "raw-energy": rawEnergy = try boolean()
        case "htk-compat": htkCompat = try boolean()
        case "use-power": usePower = try boolean()
        case "use-log-fbank": useLogFbank = try boolean()
        case "delta-order": deltaOrder = try integer()
        case "delta-window": deltaWindow = try integer()
        case "cmvn":
            guard let text = value, let mode = CMVNMode(rawValue: text) else {
                throw FeatureConfigurationError("--cmvn must be utterance, speaker or none, not '\(value ?? "")'")
            }
            cmvn = mode
        case "norm-vars": normalizeVariance = try boolean()
        case "dither-seed":
            guard let text = value, let seed = UInt64(text) else { throw FeatureConfigurationError("--dither-seed needs a whole number ≥ 0") }
            ditherSeed = seed
        case "allow-downsample", "allow-upsample":
            // Kaldi refuses other rates unless these are set; speechlab resamples unless --no-resample.
            _ = try boolean()
        case "vtln-warp": mel.vtlnWarp = try number()
        case "vtln-low": mel.vtlnLow = try number()
        case "vtln-high": mel.vtlnHigh = try number()
        case "debug-mel", "verbose":
            break
        default:
            throw FeatureConfigurationError("unknown feature option --\(name)")
        }
    }

    /// Applies a Kaldi configuration file (`--name=value` per line, `#` comments) and returns
    /// the names it set. Errors name the file and line.
    @discardableResult
    public mutating func applyKaldiConfig(_ path: String) throws -> Set<String> {
        var names: Set<String> = []
        for option in try Self.readKaldiConfig(path) {
            do {
                try apply(option: option.name, value: option.value)
            } catch {
                throw FeatureConfigurationError("\(path):\(option.line): \(error)")
            }
            names.insert(option.name)
        }
        return names
    }

    /// Reads a Kaldi configuration file as (name, value, line) entries.
    public static func readKaldiConfig(_ path: String) throws -> [(name: String, value: String?, line: Int)] {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw FeatureConfigurationError("\(error)") }
        var options: [(String, String?, Int)] = []
        for (index, rawLine) in lines.enumerated() {
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            guard trimmed.hasPrefix("--") else {
                throw FeatureConfigurationError("\(path):\(index + 1): expected --name=value, got '\(trimmed)'")
            }
            let body = trimmed.dropFirst(2)
            let name: String, value: String?
            if let eq = body.firstIndex(of: "=") {
                name = String(body[..<eq]).replacingOccurrences(of: "_", with: "-")
                value = String(body[body.index(after: eq)...])
            } else {
                name = String(body).replacingOccurrences(of: "_", with: "-")
                value = nil
            }
            guard kaldiOptionNames.contains(name) else {
                throw FeatureConfigurationError("\(path):\(index + 1): unknown feature option --\(name)")
            }
            options.append((name, value, index + 1))
        }
        return options
    }
}
