import AudioIO
import Foundation
import SpeechBase

/// A `.npy` file could not be read or written; the description names the file and the reason.
public struct NumpyFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// NumPy's `.npy` format (version 1.0) for float32 matrices: what `numpy.load` reads.
public enum NumpyFile {
    /// The `.npy` header (magic, version, length, dictionary) for a float32 `[frames, dimension]` array.
    static func header(frames: Int, dimension: Int) -> [UInt8] {
        var dictionary = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(frames), \(dimension)), }"
        // Magic (6) + version (2) + length (2) + dictionary + "\n" is a multiple of 64.
        let unpadded = 10 + dictionary.utf8.count + 1
        dictionary += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let length = UInt16(dictionary.utf8.count)
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(length & 0xff), UInt8(length >> 8)] + Array(dictionary.utf8)
    }

    /// The bytes of a `.npy` file holding `matrix` as little-endian float32 `[frames, dimension]`.
    public static func encode(_ matrix: FeatureMatrix) -> Data {
        var data = Data(header(frames: matrix.frames, dimension: matrix.dimension))
        // Float is little-endian on every platform Swift runs on here.
        matrix.values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// Writes `matrix` to `path` atomically: a temporary name, then a rename, so that a reader
    /// never sees a partial file. (No fsync: this protects against failed runs, not power loss.)
    public static func write(_ matrix: FeatureMatrix, to path: String) throws {
        do { try AtomicFile.write(encode(matrix), to: path, durable: false) } catch {
            throw NumpyFileError(path: path, reason: "cannot be written: \(FileError.reason(error))")
        }
    }

    /// Reads a float32 (or float64, converted) `.npy` matrix; a 1-D array reads as one column.
    /// The header is checked against the file's size before any allocation.
    public static func read(_ path: String) throws -> FeatureMatrix {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NumpyFileError(path: path, reason: FileManager.default.fileExists(atPath: path) ? "cannot be read" : "does not exist")
        }
        return try decode(data, path: path)
    }

    /// Parses the bytes of a `.npy` file; `path` names it in errors.
    public static func decode(_ data: Data, path: String = "npy") throws -> FeatureMatrix {
        func fail(_ reason: String) -> NumpyFileError { NumpyFileError(path: path, reason: reason) }
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0..<6] == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else { throw fail("is not a .npy file (bad magic)") }
        let major = bytes[6]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("is truncated in its header") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw fail("has .npy version \(major), which is not supported")
        }
        guard headerStart + headerLength <= data.count else { throw fail("is truncated in its header") }
        guard let header = String(data: data.subdata(in: (data.startIndex + headerStart)..<(data.startIndex + headerStart + headerLength)), encoding: .utf8) else {
            throw fail("has a header that is not text")
        }
        guard let descr = field("descr", in: header) else { throw fail("has no 'descr' in its header") }
        let elementSize: Int
        switch descr {
        case "'<f4'": elementSize = 4
        case "'<f8'": elementSize = 8
        default: throw fail("holds \(descr), not float32 ('<f4') or float64 ('<f8')")
        }
        if field("fortran_order", in: header) == "True" { throw fail("is in Fortran order, which is not supported") }
        guard let shapeText = field("shape", in: header) else { throw fail("has no 'shape' in its header") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = dims.compactMap { Int($0) }
        guard shape.count == dims.count, (1...2).contains(shape.count), shape.allSatisfy({ $0 >= 0 && $0 < 1 << 40 }) else {
            throw fail("has shape \(shapeText); a 1-D or 2-D array is expected")
        }
        let frames = shape[0], dimension = shape.count == 2 ? shape[1] : 1
        let (count, overflow) = frames.multipliedReportingOverflow(by: dimension)
        let payload = data.count - headerStart - headerLength
        guard !overflow, count.multipliedReportingOverflow(by: elementSize).partialValue == payload else {
            throw fail("holds \(payload) data bytes, but its shape \(shapeText) needs \(count * elementSize)")
        }
        var values = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + headerStart + headerLength
            values.withUnsafeMutableBytes { target in
                if elementSize == 4 {
                    target.copyMemory(from: UnsafeRawBufferPointer(start: base, count: count * 4))
                } else {
                    let floats = target.bindMemory(to: Float.self)
                    for i in 0..<count { floats[i] = Float(base.loadUnaligned(fromByteOffset: i * 8, as: Double.self)) }
                }
            }
        }
        return FeatureMatrix(frames: frames, dimension: dimension, values: values)
    }

    /// The text of `'key': value` in a NumPy header dictionary.
    private static func field(_ key: String, in header: String) -> String? {
        guard let keyRange = header.range(of: "'\(key)':") else { return nil }
        let rest = header[keyRange.upperBound...].drop(while: { $0 == " " })
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
        return rest[..<end].trimmingCharacters(in: .whitespaces)
    }
}
