import AudioIO

/// One utterance of a corpus: where its audio is, who spoke it and what was said.
public struct Utterance: Sendable, Equatable, Hashable {
    /// The utterance id (no white space, no `/`).
    public var id: String
    /// Path of its audio file.
    public var audioPath: String
    /// Speaker id, from `utt2spk`; `nil` when the corpus has none.
    public var speaker: String?
    /// The transcript's words, from `text`; `nil` when the corpus has none.
    public var words: [String]?
    /// The part of the recording that is this utterance (from `segments`); nil for all of it.
    public var segment: AudioSegment?
    /// The utterance this one is a perturbed copy of (from `utt2uniq`, as Kaldi's perturbed data
    /// directories have it); nil for an original. Copies of one utterance belong on the same side
    /// of any training/validation split.
    public var original: String?

    public init(id: String, audioPath: String, speaker: String? = nil, words: [String]? = nil, segment: AudioSegment? = nil,
                original: String? = nil) {
        self.id = id
        self.audioPath = audioPath
        self.speaker = speaker
        self.words = words
        self.segment = segment
        self.original = original
    }
}

/// A corpus could not be read or written; the description names the file (and line) and the reason.
public struct CorpusError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    static func at(_ path: String, line: Int? = nil, _ reason: String) -> CorpusError {
        CorpusError(line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)")
    }
}

/// Whether `id` can name an utterance, speaker or file: non-empty, no white space, no `/`,
/// not `.` or `..`, and no control characters.
public func isValidIdentifier(_ id: String) -> Bool {
    guard !id.isEmpty, id != ".", id != ".." else { return false }
    // ASCII ids (nearly all) are checked byte by byte; Unicode properties are slow to look up.
    if id.utf8.allSatisfy({ $0 < 0x80 }) {
        return !id.utf8.contains { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "/") }
    }
    return !id.unicodeScalars.contains { $0 == "/" || $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f }
}
