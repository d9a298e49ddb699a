import Foundation

/// Reading the project's text formats (Kaldi tables, lexicons, configuration files, hypotheses,
/// alignments, logs): one reader, so that every format takes `\n` and `\r\n` line ends, a UTF-8
/// byte-order mark, and a missing final newline alike.
public enum TextFile {
    /// The text of the regular file at `path` (`-`: standard input), validated as UTF-8, a
    /// leading byte-order mark removed.
    public static func read(_ path: String) throws -> String {
        let data: Data
        if path == "-" {
            do { data = try DescriptorReader.readToEnd(STDIN_FILENO) } catch { throw FileError.at(path, "standard input cannot be read (\(error))") }
        } else {
            try requireRegularFile(path)
            guard let contents = FileManager.default.contents(atPath: path) else { throw FileError.system(path, "cannot be read") }
            data = contents
        }
        return try decode(data, path: path)
    }

    /// `data` as UTF-8 text without a leading byte-order mark; invalid UTF-8 names its line.
    public static func decode(_ data: Data, path: String) throws -> String {
        var bytes = data[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var line = 1
        for piece in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(validating: piece, as: UTF8.self) == nil { break }
            line += 1
        }
        throw FileError.at(path, line: line, "is not valid UTF-8 text")
    }

    /// The lines of `text`, split at `\n` with a `\r` before it removed (Swift takes `"\r\n"` as
    /// one `Character`, so splitting on `"\n"` alone would never split a Windows file). A final
    /// line end does not start another line; line `k` of the file is element `k - 1`.
    public static func lines(_ text: String) -> [Substring] {
        let scalars = text.unicodeScalars
        var result: [Substring] = []
        var start = scalars.startIndex
        while start < scalars.endIndex {
            let newline = scalars[start...].firstIndex(of: "\n") ?? scalars.endIndex
            var end = newline
            if end > start, scalars[scalars.index(before: end)] == "\r" { end = scalars.index(before: end) }
            result.append(Substring(scalars[start..<end]))
            start = newline == scalars.endIndex ? newline : scalars.index(after: newline)
        }
        return result
    }

    /// The lines of the file at `path`: ``read(_:)`` then ``lines(_:)``.
    public static func lines(of path: String) throws -> [Substring] {
        lines(try read(path))
    }

    /// The white-space separated fields of `line`.
    public static func fields(_ line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
    }
}
