import AudioIO
import Foundation
import SpeechBase

/// Builds a connected-digit corpus from isolated FSDD-style recordings: random strings of
/// 1-7 digits, each a take of one speaker, joined by 0.1-0.5 s of silence, with low noise
/// over everything. Training strings use takes 5-49 and test strings takes 0-4, so the two
/// share no recording.
public struct ConnectedDigitsBuilder: Sendable {
    public var trainUtterances = 1000
    public var testUtterances = 200
    public var minimumDigits = 1
    public var maximumDigits = 7
    /// Standard deviation of the added Gaussian noise (full scale = 1).
    public var noiseLevel = 0.002
    public var seed: UInt64 = 1

    public init() {}

    /// Writes `out/audio/*.wav`, and data directories `out/train` and `out/test`.
    public func build(from recordings: [FSDDPreparer.Recording], to out: String, progress: ((Int, Int) -> Void)? = nil) throws {
        var generator = SplitMix64(seed: seed)
        let audioFolder = (out as NSString).appendingPathComponent("audio")
        do { try FileManager.default.createDirectory(atPath: audioFolder, withIntermediateDirectories: true) } catch {
            throw CorpusError.at(audioFolder, "cannot be created: \(FileError.reason(error))")
        }
        let bySpeaker = Dictionary(grouping: recordings) { $0.utterance.speaker ?? "" }
        let speakers = bySpeaker.keys.sorted()
        guard !speakers.isEmpty else { throw CorpusError("no recordings to build connected digits from") }
        var cache: [String: MonoAudio] = [:]
        let total = trainUtterances + testUtterances
        var done = 0
        for (set, count, takes) in [("train", trainUtterances, 5...Int.max), ("test", testUtterances, 0...4)] {
            var utterances: [Utterance] = []
            for n in 0..<count {
                let speaker = speakers[Int(generator.next() % UInt64(speakers.count))]
                let pool = bySpeaker[speaker]!.filter { takes.contains($0.take) }
                guard !pool.isEmpty else { throw CorpusError("speaker \(speaker) has no takes in \(takes) for the \(set) set") }
                let length = minimumDigits + Int(generator.next() % UInt64(maximumDigits - minimumDigits + 1))
                var samples: [Float] = []
                var rate = 0
                var words: [String] = []
                func silence(_ seconds: Double) { samples += [Float](repeating: 0, count: Int(seconds * Double(rate))) }
                for k in 0..<length {
                    let take = pool[Int(generator.next() % UInt64(pool.count))]
                    let audio: MonoAudio
                    if let cached = cache[take.utterance.audioPath] { audio = cached } else {
                        audio = try AudioFile.read(take.utterance.audioPath, options: AudioReadOptions(scale: 1))
                        cache[take.utterance.audioPath] = audio
                    }
                    if rate == 0 { rate = audio.sampleRate }
                    guard audio.sampleRate == rate else { throw CorpusError.at(take.utterance.audioPath, "is at \(audio.sampleRate) Hz, the others at \(rate)") }
                    silence(k == 0 ? 0.1 + 0.2 * generator.unit() : 0.1 + 0.4 * generator.unit())
                    samples += audio.samples
                    words += take.utterance.words ?? []
                }
                silence(0.1 + 0.2 * generator.unit())
                for i in samples.indices { samples[i] += Float(noiseLevel * generator.gaussian()) }
                let id = "\(speaker)_\(set)_\(String(format: "%05d", n))"
                let path = (audioFolder as NSString).appendingPathComponent(id + ".wav")
                try AudioFile.write(samples, sampleRate: rate, to: path)
                utterances.append(Utterance(id: id, audioPath: URL(fileURLWithPath: path).standardizedFileURL.path, speaker: speaker, words: words))
                done += 1
                progress?(done, total)
            }
            try DataDirectory.write(utterances, to: (out as NSString).appendingPathComponent(set))
        }
    }
}
