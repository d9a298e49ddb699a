import Foundation
import Testing
import TensorCore

@Suite struct SafetensorsTests {
    let folder: String = {
        let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    func bytes(header: String, data: [UInt8] = []) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: data)
        return d
    }

    @Test func roundTripsNamesShapesValuesAndMetadata() throws {
        let path = folder + "/w.safetensors"
        let tensors = ["weight_ih_l0": Tensor<Float>(shape: [4, 2], values: (0..<8).map(Float.init)),
                       "bias": Tensor<Float>([0.5, -1.5]), "scalar": Tensor<Float>(3)]
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: path)
        let (back, metadata) = try Safetensors.read(path, as: Float.self)
        #expect(metadata == ["format": "pt"])
        #expect(Set(back.keys) == Set(tensors.keys))
        for (name, t) in tensors {
            #expect(back[name]!.shape == t.shape && back[name]!.values == t.values)
        }
        let raw = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(raw[0]) | Int(raw[1]) << 8
        #expect((8 + headerLength) % 8 == 0)
    }

    @Test func namesAndMetadataNeedingJSONEscapesRoundTrip() throws {
        let path = folder + "/escapes.safetensors"
        let names = ["quote\"d", "back\\slash", "new\nline", "tab\tand\u{1}", "ünïcødé ✓"]
        var tensors: [String: Tensor<Float>] = [:]
        for (i, name) in names.enumerated() { tensors[name] = Tensor(shape: [1], values: [Float(i)]) }
        try Safetensors.write(tensors, metadata: ["note": "a \"quoted\" \\ value"], to: path)
        let (read, metadata) = try Safetensors.read(path, as: Float.self)
        #expect(Set(read.keys) == Set(names))
        for (i, name) in names.enumerated() { #expect(read[name]?.values == [Float(i)]) }
        #expect(metadata["note"] == "a \"quoted\" \\ value")
    }

    @Test("bad files are refused with the reason", arguments: [
        ("short", "truncated"), ("huge", "declares a header"), ("json", "not a JSON"),
        ("dtype", "dtype I8"), ("range", "outside"), ("size", "needs"), ("overlap", "overlap"), ("shape", "larger than the file"),
    ])
    func badFile(_ kind: String, _ reason: String) {
        let data: Data
        switch kind {
        case "short": data = Data([1, 2, 3])
        case "huge": data = { var d = Data(); withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { d.append(contentsOf: $0) }; return d }()
        case "json": data = bytes(header: "[1, 2]")
        case "dtype": data = bytes(header: #"{"a": {"dtype": "I8", "shape": [1], "data_offsets": [0, 1]}}"#, data: [0])
        case "range": data = bytes(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#, data: [0, 0, 0, 0])
        case "size": data = bytes(header: #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        case "overlap":
            data = bytes(header: #"{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}"#,
                         data: [UInt8](repeating: 0, count: 8))
        default: data = bytes(header: #"{"a": {"dtype": "F32", "shape": [4000000000, 4000000000], "data_offsets": [0, 4]}}"#, data: [0, 0, 0, 0])
        }
        let error = #expect(throws: SafetensorsError.self) { try Safetensors.decode(data, path: "f.safetensors", as: Float.self) }
        #expect(error?.description.contains(reason) == true, "\(error.map { "\($0)" } ?? "")")
        #expect(error?.description.hasPrefix("f.safetensors") == true)
    }
}
