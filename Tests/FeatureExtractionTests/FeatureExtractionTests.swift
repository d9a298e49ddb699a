import AudioIO
import FeatureExtraction
import Foundation
import Testing

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func testConfig(rate: Double = 8000) -> FeatureConfig {
    var config = FeatureConfig(preset: .kaldi)
    config.frame.sampleFrequency = rate
    config.frame.dither = 0
    return config
}

@Suite struct FramingTests {
    @Test func frameCountsFollowKaldi() {
        var options = FrameOptions()
        options.sampleFrequency = 8000  // window 200, shift 80
        #expect(options.windowSize == 200 && options.windowShift == 80 && options.paddedWindowSize == 256)
        #expect(options.frameCount(sampleCount: 199) == 0)
        #expect(options.frameCount(sampleCount: 200) == 1)
        #expect(options.frameCount(sampleCount: 279) == 1)
        #expect(options.frameCount(sampleCount: 280) == 2)
        options.snipEdges = false
        #expect(options.frameCount(sampleCount: 39) == 0)
        #expect(options.frameCount(sampleCount: 40) == 1)
        #expect(options.frameCount(sampleCount: 360) == 5)
        #expect(options.firstSample(ofFrame: 0) == -60)
    }

    @Test func windowsHaveTheirTextbookShapes() {
        let hamming = WindowType.hamming.coefficients(length: 5)
        #expect(abs(hamming[0] - 0.08) < 1e-6 && abs(hamming[2] - 1) < 1e-6)
        let povey = WindowType.povey.coefficients(length: 5)
        #expect(povey[0] == 0 && abs(povey[1] - Float(pow(0.5, 0.85))) < 1e-6)
        #expect(WindowType.rectangular.coefficients(length: 3) == [1, 1, 1])
    }
}

@Suite struct FeatureComputerTests {
    @Test func silenceGivesFiniteFeatures() throws {
        for type in FeatureType.allCases {
            var config = testConfig()
            config.type = type
            let features = try FeatureComputer(config: config).compute([Float](repeating: 0, count: 4000))
            #expect(features.frames == 48)
            #expect(features.firstNonFinite == nil, "\(type)")
        }
    }

    @Test func ditherIsSeededByUtteranceId() throws {
        var config = testConfig()
        config.frame.dither = 1
        let computer = try FeatureComputer(config: config)
        let wave = (0..<2000).map { Float(sin(Double($0) * 0.3) * 1000) }
        #expect(computer.compute(wave, utterance: "a") == computer.compute(wave, utterance: "a"))
        #expect(computer.compute(wave, utterance: "a") != computer.compute(wave, utterance: "b"))
    }

    @Test func htkPresetPutsC0LastWithTwentySixChannels() throws {
        var config = FeatureConfig(preset: .htk)
        config.frame.sampleFrequency = 8000
        #expect(config.mel.binCount == 26 && config.frame.windowType == .hamming && !config.usePower)
        let wave: [Float] = (0..<4000).map { (t: Int) -> Float in
            let x = Double(t)
            return Float(3000 * sin(x * 0.2) + 500 * sin(x * 0.05))
        }
        let htk = try FeatureComputer(config: config).compute(wave)
        #expect(htk.dimension == 13 && htk.firstNonFinite == nil)
        // C0 = √2 · Σ log-mel / √N · ... : with HTK's DCT, C0 is √(2/N) Σ log m_j.
        var noC0Shift = config
        noC0Shift.htkCompat = false
        let plain = try FeatureComputer(config: noC0Shift).compute(wave)
        #expect(htk[3, 0] == plain[3, 1])
        #expect(htk[3, 12] > plain[3, 0])  // floored mel energies (≥ 1) and the √2 factor
    }

    @Test func badOptionsNameTheirFlag() {
        var config = testConfig()
        config.mel.binCount = 200
        #expect(throws: FeatureConfigurationError.self) { try FeatureComputer(config: config) }
        config = testConfig()
        config.mel.highFrequency = 5000  // above Nyquist at 8 kHz
        let error = #expect(throws: FeatureConfigurationError.self) { try config.validate() }
        #expect(error?.description.contains("--high-freq") == true)
        config = testConfig()
        config.cepstraCount = 30
        #expect(throws: FeatureConfigurationError.self) { try config.validate() }
    }

    @Test func kaldiConfigFileSetsOptionsAndNamesBadLines() throws {
        let folder = temporaryFolder()
        let good = folder + "/mfcc.conf"
        try "# Kaldi mfcc.conf\n--use-energy=false   # C0 instead\n--sample-frequency=8000\n--num-ceps=20\n--num-mel-bins=30\n--snip-edges=false\n"
            .write(toFile: good, atomically: true, encoding: .utf8)
        var config = FeatureConfig()
        let names = try config.applyKaldiConfig(good)
        #expect(names.contains("sample-frequency"))
        #expect(!config.useEnergy && config.frame.sampleFrequency == 8000 && config.cepstraCount == 20)
        #expect(config.mel.binCount == 30 && !config.frame.snipEdges)
        let bad = folder + "/bad.conf"
        try "--num-ceps=13\n--frobnicate=1\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let error = #expect(throws: FeatureConfigurationError.self) { try config.applyKaldiConfig(bad) }
        #expect(error?.description.contains("bad.conf:2") == true)
        try "--num-ceps=many\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let value = #expect(throws: FeatureConfigurationError.self) { try config.applyKaldiConfig(bad) }
        #expect(value?.description.contains("bad.conf:1") == true)
    }
}

@Suite struct NumpyFileTests {
    @Test func roundTripsAndNumpyHeaderIsAligned() throws {
        let matrix = FeatureMatrix(frames: 3, dimension: 2, values: [1, 2, 3, 4, 5, -6.5])
        let bytes = NumpyFile.encode(matrix)
        #expect((bytes.count - 24) % 64 == 0)
        #expect(try NumpyFile.decode(bytes) == matrix)
    }

    @Test func refusesTruncatedAndInconsistentFiles() throws {
        let matrix = FeatureMatrix(frames: 4, dimension: 3)
        let bytes = NumpyFile.encode(matrix)
        #expect(throws: NumpyFileError.self) { try NumpyFile.decode(bytes.dropLast(4)) }
        #expect(throws: NumpyFileError.self) { try NumpyFile.decode(bytes.prefix(20)) }
        #expect(throws: NumpyFileError.self) { try NumpyFile.decode(Data("not numpy".utf8)) }
        var huge = String(decoding: bytes, as: UTF8.self)
        huge = huge.replacingOccurrences(of: "(4, 3)", with: "(4000000000, 3000000)")
        #expect(throws: NumpyFileError.self) { try NumpyFile.decode(Data(huge.utf8)) }
    }
}

@Suite struct FeatureExtractionJobTests {
    /// Writes `count` short utterances (tones) of two speakers and returns their sources.
    func corpus(in folder: String, count: Int = 6) throws -> [FeatureSource] {
        try (0..<count).map { i in
            let path = folder + "/u\(i).wav"
            let step = 0.05 + 0.02 * Double(i)
            let wave: [Float] = (0..<(4000 + 400 * i)).map { (t: Int) -> Float in Float(0.3 * sin(Double(t) * step)) }
            try AudioFile.write(wave, sampleRate: 8000, to: path)
            return FeatureSource(id: "u\(i)", audioPath: path, speaker: i % 2 == 0 ? "even" : "odd")
        }
    }

    @Test func writesNpyIndexAndConfigThatReadBack() throws {
        let folder = temporaryFolder()
        let sources = try corpus(in: folder)
        var config = testConfig()
        config.deltaOrder = 2
        let summary = try FeatureExtractionJob(config: config, jobs: 2).run(sources, output: folder + "/feats")
        #expect(summary.failed.isEmpty && summary.utterances == 6)
        let scp = try String(contentsOfFile: folder + "/feats/feats.scp", encoding: .utf8)
        #expect(scp.split(separator: "\n").first == "u0 feats/u0.npy")
        let u3 = try NumpyFile.read(folder + "/feats/feats/u3.npy")
        #expect(u3.dimension == 39 && u3.frames == config.frame.frameCount(sampleCount: 5200))
        // The same features as computing the utterance alone.
        let alone = try FeatureExtractionJob.features(of: try AudioFile.read(sources[3].audioPath).samples, id: "u3",
                                                      computer: FeatureComputer(config: config))
        #expect(u3 == alone)
        let saved = try JSONDecoder().decode(FeatureConfig.self, from: Data(contentsOf: URL(fileURLWithPath: folder + "/feats/config.json")))
        #expect(saved == config)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder + "/feats/feats").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test func leftoversOfAnInterruptedRunAreRemoved() throws {
        let folder = temporaryFolder()
        let sources = try corpus(in: folder, count: 2)
        try FileManager.default.createDirectory(atPath: folder + "/feats/feats", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: folder + "/feats/feats/.u0.npy.tmp-123", contents: Data([1, 2, 3]))
        _ = try FeatureExtractionJob(config: testConfig()).run(sources, output: folder + "/feats")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/feats/feats").sorted() == ["u0.npy", "u1.npy"])
    }

    @Test func speakerCMVNZeroesEachSpeakersMean() throws {
        let folder = temporaryFolder()
        let sources = try corpus(in: folder)
        var config = testConfig()
        config.cmvn = .speaker
        config.normalizeVariance = true
        _ = try FeatureExtractionJob(config: config, jobs: 2).run(sources, output: folder + "/feats")
        for speaker in ["even", "odd"] {
            var stats = CMVNStatistics(dimension: 13)
            for s in sources where s.speaker == speaker {
                stats.accumulate(try NumpyFile.read(folder + "/feats/feats/\(s.id).npy"))
            }
            for d in 0..<13 {
                #expect(abs(stats.sum[d] / stats.count) < 1e-4)
                #expect(abs(stats.sumOfSquares[d] / stats.count - 1) < 1e-3)
            }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder + "/feats/feats").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test func aBadUtteranceFailsTheRunWithoutAnIndexUnlessKeepGoing() throws {
        let folder = temporaryFolder()
        var sources = try corpus(in: folder, count: 3)
        _ = FileManager.default.createFile(atPath: folder + "/bad.wav", contents: Data("garbage".utf8))
        try AudioFile.write([Float](repeating: 0.1, count: 50), sampleRate: 8000, to: folder + "/short.wav")
        sources.append(FeatureSource(id: "bad", audioPath: folder + "/bad.wav"))
        sources.append(FeatureSource(id: "short", audioPath: folder + "/short.wav"))
        let job = FeatureExtractionJob(config: testConfig(), jobs: 2)
        let failure = try #require(throws: FeatureExtractionJob.Failure.self) { try job.run(sources, output: folder + "/f") }
        #expect(failure.failures.map(\.id).sorted() == ["bad", "short"])
        #expect(failure.description.contains("bad.wav"))
        #expect(failure.description.contains("shorter than one frame"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/f/feats.scp"))

        var lenient = job
        lenient.keepGoing = true
        let summary = try lenient.run(sources, output: folder + "/f")
        #expect(summary.failed.count == 2)
        let scp = try String(contentsOfFile: folder + "/f/feats.scp", encoding: .utf8)
        #expect(scp.split(separator: "\n").count == 3)
    }

    @Test func anotherSampleRateIsResampledOrRefused() throws {
        let folder = temporaryFolder()
        try AudioFile.write((0..<16000).map { Float(sin(Double($0) * 0.1)) * 0.2 }, sampleRate: 16000, to: folder + "/hi.wav")
        let sources = [FeatureSource(id: "hi", audioPath: folder + "/hi.wav")]
        let summary = try FeatureExtractionJob(config: testConfig()).run(sources, output: folder + "/a")
        #expect(summary.frames == 98)  // one second at 8 kHz
        let strict = FeatureExtractionJob(config: testConfig(), audio: AudioReadOptions(allowResampling: false))
        let failure = try #require(throws: FeatureExtractionJob.Failure.self) { try strict.run(sources, output: folder + "/b") }
        #expect(failure.description.contains("16000 Hz"))
    }
}

@Suite struct DitherTests {
    @Test func ditherNoiseHasTheRequestedStandardDeviation() throws {
        // Rectangular window, no pre-emphasis, no DC removal: the frame is the noise itself,
        // and with --use-energy the raw log-energy is log(Σ noise²) ≈ log(N·σ²).
        var config = testConfig()
        config.frame.dither = 3
        config.frame.windowType = .rectangular
        config.frame.preemphasisCoefficient = 0
        config.frame.removeDCOffset = false
        let features = try FeatureComputer(config: config).compute([Float](repeating: 0, count: 80_000), utterance: "noise")
        var meanEnergy = 0.0
        for t in 0..<features.frames { meanEnergy += exp(Double(features[t, 0])) }
        meanEnergy /= Double(features.frames)
        let variance = meanEnergy / Double(config.frame.windowSize)
        #expect(abs(variance - 9) < 0.2, "variance \(variance)")
    }
}

/// Inputs the fuzzers found (scripts/fuzz), kept as regular tests.
@Suite struct FuzzFindingTests {
    /// FuzzTextFormats: `--sample-frequency=8022…200` (98 digits) in a configuration file made
    /// the frame size overflow Int in validate() (a trap) instead of an error.
    @Test func hugeSampleRatesAndFrameLengthsAreErrorsNotTraps() throws {
        for (name, value) in [("sample-frequency", "8" + String(repeating: "2", count: 96) + "00"), ("sample-frequency", "1e300"),
                              ("frame-length", "1e300"), ("frame-shift", "1e19"), ("num-mel-bins", "100000000")] {
            var config = FeatureConfig(preset: .kaldi)
            try config.apply(option: name, value: value)
            #expect(throws: FeatureConfigurationError.self, "--\(name)=\(value)") { try config.validate() }
        }
    }
}
