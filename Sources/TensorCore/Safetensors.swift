import Foundation
import SpeechBase

/// A safetensors file could not be read or written; the description names the file and why.
public struct SafetensorsError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

/// The safetensors format (what `safetensors.torch.save_file` writes): a little-endian u64
/// header length, a JSON header `{name: {dtype, shape, data_offsets}, "__metadata__": {...}}`,
/// then the raw little-endian data.
///
/// Reading validates the whole header (lengths, dtypes, shapes, offsets in range and not
/// overlapping) against the file's size before allocating anything it describes.
public enum Safetensors {
    /// Largest header accepted (the reference implementation's limit).
    public static let maximumHeaderBytes = 100_000_000

    /// Writes `tensors` (any order; written sorted by name) with optional string metadata,
    /// atomically (temporary name, then rename).
    public static func write<Scalar: TensorScalar>(_ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:], to path: String) throws {
        do { try AtomicFile.write(encode(tensors, metadata: metadata), to: path) } catch {
            throw SafetensorsError(path: path, reason: "cannot be written: \(FileError.reason(error))")
        }
    }

    /// The file's bytes for `tensors` (sorted by name) and `metadata`.
    public static func encode<Scalar: TensorScalar>(_ tensors: [String: Tensor<Scalar>], metadata: [String: String] = [:]) -> Data {
        let names = tensors.keys.sorted()
        // The header is written directly (a GMM-HMM checkpoint has hundreds of small tensors,
        // and a generic JSON serializer costs more than the data).
        var entries: [String] = []
        if !metadata.isEmpty {
            let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
        }
        var offset = 0
        let size = MemoryLayout<Scalar>.size
        for name in names {
            let t = tensors[name]!
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(name)):{\"dtype\":\"\(Scalar.safetensorsName)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.count * size)]}")
            offset += t.count * size
        }
        var json = Data(("{" + entries.joined(separator: ",") + "}").utf8)
        // Pad with spaces so that the data starts 8-byte aligned, as the reference writer does.
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var data = Data()
        data.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names {
            tensors[name]!.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Reads every tensor of the file at `path`, converted to `Scalar` (F32 and F64 are read).
    public static func read<Scalar: TensorScalar>(_ path: String, as: Scalar.Type = Scalar.self) throws -> (tensors: [String: Tensor<Scalar>], metadata: [String: String]) {
        let data: Data
        do {
            try requireRegularFile(path)
            guard let contents = FileManager.default.contents(atPath: path) else { throw FileError.at(path, "cannot be read") }
            data = contents
        } catch { throw SafetensorsError(path: path, reason: FileError.reason(error, about: path)) }
        return try decode(data, path: path)
    }

    /// Parses safetensors bytes; `path` names them in errors.
    public static func decode<Scalar: TensorScalar>(_ data: Data, path: String = "safetensors", as: Scalar.Type = Scalar.self) throws -> (tensors: [String: Tensor<Scalar>], metadata: [String: String]) {
        func fail(_ reason: String) -> SafetensorsError { SafetensorsError(path: path, reason: reason) }
        guard data.count >= 8 else { throw fail("is truncated: \(data.count) bytes, shorter than the 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(maximumHeaderBytes) else { throw fail("declares a header of \(headerLength) bytes (limit \(maximumHeaderBytes))") }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("declares a header of \(headerLength) bytes but holds only \(data.count - 8) after the length")
        }
        let start = data.startIndex
        let headerBytes = data[(start + 8)..<(start + 8 + Int(headerLength))]
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw fail("has a header that is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = data.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("has __metadata__ that is not a string map") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any], offsetValues.count == 2 else {
                throw fail("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            let offsets = offsetValues.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }), offsets.count == 2 else {
                throw fail("entry '\(name)' has a malformed shape or data_offsets")
            }
            let elementSize: Int
            switch dtype {
            case "F32": elementSize = 4
            case "F64": elementSize = 8
            default: throw fail("entry '\(name)' has dtype \(dtype); F32 and F64 are supported")
            }
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= dataSize else { throw fail("entry '\(name)' has shape \(shape), larger than the file") }
                elements = product
            }
            guard offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw fail("entry '\(name)' has data_offsets \(offsets) outside the \(dataSize) data bytes")
            }
            guard offsets[1] - offsets[0] == elements * elementSize else {
                throw fail("entry '\(name)' spans \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtype) needs \(elements * elementSize)")
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (a, b) in zip(entries, entries.dropFirst()) where b.begin < a.end {
            throw fail("entries '\(a.name)' and '\(b.name)' overlap")
        }
        var tensors: [String: Tensor<Scalar>] = [:]
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart
            for e in entries {
                let n = (e.end - e.begin) / (e.dtype == "F32" ? 4 : 8)
                var values = [Scalar](repeating: 0, count: n)
                for i in 0..<n {
                    values[i] = e.dtype == "F32"
                        ? Scalar(Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: e.begin + 4 * i, as: UInt32.self))))
                        : Scalar(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: e.begin + 8 * i, as: UInt64.self))))
                }
                tensors[e.name] = Tensor(shape: e.shape, values: values)
            }
        }
        return (tensors, metadata)
    }
}

/// One tensor's description in a safetensors header.
struct SafetensorsEntry {
    var name: String
    var dtype: String
    var shape: [Int]
    var begin: Int
    var end: Int
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
