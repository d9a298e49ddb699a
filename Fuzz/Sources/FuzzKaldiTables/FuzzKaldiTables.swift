import FeatureExtraction
import Foundation
import FuzzSupport
import SpeechCorpus

/// Kaldi tables: the input is cut at NUL bytes into `wav.scp`, `text`, `utt2spk`, `segments` and
/// `feats.scp`, written into a data directory and a feature directory that are then read.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        let parts = data.split(separator: 0, maxSplits: 4, omittingEmptySubsequences: false)
        let names = ["wav.scp", "text", "utt2spk", "segments", "feats.scp"]
        for (k, name) in names.enumerated() {
            let path = folder + "/" + name
            if k < parts.count { try? Data(parts[k]).write(to: URL(fileURLWithPath: path)) } else { try? FileManager.default.removeItem(atPath: path) }
        }
        _ = try? DataDirectory.load(folder)
        let directory = try FeatureDirectory.open(folder)
        for i in directory.entries.indices.prefix(3) { _ = try? directory.features(i) }
    }
}

let folder: String = {
    let path = NSTemporaryDirectory() + "speechlab-fuzz-tables-\(getpid())"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    var config = FeatureConfig(preset: .kaldi)
    config.frame.sampleFrequency = 8000
    try! JSONEncoder().encode(config).write(to: URL(fileURLWithPath: path + "/config.json"))
    try! NumpyFile.write(FeatureMatrix(frames: 2, dimension: config.dimension), to: path + "/u1.npy")
    return path
}()

@_cdecl("FuzzKaldiTables_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked([
        "directory": Data("u1 a.wav\nu2 b.flac\n\0u1 YES NO\nu2 NO\n\0u1 spk1\nu2 spk2\n\0".utf8),
        "segments": Data("rec a.wav\n\0u1 YES\r\nu2 NO\r\n\0u1 s\nu2 s\n\0u1 rec 0.0 1.5\nu2 rec 1.5 -1 0\n\0u1 u1.npy\n".utf8),
    ])
    return runFuzzer(argc, argv, testOneInput)
}
