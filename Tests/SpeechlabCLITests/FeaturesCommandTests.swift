import AudioIO
import FeatureExtraction
import Foundation
import SpeechCorpus
import Testing

@Suite struct FeaturesCommandTests {
    /// A data directory of three generated utterances at 8 kHz.
    func smallCorpus() throws -> String {
        let root = temporaryFolder()
        var scp = "", text = ""
        for i in 0..<3 {
            let path = root + "/u\(i).wav"
            let step = 0.03 * Double(i + 1)
            try AudioFile.write((0..<(3000 + 500 * i)).map { (t: Int) -> Float in Float(0.2 * sin(Double(t) * step)) }, sampleRate: 8000, to: path)
            scp += "u\(i) \(path)\n"
            text += "u\(i) WORD\(i)\n"
        }
        try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
        try scp.write(toFile: root + "/data/wav.scp", atomically: true, encoding: .utf8)
        try text.write(toFile: root + "/data/text", atomically: true, encoding: .utf8)
        return root
    }

    @Test func helpExplainsKaldiNamedOptions() throws {
        let result = try Speechlab.run(["features", "--help"])
        #expect(result.status == 0)
        for flag in ["--sample-frequency", "--snip-edges", "--num-mel-bins", "--cmvn", "--config", "--jobs", "--deltas"] {
            #expect(result.stdout.contains(flag), "\(flag)")
        }
    }

    @Test func extractsADataDirectoryWithDeltasAtTheDataRate() throws {
        let root = try smallCorpus()
        let result = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--deltas", "--dither", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("done 3 of 3"))
        let scp = try String(contentsOfFile: root + "/feats/feats.scp", encoding: .utf8).split(separator: "\n")
        #expect(scp.count == 3)
        let u1 = try NumpyFile.read(root + "/feats/feats/u1.npy")
        #expect(u1.dimension == 39 && u1.frames == 1 + (3500 - 200) / 80)
        let config = try JSONDecoder().decode(FeatureConfig.self, from: Data(contentsOf: URL(fileURLWithPath: root + "/feats/config.json")))
        #expect(config.frame.sampleFrequency == 8000 && config.deltaOrder == 2)
    }

    @Test func kaldiConfigFileThenFlagsOverride() throws {
        let root = try smallCorpus()
        let conf = Speechlab.resources + "/mfcc.conf"
        let result = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--config", conf, "--num-ceps", "10", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let u0 = try NumpyFile.read(root + "/feats/feats/u0.npy")
        #expect(u0.dimension == 10)
        #expect(u0.frames == (3000 + 40) / 80)  // --snip-edges=false from the file
    }

    @Test func folderOfAudioFilesIsACorpusToo() throws {
        let root = try smallCorpus()
        let result = try Speechlab.run(["features", "--data", root, "--out", root + "/feats", "--type", "fbank", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try NumpyFile.read(root + "/feats/feats/u2.npy").dimension == 23)
    }

    @Test func pipeInWavScpIsRefusedNamingTheLine() throws {
        let root = try smallCorpus()
        try "u0 \(root)/u0.wav\nu1 sox \(root)/u1.wav -t wav - |\n".write(toFile: root + "/data/wav.scp", atomically: true, encoding: .utf8)
        try "u0 A\nu1 B\n".write(toFile: root + "/data/text", atomically: true, encoding: .utf8)
        let result = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("wav.scp:2"))
        #expect(result.stderr.contains("never runs a command"))
        #expect(!FileManager.default.fileExists(atPath: root + "/feats"))
    }

    @Test func missingAudioFailsNamingTheFileAndLeavesNoIndex() throws {
        let root = try smallCorpus()
        try FileManager.default.removeItem(atPath: root + "/u1.wav")
        let result = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--quiet"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(root + "/u1.wav: does not exist"))
        #expect(!FileManager.default.fileExists(atPath: root + "/feats/feats.scp"))
        let kept = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--quiet", "--keep-going"])
        #expect(kept.status == 0)
        #expect(kept.stderr.contains("skipped u1"))
        #expect(kept.stdout.contains("done 2 of 3"))
    }

    @Test func perturbWritesSpeedCopiesThatFeaturesRead() throws {
        let root = try smallCorpus()
        let result = try Speechlab.run(["perturb", "--data", root + "/data", "--out", root + "/sp", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let data = try DataDirectory.load(root + "/sp")
        #expect(data.utterances.count == 9)
        let slow = try AudioFile.read(root + "/sp/wav/sp0.9/sp0.9-u1.flac", options: AudioReadOptions(scale: 1))
        #expect(slow.sampleRate == 8000 && abs(Double(slow.samples.count) - 3500 / 0.9) <= 2)
        #expect(data.utterances.first { $0.id == "sp1.1-u2" }?.original == "u2")
        #expect(data.utterances.first { $0.id == "u0" }?.audioPath == root + "/u0.wav")
        let features = try Speechlab.run(["features", "--data", root + "/sp", "--out", root + "/feats", "--quiet"])
        #expect(features.status == 0 && features.stdout.contains("done 9 of 9"))
        // An existing OUT is kept unless --overwrite; bad factors are named.
        let again = try Speechlab.run(["perturb", "--data", root + "/data", "--out", root + "/sp", "--quiet"])
        #expect(again.status != 0 && again.stderr.contains("--overwrite"))
        let bad = try Speechlab.run(["perturb", "--data", root + "/data", "--out", root + "/sp2", "--speeds", "0.9,fast"])
        #expect(bad.status != 0 && bad.stderr.contains("'fast' is not a number"))
    }

    @Test func perturbFailingOnAnUtteranceLeavesNoOutput() throws {
        let root = try smallCorpus()
        try FileManager.default.removeItem(atPath: root + "/u1.wav")
        let result = try Speechlab.run(["perturb", "--data", root + "/data", "--out", root + "/sp", "--quiet"])
        #expect(result.status != 0 && result.stderr.contains("u1.wav"))
        #expect(!FileManager.default.fileExists(atPath: root + "/sp") && !FileManager.default.fileExists(atPath: root + "/sp.partial"))
    }

    @Test func badOptionValuesAreNamed() throws {
        let root = try smallCorpus()
        let result = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--high-freq", "6000"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--high-freq"))
        let window = try Speechlab.run(["features", "--data", root + "/data", "--out", root + "/feats", "--window-type", "triangle"])
        #expect(window.status != 0 && window.stderr.contains("--window-type"))
    }

    @Test func nonexistentDataIsNamed() throws {
        let result = try Speechlab.run(["features", "--data", "/nonexistent/data", "--out", temporaryFolder()])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/data: does not exist"))
    }
}

@Suite struct PrepareAndRealSpeechTests {
    @Test func prepareFSDDThenFeaturesOfRealSpeech() throws {
        guard let recordings = SharedData.requireFSDD() else { return }
        let root = temporaryFolder()
        let prepared = try Speechlab.run(["prepare", "fsdd", "--src", recordings, "--out", root + "/data", "--split", "speaker:theo"])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        let test = try String(contentsOfFile: root + "/data/test/wav.scp", encoding: .utf8).split(separator: "\n")
        #expect(test.count == 500)
        #expect(test.allSatisfy { $0.hasPrefix("theo_") })
        // Features of a small real subset: ten utterances of the test speaker.
        let subset = root + "/subset"
        try FileManager.default.createDirectory(atPath: subset, withIntermediateDirectories: true)
        try test.prefix(10).map { $0 + "\n" }.joined().write(toFile: subset + "/wav.scp", atomically: true, encoding: .utf8)
        let result = try Speechlab.run(["features", "--data", subset, "--out", root + "/feats", "--deltas", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let ids = test.prefix(10).map { String($0.split(separator: " ")[0]) }
        for id in ids {
            let features = try NumpyFile.read(root + "/feats/feats/\(id).npy")
            #expect(features.dimension == 39 && features.frames > 10 && features.firstNonFinite == nil)
        }
    }

    @Test func prepareRefusesAnUnknownSplit() throws {
        let result = try Speechlab.run(["prepare", "fsdd", "--src", temporaryFolder(), "--out", temporaryFolder(), "--split", "halves"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--split"))
    }
}
