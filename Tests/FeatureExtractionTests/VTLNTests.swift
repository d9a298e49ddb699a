import FeatureExtraction
import Foundation
import Testing

@Suite struct VTLNWarpTests {
    /// Kaldi's defaults at 8 kHz: filters 20-4000 Hz, linear part from 100 to 3500 Hz.
    func warp(_ factor: Double) throws -> VTLNWarp {
        var options = MelOptions()
        options.vtlnWarp = factor
        return try VTLNWarp(options: options, low: 20, high: 4000, nyquist: 4000)
    }

    @Test func warpDividesByTheFactorBetweenTheCutoffsAndKeepsTheEdges() throws {
        for factor in [0.8, 0.9, 1.1, 1.2] {
            let w = try warp(factor)
            // Kaldi: l = 100 · max(1, α), h = 3500 · min(1, α).
            #expect(abs(w.lowCutoff - 100 * max(1, factor)) < 1e-9)
            #expect(abs(w.highCutoff - 3500 * min(1, factor)) < 1e-9)
            for f in [500.0, 1000, 2500] { #expect(abs(w(f) - f / factor) < 1e-9) }
            #expect(abs(w(20) - 20) < 1e-9)
            #expect(abs(w(4000) - 4000) < 1e-9)
            // Continuous at the cut-offs and increasing everywhere.
            for c in [w.lowCutoff, w.highCutoff] { #expect(abs(w(c - 1e-6) - w(c + 1e-6)) < 1e-4) }
            var previous = -1.0
            for f in stride(from: 20.0, through: 4000, by: 10) {
                #expect(w(f) > previous)
                previous = w(f)
            }
        }
    }

    @Test func handComputedValuesBelowAndAboveTheLinearPart() throws {
        // α = 1.2: l = 120, h = 3500; below: 20 + (100 - 20)/(120 - 20) · (f - 20).
        let up = try warp(1.2)
        #expect(abs(up(70) - (20 + 0.8 * 50)) < 1e-9)
        // above: 4000 + (4000 - 3500/1.2)/(4000 - 3500) · (f - 4000).
        #expect(abs(up(3800) - (4000 + (4000 - 3500 / 1.2) / 500 * -200)) < 1e-9)
    }

    @Test func aWarpOfOneLeavesTheFilterbankAsItWas() throws {
        var options = MelOptions()
        let plain = try MelBank(options: options, sampleFrequency: 8000, fftLength: 256)
        options.vtlnWarp = 1
        options.vtlnLow = 50
        let same = try MelBank(options: options, sampleFrequency: 8000, fftLength: 256)
        #expect(plain.filters.map(\.firstBin) == same.filters.map(\.firstBin))
        #expect(plain.filters.map(\.weights) == same.filters.map(\.weights))
    }

    @Test func aWarpBelowOneMovesATonesPeakToALowerFilter() throws {
        // Filters nominally at f sit at f/α: a tone at F peaks where the unwarped bank has α·F.
        let rate = 8000.0
        let tone = (0..<8000).map { Float(8000 * sin(2 * Double.pi * 1500 * Double($0) / rate)) }
        func peak(_ factor: Double) throws -> Int {
            var config = testConfig(rate: rate)
            config.type = .fbank
            config.useEnergy = false
            config.mel.vtlnWarp = factor
            let features = try FeatureComputer(config: config).compute(tone)
            let frame = Array(features.values[(10 * features.dimension)..<(11 * features.dimension)])
            return frame.indices.max { frame[$0] < frame[$1] }!
        }
        let plain = try peak(1), warped = try peak(0.8)
        let centre = { (bin: Int) -> Float in
            let scale = MelScale.kaldi, low = scale.mel(20), high = scale.mel(4000)
            return scale.frequency(ofMel: low + Float(bin + 1) * (high - low) / 24)
        }
        #expect(warped < plain)
        #expect(abs(centre(warped) - 1200) < abs(centre(warped + 1) - 1200))
        #expect(abs(centre(warped) - 1200) < abs(centre(warped - 1) - 1200))
    }

    @Test func warpsOutsideTheRangeOrCutoffsOutsideTheBankAreRefusedByName() throws {
        var config = testConfig()
        try config.apply(option: "vtln-warp", value: "0.3")
        #expect(throws: FeatureConfigurationError.self) { try config.validate() }
        do { try config.validate() } catch { #expect("\(error)".contains("--vtln-warp")) }
        config = testConfig()
        try config.apply(option: "vtln-warp", value: "0.9")
        try config.apply(option: "vtln-high", value: "4500")
        do { try config.validate(); Issue.record("a cut-off above Nyquist passed") } catch { #expect("\(error)".contains("--vtln-high")) }
    }

    @Test func configsSavedBeforeVTLNReadAsUnwarped() throws {
        var config = testConfig()
        config.mel.vtlnWarp = 0.9
        let saved = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(FeatureConfig.self, from: saved) == config)
        // An older config.json: the mel options without the VTLN keys.
        var object = try JSONSerialization.jsonObject(with: saved) as! [String: Any]
        object["mel"] = ["binCount": 23, "lowFrequency": 20, "highFrequency": 0, "scale": "kaldi"]
        let old = try JSONDecoder().decode(FeatureConfig.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(old.mel == MelOptions())
        #expect(old.summary.contains("VTLN") == false)
        #expect(config.summary.contains("VTLN warp 0.9"))
    }
}
