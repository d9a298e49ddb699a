import Foundation
import SpeechBase

/// Reads CMU's AN4 census database as its release lays it out:
///
///     wav/an4_clstk/<speaker>/<file-id>.flac (or .wav)      training part
///     etc/an4_train.transcription                         <s> WORDS </s> (file-id)
///     wav/an4test_clstk/<speaker>/<file-id>.flac (or .wav)  test part, when present
///     etc/an4_test.transcription                          WORDS (file-id)
///
/// Utterance ids put the speaker first (`fash-an251-b`), so that sorting by id groups each
/// speaker's utterances as Kaldi requires.
public enum AN4Preparer {
    /// The parts found under `source`: always `train`; `test` when the release's test part is there.
    public static func read(_ source: String) throws -> (train: [Utterance], test: [Utterance]?) {
        let root = source as NSString
        let train = try part(transcription: root.appendingPathComponent("etc/an4_train.transcription"),
                             audio: root.appendingPathComponent("wav/an4_clstk"))
        let testTranscription = root.appendingPathComponent("etc/an4_test.transcription")
        let testAudio = root.appendingPathComponent("wav/an4test_clstk")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: testTranscription),
              FileManager.default.fileExists(atPath: testAudio, isDirectory: &isFolder), isFolder.boolValue else { return (train, nil) }
        return (train, try part(transcription: testTranscription, audio: testAudio))
    }

    /// One part: a transcription file and the folder of per-speaker audio folders. Every
    /// transcribed utterance must have its audio; errors name the file and line.
    static func part(transcription: String, audio: String) throws -> [Utterance] {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: transcription) } catch { throw CorpusError("\(error)") }
        var utterances: [Utterance] = [], seen = Set<String>()
        for (n, line) in lines.enumerated() {
            var fields = TextFile.fields(line).map(String.init)
            guard !fields.isEmpty else { continue }
            guard let last = fields.popLast(), last.hasPrefix("("), last.hasSuffix(")"), last.count > 2 else {
                throw CorpusError.at(transcription, line: n + 1, "does not end with the file id in parentheses, '(an251-fash-b)'")
            }
            let fileID = String(last.dropFirst().dropLast())
            let parts = fileID.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, isValidIdentifier(fileID), !parts[1].isEmpty else {
                throw CorpusError.at(transcription, line: n + 1, "file id '\(fileID)' is not <name>-<speaker>-<take>")
            }
            if fields.first == "<s>" { fields.removeFirst() }
            if fields.last == "</s>" { fields.removeLast() }
            guard !fields.isEmpty else { throw CorpusError.at(transcription, line: n + 1, "utterance \(fileID) has no words") }
            let speaker = String(parts[1])
            let folder = (audio as NSString).appendingPathComponent(speaker) as NSString
            guard let path = ["flac", "wav"].map({ folder.appendingPathComponent("\(fileID).\($0)") })
                .first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                throw CorpusError.at(transcription, line: n + 1, "utterance \(fileID) has no audio: neither \(fileID).flac nor \(fileID).wav in \(folder)")
            }
            let id = "\(speaker)-\(fileID)"
            guard seen.insert(id).inserted else { throw CorpusError.at(transcription, line: n + 1, "utterance \(fileID) is listed twice") }
            utterances.append(Utterance(id: id, audioPath: URL(fileURLWithPath: path).standardizedFileURL.path, speaker: speaker, words: fields))
        }
        guard !utterances.isEmpty else { throw CorpusError.at(transcription, "lists no utterances") }
        return utterances
    }

    /// Whole speakers for a dev set: `count` of them, evenly spaced in sorted order (so the
    /// choice is deterministic and mixes the corpus's `f…` and `m…` speakers).
    public static func devSpeakers(of utterances: [Utterance], count: Int) -> [String] {
        let speakers = Set(utterances.compactMap(\.speaker)).sorted()
        guard count > 0, !speakers.isEmpty else { return [] }
        let n = Swift.min(count, speakers.count)
        return (0..<n).map { speakers[$0 * speakers.count / n] }
    }
}
