import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes a whole directory as one unit: its files are made in a staging folder beside it, which
/// is then exchanged with the old directory in one step (Linux `renameat2(RENAME_EXCHANGE)`), so
/// that a reader, or a run killed at any moment, finds the complete old directory or the
/// complete new one. Entries of the old directory that the new one does not write (a
/// checkpoint, a user's notes) are carried over.
public enum DirectoryReplacement {
    /// Replaces the directory `path` with `files` (name → contents).
    public static func write(_ files: [String: Data], to path: String) throws {
        let staging = stagingPath(path)
        if FileKind.of(staging) == .directory {
            // Left by a run that was killed: either a new directory half written (nothing of it
            // is kept) or the old one just swapped out (what it carried is moved back first).
            carryOver(from: staging, to: path, except: files)
            try? FileManager.default.removeItem(atPath: staging)
        }
        switch FileKind.of(path) {
        case .missing, .directory: break
        default: throw FileError.at(path, "exists and is not a directory")
        }
        do {
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw FileError.at(path, "cannot be created (\(FileError.reason(error)))")
        }
        do {
            for (name, data) in files.sorted(by: { $0.key < $1.key }) {
                try AtomicFile.write(data, to: (staging as NSString).appendingPathComponent(name))
            }
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        guard FileKind.of(path) == .directory else {
            guard rename(staging, path) == 0 else { throw FileError.system(path, "cannot be created") }
            return
        }
        try exchange(staging, path)
        carryOver(from: staging, to: path, except: files)
        try? FileManager.default.removeItem(atPath: staging)  // the old directory
    }

    /// Moves the entries of `old` that `new` lacks and `files` does not write into `new`.
    static func carryOver(from old: String, to new: String, except files: [String: Data]) {
        guard FileKind.of(new) == .directory else { return }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: old)) ?? [] where files[entry] == nil {
            let target = (new as NSString).appendingPathComponent(entry)
            if FileKind.of(target) == .missing { rename((old as NSString).appendingPathComponent(entry), target) }
        }
    }

    /// The staging folder of `path`: a hidden sibling, one per target.
    public static func stagingPath(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardized
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).staging").path
    }

    /// Swaps two directories atomically; where the file system cannot, renames one after the other.
    static func exchange(_ a: String, _ b: String) throws {
        typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
        let renameExchange: UInt32 = 2
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2") {
            let renameat2 = unsafeBitCast(symbol, to: RenameAt2.self)
            if renameat2(AT_FDCWD, a, AT_FDCWD, b, renameExchange) == 0 { return }
            guard errno == EINVAL || errno == ENOSYS else { throw FileError.system(b, "cannot be replaced") }
        }
        let old = a + ".old"
        try? FileManager.default.removeItem(atPath: old)
        guard rename(b, old) == 0, rename(a, b) == 0 else { throw FileError.system(b, "cannot be replaced") }
        rename(old, a)
    }
}

/// An exclusive lock on a directory held while a run writes into it (`flock` on a lock file
/// inside), so that two runs cannot mix their outputs. Released when the process ends.
public final class DirectoryLock {
    private let fd: Int32

    /// Takes the lock on `directory` (created if needed), or throws when another run holds it.
    public init(_ directory: String, purpose: String) throws {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lockPath = (directory as NSString).appendingPathComponent(".lock")
        fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError.system(directory, "cannot be locked") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            throw FileError.at(directory, "another run is \(purpose) (it holds \(lockPath)); wait for it or choose another output")
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

extension FileError {
    /// The reason alone, for an error type of another module that names `path` itself: the
    /// `path: ` that begins ``reason(_:)`` is left out.
    public static func reason(_ error: Error, about path: String) -> String {
        let text = reason(error)
        return text.hasPrefix(path + ": ") ? String(text.dropFirst(path.count + 2)) : text
    }

    /// A readable reason from a Foundation or POSIX error (never "NSCocoaErrorDomain error 512").
    public static func reason(_ error: Error) -> String {
        if let error = error as? FileError { return error.description }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedFailureReason ?? ns.localizedDescription
    }
}

/// Reads several files of one directory as one snapshot: the directory is opened once and every
/// file is read relative to it, so that a directory swapped in meanwhile (see
/// ``DirectoryReplacement``) cannot give one file of the old version and one of the new.
public enum DirectorySnapshot {
    /// The contents of `names` in the directory `path` (a missing file has no entry). Files
    /// larger than `maximumBytes` are refused before they are read.
    public static func read(_ path: String, files names: [String], maximumBytes: Int = 1 << 34) throws -> [String: Data] {
        // A version swapped out while being read is deleted soon after: read again, from the new one.
        for _ in 0..<100 {
            if let files = try readOnce(path, files: names, maximumBytes: maximumBytes) { return files }
        }
        throw FileError.at(path, "kept changing while being read")
    }

    /// The files, or nil when another version took the directory's place while they were read.
    static func readOnce(_ path: String, files names: [String], maximumBytes: Int) throws -> [String: Data]? {
        let directory = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            throw FileError.system(path, errno == ENOENT ? "does not exist" : errno == ENOTDIR ? "is not a directory" : "cannot be read")
        }
        defer { close(directory) }
        var result: [String: Data] = [:]
        for name in names {
            let file = (path as NSString).appendingPathComponent(name)
            let fd = openat(directory, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd < 0 {
                if errno == ENOENT { continue }
                throw FileError.system(file, "cannot be read")
            }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw FileError.at(file, "is not a regular file") }
            guard Int(info.st_size) <= maximumBytes else { throw FileError.at(file, "is \(info.st_size) bytes, more than the \(maximumBytes) accepted") }
            var data = Data(count: Int(info.st_size))
            var offset = 0
            let failed: Bool = data.withUnsafeMutableBytes { raw in
                while offset < raw.count {
                    let n = Glibc.read(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { return n < 0 }
                    offset += n
                }
                return false
            }
            guard !failed, offset == data.count else { throw FileError.system(file, "cannot be read (it changed while being read?)") }
            result[name] = data
        }
        // Still the directory at `path`? Otherwise a new version was swapped in meanwhile and the
        // one read may have lost files to its removal.
        var opened = stat(), current = stat()
        guard fstat(directory, &opened) == 0, stat(path, &current) == 0, opened.st_ino == current.st_ino, opened.st_dev == current.st_dev else {
            return nil
        }
        return result
    }
}
