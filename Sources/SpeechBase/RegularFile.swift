#if canImport(Glibc)
import Glibc
#endif

/// What kind of thing a path names, without following a final symbolic link.
public enum FileKind: Sendable, Equatable {
    case missing, regular, directory, symbolicLink, other(String)

    /// The kind at `path` (`lstat`).
    public static func of(_ path: String) -> FileKind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        case S_IFIFO: return .other("a FIFO")
        case S_IFCHR: return .other("a character device")
        case S_IFBLK: return .other("a block device")
        case S_IFSOCK: return .other("a socket")
        default: return .other("not a regular file")
        }
    }
}

/// Refuses `path` unless it is (or links to) a regular file: opening a FIFO or a device to
/// read it could block forever or never end.
public func requireRegularFile(_ path: String) throws {
    var info = stat()
    guard stat(path, &info) == 0 else {
        throw FileError.system(path, errno == ENOENT ? "does not exist" : "cannot be read")
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return
    case S_IFDIR: throw FileError.at(path, "is a directory, not a file")
    case S_IFIFO: throw FileError.at(path, "is a FIFO, not a regular file (reading it could block forever)")
    case S_IFCHR, S_IFBLK: throw FileError.at(path, "is a device, not a regular file")
    default: throw FileError.at(path, "is not a regular file")
    }
}
