import CSamplerate

/// Sample-rate conversion with libsamplerate's best-quality sinc converter.
public enum Resampler {
    /// Resamples mono `samples` from `sourceRate` to `targetRate` Hz.
    /// - Parameter path: names the input in errors.
    /// - Complexity: O(n) with a long sinc filter per output sample.
    public static func resample(_ samples: [Float], from sourceRate: Int, to targetRate: Int, path: String = "audio") throws -> [Float] {
        guard sourceRate > 0, targetRate > 0 else {
            throw AudioError(path: path, reason: "cannot resample from \(sourceRate) Hz to \(targetRate) Hz")
        }
        if sourceRate == targetRate || samples.isEmpty { return samples }
        let ratio = Double(targetRate) / Double(sourceRate)
        guard src_is_valid_ratio(ratio) != 0 else {
            throw AudioError(path: path, reason: "resampling ratio \(targetRate)/\(sourceRate) is outside libsamplerate's range")
        }
        return try resample(samples, ratio: ratio, path: path)
    }

    /// Resamples mono `samples` by `ratio` (output samples per input sample). Played back at the
    /// input's rate, a ratio r stretches the audio by r and scales its pitch by 1/r: speed
    /// perturbation by a factor f is `ratio: 1 / f`, as sox's `speed f` does.
    public static func resample(_ samples: [Float], ratio: Double, path: String = "audio") throws -> [Float] {
        guard ratio.isFinite, src_is_valid_ratio(ratio) != 0 else {
            throw AudioError(path: path, reason: "resampling ratio \(ratio) is outside libsamplerate's range")
        }
        if ratio == 1 || samples.isEmpty { return samples }
        let capacity = Int((Double(samples.count) * ratio).rounded(.up)) + 16
        var output = [Float](repeating: 0, count: capacity)
        var data = SRC_DATA()
        let status: Int32 = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                data.data_in = input.baseAddress
                data.input_frames = Int(samples.count)
                data.data_out = out.baseAddress
                data.output_frames = Int(capacity)
                data.src_ratio = ratio
                data.end_of_input = 1
                return src_simple(&data, Int32(SRC_SINC_BEST_QUALITY), 1)
            }
        }
        guard status == 0 else {
            throw AudioError(path: path, reason: "resampling failed: \(String(cString: src_strerror(status)))")
        }
        return Array(output[0..<Int(data.output_frames_gen)])
    }
}
