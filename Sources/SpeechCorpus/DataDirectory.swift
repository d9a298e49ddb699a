import AudioIO
import Foundation
import SpeechBase

/// A Kaldi-style data directory: `wav.scp` (`utt-id path`), optional `text` (`utt-id WORD ...`),
/// optional `utt2spk` (`utt-id speaker-id`), optional `segments` (`utt-id recording-id start
/// end [channel]`: then `wav.scp` lists recordings, and each utterance is a part of one) and
/// optional `utt2uniq` (`utt-id original-utt-id`, for perturbed copies).
///
/// Reading one never runs a command: `wav.scp` entries that are pipes (`cmd |`), standard input
/// (`-`) or archive offsets (`file.ark:123`) are refused. Relative audio paths are taken relative
/// to the current directory, as Kaldi does.
public struct DataDirectory: Sendable {
    /// The folder.
    public var path: String
    /// Utterances in `wav.scp` order.
    public var utterances: [Utterance]

    public init(path: String, utterances: [Utterance]) {
        self.path = path
        self.utterances = utterances
    }

    /// Whether `path` looks like a data directory (it holds `wav.scp`).
    public static func isDataDirectory(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("wav.scp"))
    }

    /// Reads the data directory at `path`.
    ///
    /// When `text` exists, it must name exactly the utterances of `wav.scp`; when `utt2spk` exists,
    /// it must name each of them. Errors name the file, the line and the reason.
    public static func load(_ path: String) throws -> DataDirectory {
        let folder = path as NSString
        let scpPath = folder.appendingPathComponent("wav.scp")
        guard FileManager.default.fileExists(atPath: scpPath) else {
            throw CorpusError.at(path, "is not a data directory: it has no wav.scp")
        }
        let scp = try KaldiTable(path: scpPath, requireValue: true)
        for entry in scp.entries { try checkAudioPath(entry.value, in: scpPath, line: entry.line) }
        // Where each utterance is listed (wav.scp, or segments when the directory has one).
        var listing = scp
        var utterances: [Utterance] = []
        let segmentsPath = folder.appendingPathComponent("segments")
        if FileManager.default.fileExists(atPath: segmentsPath) {
            listing = try KaldiTable(path: segmentsPath, requireValue: true)
            utterances = try readSegments(listing, recordings: scp)
        } else {
            utterances.reserveCapacity(scp.entries.count)
            for entry in scp.entries { utterances.append(Utterance(id: entry.key, audioPath: entry.value)) }
        }
        if utterances.isEmpty {
            throw CorpusError.at(listing.path, "lists no utterances")
        }
        var index: [String: Int] = [:]
        for (i, u) in utterances.enumerated() { index[u.id] = i }

        let textPath = folder.appendingPathComponent("text")
        if FileManager.default.fileExists(atPath: textPath) {
            let text = try KaldiTable(path: textPath, requireValue: false)
            for entry in text.entries {
                guard let i = index[entry.key] else {
                    throw CorpusError.at(textPath, line: entry.line, "utterance '\(entry.key)' has a transcript but no audio in \((listing.path as NSString).lastPathComponent)")
                }
                utterances[i].words = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            }
            if let missing = utterances.first(where: { $0.words == nil }) {
                let line = listing.entries.first { $0.key == missing.id }!.line
                let count = utterances.filter { $0.words == nil }.count
                throw CorpusError.at(listing.path, line: line, "utterance '\(missing.id)' has audio but no transcript in text"
                    + (count > 1 ? " (and \(count - 1) more)" : ""))
            }
        }

        let speakerPath = folder.appendingPathComponent("utt2spk")
        if let speakers = try identifierTable(speakerPath, naming: "speaker id", index: index, listing: listing) {
            for (i, speaker) in speakers { utterances[i].speaker = speaker }
            if let missing = utterances.first(where: { $0.speaker == nil }) {
                throw CorpusError.at(speakerPath, "utterance '\(missing.id)' has no speaker")
            }
        }
        // Not every utterance needs an entry: an original is its own.
        let originals = try identifierTable(folder.appendingPathComponent("utt2uniq"), naming: "utterance id", index: index, listing: listing)
        for (i, original) in originals ?? [] { utterances[i].original = original }
        return DataDirectory(path: path, utterances: utterances)
    }

    /// A table of `utt-id identifier` lines (`utt2spk`, `utt2uniq`) as (utterance index, value),
    /// or nil when the file does not exist; an unknown utterance or a bad identifier is named.
    static func identifierTable(_ path: String, naming kind: String, index: [String: Int], listing: KaldiTable) throws -> [(Int, String)]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try KaldiTable(path: path, requireValue: true).entries.map { entry in
            guard let i = index[entry.key] else {
                throw CorpusError.at(path, line: entry.line, "utterance '\(entry.key)' is not in \((listing.path as NSString).lastPathComponent)")
            }
            guard isValidIdentifier(entry.value), !entry.value.contains(" ") else {
                throw CorpusError.at(path, line: entry.line, "'\(entry.value)' is not a valid \(kind)")
            }
            return (i, entry.value)
        }
    }

    /// The utterances of a `segments` table (`utt-id recording-id start end [channel]`, seconds,
    /// end -1 for the end of the recording), each cut from its recording in `wav.scp`.
    static func readSegments(_ segments: KaldiTable, recordings scp: KaldiTable) throws -> [Utterance] {
        let audio = Dictionary(scp.entries.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        return try segments.entries.map { entry in
            let fields = entry.value.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard fields.count == 3 || fields.count == 4 else {
                throw CorpusError.at(segments.path, line: entry.line, "expected 'utt-id recording-id start end [channel]', got \(fields.count + 1) fields")
            }
            guard let path = audio[fields[0]] else {
                throw CorpusError.at(segments.path, line: entry.line, "recording '\(fields[0])' is not in wav.scp")
            }
            guard let start = Double(fields[1]), start.isFinite, start >= 0 else {
                throw CorpusError.at(segments.path, line: entry.line, "start '\(fields[1])' is not a time ≥ 0 in seconds")
            }
            guard let end = Double(fields[2]), end.isFinite, end == -1 || end > start else {
                throw CorpusError.at(segments.path, line: entry.line, "end '\(fields[2])' is not a time after the start (or -1 for the end of the recording)")
            }
            var channel: Int? = nil
            if fields.count == 4 {
                guard let c = Int(fields[3]), c >= 0 else { throw CorpusError.at(segments.path, line: entry.line, "channel '\(fields[3])' is not a number ≥ 0") }
                channel = c
            }
            return Utterance(id: entry.key, audioPath: path, segment: AudioSegment(start: start, end: end == -1 ? nil : end, channel: channel))
        }
    }

    /// `perturbation.json`: how `speechlab perturb` made the directory's copies.
    public static func writePerturbation(_ record: DataPerturbation, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let file = (path as NSString).appendingPathComponent("perturbation.json")
        do { try AtomicFile.write(try encoder.encode(record), to: file) } catch {
            throw CorpusError.at(file, "cannot be written: \(FileError.reason(error))")
        }
    }

    /// The directory's `perturbation.json`, or nil when it has none; a damaged one is named.
    public static func perturbation(of path: String) throws -> DataPerturbation? {
        let file = (path as NSString).appendingPathComponent("perturbation.json")
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        do { return try JSONDecoder().decode(DataPerturbation.self, from: data) } catch {
            throw CorpusError.at(file, "is not a perturbation record: \(error)")
        }
    }

    /// Refuses entries that would run a command or read something other than a file.
    static func checkAudioPath(_ value: String, in file: String, line: Int) throws {
        let bytes = value.utf8
        if bytes.last == UInt8(ascii: "|") || bytes.first == UInt8(ascii: "|") {
            throw CorpusError.at(file, line: line, "pipe entries ('cmd |') are refused: reading a data directory never runs a command")
        }
        if value == "-" {
            throw CorpusError.at(file, line: line, "standard input ('-') is not supported as audio")
        }
        if bytes.contains(where: { $0 == 0x20 || $0 == 0x09 }) {
            throw CorpusError.at(file, line: line, "audio path '\(value)' has white space (an extended filename or command?); give a plain file path")
        }
        if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            let offset = bytes[bytes.index(after: colon)...]
            if !offset.isEmpty && offset.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                throw CorpusError.at(file, line: line, "archive offsets ('file.ark:123') are not supported as audio")
            }
        }
    }

    /// Writes `utterances` as a data directory at `path` (created if needed): `wav.scp`, plus `text`,
    /// `utt2spk` and `spk2utt` when the utterances have them, and `utt2uniq` when some are
    /// copies, sorted by id as Kaldi requires. Utterances must be whole recordings (`segments`
    /// are not written).
    public static func write(_ utterances: [Utterance], to path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CorpusError.at(path, "cannot be created: \(FileError.reason(error))")
        }
        let sorted = utterances.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        let folder = path as NSString
        try KaldiTable.write(sorted.map { "\($0.id) \($0.audioPath)" }, to: folder.appendingPathComponent("wav.scp"))
        if sorted.allSatisfy({ $0.words != nil }) {
            try KaldiTable.write(sorted.map { ([$0.id] + $0.words!).joined(separator: " ") }, to: folder.appendingPathComponent("text"))
        }
        if sorted.allSatisfy({ $0.speaker != nil }) {
            try KaldiTable.write(sorted.map { "\($0.id) \($0.speaker!)" }, to: folder.appendingPathComponent("utt2spk"))
            var bySpeaker: [String: [String]] = [:]
            for u in sorted { bySpeaker[u.speaker!, default: []].append(u.id) }
            let lines = bySpeaker.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ([$0] + bySpeaker[$0]!).joined(separator: " ") }
            try KaldiTable.write(lines, to: folder.appendingPathComponent("spk2utt"))
        }
        if sorted.contains(where: { $0.original != nil }) {
            try KaldiTable.write(sorted.compactMap { u in u.original.map { "\(u.id) \($0)" } }, to: folder.appendingPathComponent("utt2uniq"))
        }
    }
}
