import Foundation
import SpeechBase

/// A Kaldi text table (`wav.scp`, `text`, `utt2spk`): one `key rest...` entry per line.
struct KaldiTable {
    struct Entry {
        var key: String
        var value: String
        var line: Int
    }

    var path: String
    var entries: [Entry]

    /// Reads `path`, refusing non-UTF-8 text, lines without a key, invalid keys and duplicate keys.
    /// - Parameter requireValue: whether every key must be followed by a value.
    init(path: String, requireValue: Bool) throws {
        self.path = path
        do { try requireRegularFile(path) } catch { throw CorpusError(FileError.reason(error)) }
        guard let contents = FileManager.default.contents(atPath: path) else { throw CorpusError.at(path, "cannot be read") }
        var data = contents[...]
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }  // a UTF-8 byte-order mark is no part of the first id
        var entries: [Entry] = []
        var seen: [String: Int] = [:]
        var lineNumber = 0
        // Byte-level parsing: tables can have millions of lines, and Foundation's trimming is slow.
        func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0d }
        // Validate the whole file at once; look line by line only to name a bad line.
        let wholeFileIsText = String(validating: data, as: UTF8.self) != nil
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if !wholeFileIsText && String(validating: rawLine, as: UTF8.self) == nil {
                throw CorpusError.at(path, line: lineNumber, "is not valid UTF-8 text")
            }
            guard let first = rawLine.firstIndex(where: { !isBlank($0) }) else { continue }
            let last = rawLine.lastIndex(where: { !isBlank($0) })!
            let content = rawLine[first...last]
            let keyEnd = content.firstIndex(where: isBlank) ?? content.endIndex
            let key = String(decoding: content[..<keyEnd], as: UTF8.self)
            let valueStart = content[keyEnd...].firstIndex(where: { !isBlank($0) }) ?? content.endIndex
            let value = String(decoding: content[valueStart...], as: UTF8.self)
            guard isValidIdentifier(key) else {
                throw CorpusError.at(path, line: lineNumber, "'\(key)' is not a valid id (no '/', control characters, '.' or '..')")
            }
            if requireValue && value.isEmpty {
                throw CorpusError.at(path, line: lineNumber, "'\(key)' has no value")
            }
            if let firstLine = seen.updateValue(lineNumber, forKey: key) {
                throw CorpusError.at(path, line: lineNumber, "duplicate id '\(key)' (first on line \(firstLine))")
            }
            entries.append(Entry(key: key, value: value, line: lineNumber))
        }
        self.entries = entries
    }

    /// Writes `lines` (already formatted) to `path` atomically.
    static func write(_ lines: [String], to path: String) throws {
        do { try AtomicFile.write(lines: lines, to: path) } catch { throw CorpusError(FileError.reason(error)) }
    }
}
