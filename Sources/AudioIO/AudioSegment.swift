/// A part of a recording, as a Kaldi `segments` line gives it (`utt-id recording start end
/// [channel]`, seconds): what Kaldi's `extract-segments` cuts out.
public struct AudioSegment: Sendable, Equatable, Hashable {
    /// Start in seconds.
    public var start: Double
    /// End in seconds; nil (Kaldi's `-1`) for the end of the recording.
    public var end: Double?
    /// Channel of the recording (0-based), when the line names one.
    public var channel: Int?

    /// How far past the recording's end a segment may reach and be clamped (Kaldi's
    /// `extract-segments --max-overshoot`, 0.5 s).
    public static let maximumOvershoot = 0.5

    public init(start: Double, end: Double?, channel: Int? = nil) {
        self.start = start
        self.end = end
        self.channel = channel
    }
}

extension MonoAudio {
    /// The samples of `segment`; an end up to ``AudioSegment/maximumOvershoot`` past the audio
    /// is clamped, one further (or a start past the end) is an error naming `path`.
    public func cut(_ segment: AudioSegment, path: String) throws -> MonoAudio {
        let first = Int((segment.start * Double(sampleRate)).rounded())
        var last = segment.end.map { Int(($0 * Double(sampleRate)).rounded()) } ?? samples.count
        if last > samples.count {
            guard Double(last - samples.count) / Double(sampleRate) <= AudioSegment.maximumOvershoot else {
                throw AudioError(path: path, reason: "the segment \(segment.start)-\(segment.end!) s ends past the recording's \(duration) s")
            }
            last = samples.count
        }
        guard first < last else {
            throw AudioError(path: path, reason: "the segment \(segment.start)-\(segment.end.map { "\($0)" } ?? "end") s is empty or starts past the recording's \(duration) s")
        }
        return MonoAudio(samples: Array(samples[first..<last]), sampleRate: sampleRate)
    }
}

extension AudioFile {
    /// Reads `path` (``read(_:options:)``) and cuts `segment` out of it when one is given; the
    /// segment's channel, when it names one, takes the place of the options' channel.
    public static func read(_ path: String, segment: AudioSegment?, options: AudioReadOptions) throws -> MonoAudio {
        guard let segment else { return try read(path, options: options) }
        var options = options
        if let channel = segment.channel { options.channel = channel }
        return try read(path, options: options).cut(segment, path: path)
    }
}
