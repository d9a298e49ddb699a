#if canImport(Glibc)
import Glibc
#endif

/// A file could not be read, written or replaced; the description names the file and the reason.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// `path: reason`, or `path:line: reason`.
    public static func at(_ path: String, line: Int? = nil, _ reason: String) -> FileError {
        FileError(line.map { "\(path):\($0): \(reason)" } ?? "\(path): \(reason)")
    }

    /// `path: what: strerror(errno)`, from the current `errno`.
    static func system(_ path: String, _ what: String, code: Int32 = errno) -> FileError {
        FileError("\(path): \(what): \(String(cString: strerror(code)))")
    }
}
