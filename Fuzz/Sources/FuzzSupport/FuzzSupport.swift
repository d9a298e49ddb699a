import Foundation

// SwiftPM links a Linux executable with `main` aliased to `<Module>_main`, so libFuzzer's own
// `main` is not the entry point: each fuzz target defines `<Module>_main`, which hands its
// `LLVMFuzzerTestOneInput` to libFuzzer's driver (the usual libFuzzer flags still apply).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// A fuzz target's input handler, as libFuzzer calls it.
public typealias FuzzInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Runs libFuzzer with `testOneInput`.
public func runFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, _ testOneInput: FuzzInput) -> CInt {
    var count = argc
    var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&count, &arguments, testOneInput)
}

/// The input as `Data`; `body` must not crash, hang or leak on any input. Errors it throws
/// are the expected answer to malformed input.
public func check(_ bytes: UnsafePointer<UInt8>?, _ count: Int, _ body: (Data) throws -> Void) -> CInt {
    _ = try? body(bytes.map { Data(bytes: $0, count: count) } ?? Data())
    return 0
}

/// `data` written to a file in a folder of this process, for parsers that read paths.
public func temporaryFile(_ data: Data, name: String) -> String {
    let folder = NSTemporaryDirectory() + "speechlab-fuzz-\(getpid())"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let path = folder + "/" + name
    try? data.write(to: URL(fileURLWithPath: path))
    return path
}

/// With `SPEECHLAB_FUZZ_WRITE_SEEDS=DIR` in the environment, writes `seeds` (file name →
/// contents) into DIR and exits: `scripts/fuzz --make-seeds` makes the committed seed corpus so.
public func writeSeedsIfAsked(_ seeds: [String: Data]) {
    guard let folder = ProcessInfo.processInfo.environment["SPEECHLAB_FUZZ_WRITE_SEEDS"] else { return }
    try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, data) in seeds { try! data.write(to: URL(fileURLWithPath: folder + "/" + name)) }
    exit(0)
}
