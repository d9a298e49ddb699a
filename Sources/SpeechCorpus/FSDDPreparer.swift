import Foundation

/// How utterances are split into training and test sets.
public enum CorpusSplit: Equatable, Sendable, CustomStringConvertible {
    /// FSDD's own split: takes 0-4 of every speaker and digit are the test set.
    case official
    /// One speaker is the test set, the others the training set.
    case heldOutSpeaker(String)

    /// Parses `official` or `speaker:NAME`.
    public init?(argument: String) {
        if argument == "official" {
            self = .official
        } else if argument.hasPrefix("speaker:"), argument.count > 8 {
            self = .heldOutSpeaker(String(argument.dropFirst(8)))
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .official: return "official"
        case .heldOutSpeaker(let name): return "speaker:\(name)"
        }
    }
}

/// Turns recordings named `{label}_{speaker}_{index}.wav` (the Free Spoken Digit Dataset's
/// convention) into utterances with transcripts and speakers, and splits them.
public enum FSDDPreparer {
    /// The word written in `text` for an FSDD label: digits become English words.
    public static func word(forLabel label: String) -> String {
        let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
        if let digit = Int(label), (0...9).contains(digit), label.count == 1 { return words[digit] }
        return label
    }

    /// The recording's take index, parsed from its name.
    public struct Recording: Sendable, Equatable {
        public var utterance: Utterance
        public var label: String
        public var take: Int
    }

    /// Every `.wav` below `source` (one level), parsed. A `.wav` whose name does not follow
    /// `{label}_{speaker}_{index}` is an error naming it.
    public static func recordings(in source: String) throws -> [Recording] {
        let folder = URL(fileURLWithPath: source)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: source)
        } catch {
            throw CorpusError.at(source, FileManager.default.fileExists(atPath: source) ? "cannot be read" : "does not exist")
        }
        var recordings: [Recording] = []
        for name in names.sorted() where name.lowercased().hasSuffix(".wav") {
            let stem = String(name.dropLast(4))
            let parts = stem.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, !parts[0].isEmpty, isValidIdentifier(parts[1]), let take = Int(parts[2]), take >= 0 else {
                throw CorpusError.at(folder.appendingPathComponent(name).path, "name is not {label}_{speaker}_{index}.wav")
            }
            let word = word(forLabel: parts[0])
            guard isValidIdentifier(word) else {
                throw CorpusError.at(folder.appendingPathComponent(name).path, "label '\(parts[0])' cannot be a word")
            }
            // Speaker first, so that sorting by id groups a speaker's utterances (as Kaldi wants).
            let id = "\(parts[1])_\(parts[0])_\(parts[2])"
            let path = folder.appendingPathComponent(name).standardizedFileURL.path
            recordings.append(Recording(utterance: Utterance(id: id, audioPath: path, speaker: parts[1], words: [word]),
                                        label: parts[0], take: take))
        }
        guard !recordings.isEmpty else { throw CorpusError.at(source, "holds no {label}_{speaker}_{index}.wav recordings") }
        return recordings
    }

    /// Splits `recordings` into training and test utterances.
    public static func split(_ recordings: [Recording], by split: CorpusSplit) throws -> (train: [Utterance], test: [Utterance]) {
        var train: [Utterance] = [], test: [Utterance] = []
        switch split {
        case .official:
            for r in recordings { if r.take <= 4 { test.append(r.utterance) } else { train.append(r.utterance) } }
        case .heldOutSpeaker(let name):
            let speakers = Set(recordings.compactMap { $0.utterance.speaker })
            guard speakers.contains(name) else {
                throw CorpusError("speaker '\(name)' is not in the recordings (speakers: \(speakers.sorted().joined(separator: ", ")))")
            }
            for r in recordings { if r.utterance.speaker == name { test.append(r.utterance) } else { train.append(r.utterance) } }
        }
        return (train, test)
    }
}
