import AudioIO
import Foundation
import FuzzSupport

/// The audio reader on top of libsndfile: any bytes as a file, read whole (mono, one channel,
/// resampled to 8 kHz) and cut as a segment.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        let path = temporaryFile(data, name: "input.wav")
        _ = try? AudioFile.info(path)
        _ = try? AudioFile.read(path, segment: AudioSegment(start: 0.01, end: 0.02, channel: 1), options: AudioReadOptions(sampleRate: 8000))
        _ = try AudioFile.read(path)
    }
}

@_cdecl("FuzzAudio_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var seeds: [String: Data] = [:]
    for (name, rate) in [("tone.wav", 8000), ("tone.flac", 16000)] {
        let path = NSTemporaryDirectory() + "speechlab-fuzz-seed-\(getpid())-" + name
        try! AudioFile.write((0..<400).map { Float(sin(Double($0) / 5)) * 0.3 }, sampleRate: rate, to: path)
        // Seed names without the audio extension: the fuzzer reads contents, not names.
        seeds[name.replacingOccurrences(of: ".", with: "-")] = FileManager.default.contents(atPath: path)!
    }
    writeSeedsIfAsked(seeds)
    return runFuzzer(argc, argv, testOneInput)
}
