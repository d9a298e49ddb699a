import AudioIO
import Foundation
import Testing

/// A RIFF/WAVE file of 16-bit PCM, written by hand so that tests can also make broken ones.
func waveBytes(_ samples: [Int16], channels: Int = 1, rate: Int = 8000, declaredDataBytes: Int? = nil) -> Data {
    var data = Data()
    func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
    func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
    let dataBytes = declaredDataBytes ?? samples.count * 2
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes)
    data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(channels); u32(rate)
    u32(rate * channels * 2); u16(channels * 2); u16(16)
    data.append(contentsOf: Array("data".utf8)); u32(dataBytes)
    for s in samples { withUnsafeBytes(of: s.littleEndian) { data.append(contentsOf: $0) } }
    return data
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct AudioFileTests {
    let folder = temporaryFolder()

    func file(_ name: String, _ bytes: Data) -> String {
        let path = folder + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: bytes)
        return path
    }

    @Test func readsSixteenBitWaveAtTheIntegerScaleKaldiUses() throws {
        let samples: [Int16] = [0, 1, -1, 32767, -32768, 1234, -4321]
        let audio = try AudioFile.read(file("a.wav", waveBytes(samples)))
        #expect(audio.sampleRate == 8000)
        #expect(audio.samples == samples.map(Float.init))
    }

    @Test func writesAndReadsBackWaveAndFlac() throws {
        let samples = (0..<4000).map { Float(sin(Double($0) * 0.05)) * 0.5 }
        for name in ["w.wav", "f.flac"] {
            let path = folder + "/" + name
            try AudioFile.write(samples, sampleRate: 16000, to: path)
            let info = try AudioFile.info(path)
            #expect(info.sampleRate == 16000 && info.channels == 1 && info.frames == 4000)
            let back = try AudioFile.read(path, options: AudioReadOptions(scale: 1))
            let maxError = zip(back.samples, samples).map { abs($0 - $1) }.max()!
            #expect(maxError < 1.0 / 32768 + 1e-6, "\(name): \(maxError)")
        }
    }

    @Test func averagesChannelsOrKeepsTheOneAsked() throws {
        // Frames (L, R): (100, 300), (-200, 0).
        let path = file("stereo.wav", waveBytes([100, 300, -200, 0], channels: 2))
        #expect(try AudioFile.read(path).samples == [200, -100])
        #expect(try AudioFile.read(path, options: AudioReadOptions(channel: 1)).samples == [300, 0])
        #expect(throws: AudioError.self) { try AudioFile.read(path, options: AudioReadOptions(channel: 2)) }
    }

    @Test func resamplesToTheWorkingRateKeepingTheTone() throws {
        let rate = 16000, tone = 1000.0
        let samples = (0..<rate).map { Int16(10000 * sin(2 * Double.pi * tone * Double($0) / Double(rate))) }
        let path = file("tone16k.wav", waveBytes(samples, rate: rate))
        let audio = try AudioFile.read(path, options: AudioReadOptions(sampleRate: 8000))
        #expect(audio.sampleRate == 8000)
        #expect(abs(audio.samples.count - 8000) <= 2)
        // Compare with the ideal 8 kHz tone away from the edges.
        var error = 0.0, energy = 0.0
        for t in 200..<7800 {
            let ideal = 10000 * sin(2 * Double.pi * tone * Double(t) / 8000)
            error += (Double(audio.samples[t]) - ideal) * (Double(audio.samples[t]) - ideal)
            energy += ideal * ideal
        }
        #expect((error / energy).squareRoot() < 1e-3)
    }

    @Test func refusesAnotherRateWhenResamplingIsOff() throws {
        let path = file("r.wav", waveBytes([1, 2, 3], rate: 16000))
        let error = try #require(throws: AudioError.self) {
            try AudioFile.read(path, options: AudioReadOptions(sampleRate: 8000, allowResampling: false))
        }
        #expect(error.description.contains("16000 Hz"))
        #expect(error.description.contains(path))
    }

    @Test func badFilesGiveErrorsNamingTheFileAndTheReason() throws {
        let cases: [(String, Data?, String)] = [
            ("empty.wav", Data(), "empty"),
            ("noise.wav", Data((0..<400).map { UInt8(truncatingIfNeeded: $0 &* 37) }), "not audio"),
            ("text.wav", Data("hello, this is not a wave file at all\n".utf8), "not audio"),
            ("truncated.wav", waveBytes([Int16](repeating: 7, count: 100), declaredDataBytes: 2000), "truncated"),
            ("nosamples.wav", waveBytes([]), "no audio"),
            ("missing.wav", nil, "does not exist"),
        ]
        for (name, bytes, reason) in cases {
            let path = bytes.map { file(name, $0) } ?? folder + "/" + name
            let error = try #require(throws: AudioError.self, "\(name)") { try AudioFile.read(path) }
            #expect(error.description.hasPrefix(path), "\(name): \(error)")
            #expect(error.description.contains(reason), "\(name): \(error)")
        }
        let directory = try #require(throws: AudioError.self) { try AudioFile.read(folder) }
        #expect(directory.description.contains("directory"))
    }
}
