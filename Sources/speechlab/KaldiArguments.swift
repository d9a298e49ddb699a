import FeatureExtraction

/// Kaldi's spellings of feature options on the command line, rewritten to the ones the
/// argument parser takes, so that every line of a Kaldi `.conf` file also works as a flag:
/// `--snip_edges=false` → `--snip-edges=false`; a bare Boolean `--snip-edges` → `--snip-edges=true`;
/// Kaldi's Boolean values `t`, `f`, `1`, `0` (any case) → `true`, `false`.
enum KaldiArguments {
    /// The Boolean options among ``FeatureConfig/kaldiOptionNames``.
    static let booleanOptions: Set<String> = [
        "remove-dc-offset", "round-to-power-of-two", "snip-edges", "use-energy", "raw-energy", "htk-compat",
        "use-power", "use-log-fbank", "norm-vars", "allow-downsample", "allow-upsample",
    ]

    static func normalize(_ arguments: [String]) -> [String] {
        let known = Set(FeatureConfig.kaldiOptionNames)
        var result: [String] = []
        var i = 0
        while i < arguments.count {
            let argument = arguments[i]
            i += 1
            if argument == "--" {
                result += arguments[(i - 1)...]
                break
            }
            guard argument.hasPrefix("--") else {
                result.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            let equals = body.firstIndex(of: "=")
            let name = String(body[..<(equals ?? body.endIndex)]).replacingOccurrences(of: "_", with: "-")
            guard known.contains(name) else {
                result.append(argument)
                continue
            }
            var value = equals.map { String(body[body.index(after: $0)...]) }
            if booleanOptions.contains(name) {
                if value == nil {
                    // `--snip-edges false` as well as a bare `--snip-edges` (true, as in Kaldi).
                    if i < arguments.count, let next = booleanValue(arguments[i]) {
                        value = next
                        i += 1
                    } else {
                        value = "true"
                    }
                } else if let v = value, let normalized = booleanValue(v) {
                    value = normalized
                }
            }
            result.append("--" + name + (value.map { "=" + $0 } ?? ""))
        }
        return result
    }

    /// `true`/`false` for Kaldi's Boolean spellings, nil for anything else.
    static func booleanValue(_ text: String) -> String? {
        switch text.lowercased() {
        case "true", "t", "1": return "true"
        case "false", "f", "0": return "false"
        default: return nil
        }
    }
}
