import FeatureExtraction
import Foundation
import FuzzSupport

/// `.npy` files: the header dictionary, shapes against the data size.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { _ = try NumpyFile.decode($0, path: "input.npy") }
}

@_cdecl("FuzzNumpy_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked([
        "small": NumpyFile.encode(FeatureMatrix(frames: 3, dimension: 2, values: [1, 2, 3, 4, 5, 6])),
        "empty": NumpyFile.encode(FeatureMatrix(frames: 0, dimension: 13)),
    ])
    return runFuzzer(argc, argv, testOneInput)
}
