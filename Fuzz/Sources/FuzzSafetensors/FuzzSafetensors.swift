import Foundation
import FuzzSupport
import TensorCore

/// safetensors files: header length, JSON header, dtypes, shapes and offsets against the size.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        _ = try? Safetensors.decode(data, path: "input.safetensors", as: Float.self)
        _ = try Safetensors.decode(data, path: "input.safetensors", as: Double.self)
    }
}

@_cdecl("FuzzSafetensors_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked([
        "two-tensors": Safetensors.encode(["a": Tensor<Float>(shape: [2, 3], values: [1, 2, 3, 4, 5, 6]), "b": Tensor<Float>(shape: [1], values: [7])],
                                          metadata: ["kind": "seed"]),
        "double": Safetensors.encode(["pdf.0.means": Tensor<Double>(shape: [2, 2], values: [0.5, -1, 2, 3])]),
    ])
    return runFuzzer(argc, argv, testOneInput)
}
