import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a file descriptor (a pipe, standard input) to its end. Foundation's
/// `readDataToEndOfFile` stops the process when a signal interrupts its `read` (`EINTR`, e.g.
/// SIGCHLD from a child process that ends); here the call is simply repeated.
public enum DescriptorReader {
    /// Everything `descriptor` yields until end of file.
    public static func readToEnd(_ descriptor: Int32) throws -> Data {
        var data = Data()
        while true {
            let piece = try readAvailable(descriptor)
            if piece.isEmpty { return data }
            data.append(piece)
        }
    }

    /// What one `read` returns (waiting until something is there): empty at end of file.
    public static func readAvailable(_ descriptor: Int32, upTo capacity: Int = 1 << 16) throws -> Data {
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Data(buffer[0..<count]) }
            guard errno == EINTR else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
    }
}
