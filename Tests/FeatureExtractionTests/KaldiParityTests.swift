import AudioIO
import FeatureExtraction
import Foundation
import Testing

/// Fixtures made by scripts/make-fixtures with kaldi-native-fbank (see cases.json).
enum Fixtures {
    static let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

    static func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var wave: String
        var type: String
        var options: Options
        var testDescription: String { name }

        struct Options: Decodable, Sendable {
            var snip_edges: Bool?
            var window_type: String?
            var num_mel_bins: Int?
            var num_ceps: Int?
            var low_freq: Double?
            var high_freq: Double?
            var use_energy: Bool?
            var cepstral_lifter: Double?
        }

        /// The speechlab configuration with the same options.
        func config(sampleRate: Int) -> FeatureConfig {
            var config = FeatureConfig(preset: .kaldi, type: FeatureType(rawValue: type)!)
            config.frame.sampleFrequency = Double(sampleRate)
            config.frame.dither = 0
            config.cmvn = .none
            if let v = options.snip_edges { config.frame.snipEdges = v }
            if let v = options.window_type { config.frame.windowType = WindowType(rawValue: v)! }
            if let v = options.num_mel_bins { config.mel.binCount = v }
            if let v = options.num_ceps { config.cepstraCount = v }
            if let v = options.low_freq { config.mel.lowFrequency = v }
            if let v = options.high_freq { config.mel.highFrequency = v }
            if let v = options.use_energy { config.useEnergy = v }
            if let v = options.cepstral_lifter { config.cepstralLifter = v }
            return config
        }
    }

    static let cases: [Case] = {
        struct Manifest: Decodable { var cases: [Case] }
        let data = FileManager.default.contents(atPath: path("cases.json"))!
        return try! JSONDecoder().decode(Manifest.self, from: data).cases
    }()
}

/// ‖a − b‖ / ‖b‖ over all values.
func relativeError(_ a: FeatureMatrix, _ b: FeatureMatrix) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a.values, b.values) {
        num += Double(x - y) * Double(x - y)
        den += Double(y) * Double(y)
    }
    return (num / max(den, 1e-30)).squareRoot()
}

@Suite("Features match kaldi-native-fbank")
struct KaldiParityTests {
    @Test("every fixture case: same frame count, relative error ≤ 1e-4", arguments: Fixtures.cases)
    func matchesReference(_ fixture: Fixtures.Case) throws {
        let audio = try AudioFile.read(Fixtures.path(fixture.wave))
        let computer = try FeatureComputer(config: fixture.config(sampleRate: audio.sampleRate))
        let ours = computer.compute(audio.samples)
        let reference = try NumpyFile.read(Fixtures.path(fixture.name + ".npy"))
        #expect(ours.frames == reference.frames)
        #expect(ours.dimension == reference.dimension)
        try #require(ours.frames == reference.frames && ours.dimension == reference.dimension)
        let error = relativeError(ours, reference)
        #expect(error <= 1e-4, "relative error \(error)")
        print("parity \(fixture.name): relative error \(error)")
    }

    @Test func fixturesCoverBothRatesBothEdgeModesAndBothTypes() {
        let names = Set(Fixtures.cases.map(\.name))
        for stem in ["tones_8k", "tones_16k", "speech_8k", "speech_16k"] {
            for type in ["mfcc", "fbank"] {
                #expect(names.contains("\(stem)_\(type)_snip"))
                #expect(names.contains("\(stem)_\(type)_nosnip"))
            }
        }
    }

    @Test func deltasMatchKaldiAddDeltas() throws {
        let input = try NumpyFile.read(Fixtures.path("post_input.npy"))
        let reference = try NumpyFile.read(Fixtures.path("post_deltas.npy"))
        let ours = DeltaComputer(order: 2, window: 2).apply(input)
        #expect(ours.dimension == 39 && ours.frames == input.frames)
        #expect(relativeError(ours, reference) <= 1e-5)
    }

    @Test func cmvnMatchesKaldiApplyCmvn() throws {
        let input = try NumpyFile.read(Fixtures.path("post_input.npy"))
        for (file, normalizeVariance) in [("post_cmvn_mean.npy", false), ("post_cmvn_meanvar.npy", true)] {
            var ours = input
            CMVNStatistics(input).apply(to: &ours, normalizeVariance: normalizeVariance)
            let reference = try NumpyFile.read(Fixtures.path(file))
            #expect(relativeError(ours, reference) <= 1e-5, "\(file)")
        }
    }

    @Test func pipelineAppliesCMVNBeforeDeltas() throws {
        let audio = try AudioFile.read(Fixtures.path("speech_8k.wav"))
        var config = FeatureConfig(preset: .kaldi)
        config.frame.sampleFrequency = 8000
        config.frame.dither = 0
        config.cmvn = .utterance
        config.deltaOrder = 2
        let computer = try FeatureComputer(config: config)
        let ours = try FeatureExtractionJob.features(of: audio.samples, id: "u", computer: computer)
        let reference = try NumpyFile.read(Fixtures.path("post_cmvn_then_deltas.npy"))
        #expect(ours.dimension == 39)
        #expect(relativeError(ours, reference) <= 1e-4)
    }
}
