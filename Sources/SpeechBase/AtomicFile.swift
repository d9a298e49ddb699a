import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way the project writes a file: under a temporary name in the same folder, flushed to
/// disk, then renamed over the target, so that a reader sees the old file or the new one, never
/// a part. `-` writes to standard output. Anything at the target that is not a regular file
/// (a symbolic link such as `/dev/stdout`, a FIFO, a device, a folder) is refused rather than
/// replaced.
public enum AtomicFile {
    /// Writes `data` to `path`; `durable` flushes it to disk before the rename (models, tables),
    /// which many small files (features) can skip: a failed run never leaves a part either way.
    public static func write(_ data: Data, to path: String, durable: Bool = true) throws {
        if path == "-" {
            FileHandle.standardOutput.write(data)
            return
        }
        try checkReplaceable(path)
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileError.system(path, errno == ENOENT ? "cannot be written (its folder does not exist)" : "cannot be written")
        }
        var failure: FileError? = nil
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .system(path, "cannot be written")
                    return
                }
                offset += n
            }
        }
        if failure == nil && durable && fsync(fd) != 0 { failure = .system(path, "cannot be flushed to disk") }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 { failure = .system(path, "cannot be renamed into place") }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }

    /// A sibling of `path` for writing before the rename: `folder/.name.PID.tmp`. Plain string
    /// work: `URL` path handling cost more than the write itself for thousands of small files.
    static func temporaryName(for path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[...$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        return folder + "." + name + ".\(getpid()).tmp"
    }

    /// Throws unless `path` is free or a regular file (which a rename may replace).
    public static func checkReplaceable(_ path: String) throws {
        switch FileKind.of(path) {
        case .missing, .regular: return
        case .directory: throw FileError.at(path, "is a directory; give a file name")
        case .symbolicLink: throw FileError.at(path, "is a symbolic link; refusing to replace it (give the file it points to, or - for standard output)")
        case .other(let what): throw FileError.at(path, "is \(what); refusing to replace it (give a regular file, or - for standard output)")
        }
    }

    /// Writes `lines`, each ended by `\n`.
    public static func write(lines: [String], to path: String) throws {
        try write(Data(lines.map { $0 + "\n" }.joined().utf8), to: path)
    }
}
