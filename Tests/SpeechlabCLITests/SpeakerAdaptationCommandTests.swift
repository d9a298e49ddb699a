import Foundation
import Testing

/// The speaker-adaptive recipe at the command line, on the tiny tone models (two speakers).
@Suite struct SpeakerAdaptationCommandTests {
    let f = TinyModels.fixture

    @Test func wholeWordTrainingEndsWithATransformAndSpeakerAdaptation() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.gmm + "/model.json"))) as! [String: Any]
        let transform = try #require((json["features"] as! [String: Any])["transform"] as? [String: Any])
        #expect(transform["context"] as? Int == 3 && transform["inputDimension"] as? Int == 13)
        #expect(json["speakerAdaptation"] != nil)
        let weights = try String(decoding: Data(contentsOf: URL(fileURLWithPath: f.gmm + "/weights.safetensors")).prefix(4096), as: UTF8.self)
        #expect(weights.contains("alignment.pdf.0.means"))
    }

    @Test func decodeAdaptsToEachSpeakerUnlessToldNot() throws {
        let out = temporaryFolder()
        let adapted = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/a.hyp"])
        #expect(adapted.status == 0, "\(adapted.stderr)")
        #expect(adapted.stderr.contains("fMLLR for 2 speakers"))
        let plain = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/b.hyp", "--no-adapt"])
        #expect(plain.status == 0 && !plain.stderr.contains("fMLLR"), "\(plain.stderr)")
        let badRounds = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/c.hyp", "--adapt-rounds", "0"])
        #expect(badRounds.status == 64 && badRounds.stderr.contains("--adapt-rounds"))
        #expect(!FileManager.default.fileExists(atPath: out + "/c.hyp"))
        // Without utt2spk every utterance is its own speaker: a few frames, so a simpler transform, said so.
        try FileManager.default.copyItem(atPath: f.data + "/test", toPath: out + "/nospk")
        try FileManager.default.removeItem(atPath: out + "/nospk/utt2spk")
        let alone = try Speechlab.run(["decode", "--model", f.gmm, "--data", out + "/nospk", "--out", out + "/d.hyp"])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(alone.stderr.contains("utterances (each its own speaker)") && alone.stderr.contains("too few for a full fMLLR"))
    }

    /// After fMLLR, each speaker's means learn from its own decoded words (never the text) and
    /// the speaker is decoded again; not without speakers, nor when told not to.
    @Test func decodeAdaptsEachSpeakersMeansToItsOwnWordsUnlessToldNot() throws {
        let out = temporaryFolder()
        // The transcripts say nothing to decode: a wrong text changes no hypothesis.
        try FileManager.default.copyItem(atPath: f.data + "/test", toPath: out + "/wrongtext")
        let text = try String(contentsOfFile: out + "/wrongtext/text", encoding: .utf8)
        try text.split(separator: "\n").map { $0.split(separator: " ").first! + " nonsense" }.joined(separator: "\n").appending("\n")
            .write(toFile: out + "/wrongtext/text", atomically: true, encoding: .utf8)
        let adapted = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/a.hyp"])
        #expect(adapted.status == 0 && adapted.stderr.contains("means MAP-adapted to the decoded words of 2 speakers"), "\(adapted.stderr)")
        let wrong = try Speechlab.run(["decode", "--model", f.gmm, "--data", out + "/wrongtext", "--out", out + "/w.hyp", "--quiet"])
        #expect(wrong.status == 0)
        #expect(try String(contentsOfFile: out + "/a.hyp", encoding: .utf8) == String(contentsOfFile: out + "/w.hyp", encoding: .utf8))
        let plain = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/b.hyp", "--no-adapt-means"])
        #expect(plain.status == 0 && plain.stderr.contains("fMLLR for 2 speakers") && !plain.stderr.contains("means MAP-adapted"), "\(plain.stderr)")
        let oneRound = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/c.hyp", "--adapt-means-rounds", "1"])
        #expect(oneRound.status == 0 && oneRound.stderr.contains("2 speakers (2 rounds in all)"), "\(oneRound.stderr)")
        for bad in [["--adapt-means-rounds", "0"], ["--adapt-means", "--graph", out]] {
            let refused = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/d.hyp"] + bad)
            #expect(refused.status == 64 && refused.stderr.contains(bad[0]), "\(bad): \(refused.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/d.hyp"))
        // Without utt2spk, by default not (an utterance's own words teach it little); on request, yes.
        try FileManager.default.copyItem(atPath: f.data + "/test", toPath: out + "/nospk")
        try FileManager.default.removeItem(atPath: out + "/nospk/utt2spk")
        let alone = try Speechlab.run(["decode", "--model", f.gmm, "--data", out + "/nospk", "--out", out + "/e.hyp"])
        #expect(alone.status == 0 && !alone.stderr.contains("means MAP-adapted"), "\(alone.stderr)")
        let asked = try Speechlab.run(["decode", "--model", f.gmm, "--data", out + "/nospk", "--out", out + "/f.hyp", "--adapt-means"])
        #expect(asked.status == 0 && asked.stderr.contains("means MAP-adapted"), "\(asked.stderr)")
    }

    @Test func alignEstimatesEachSpeakersTransformFromTheTranscripts() throws {
        let out = temporaryFolder()
        let result = try Speechlab.run(["align", "--model", f.gmm, "--data", f.data + "/train", "--out", out + "/ali"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("fMLLR transforms for 2 speakers"))
        let plain = try Speechlab.run(["align", "--model", f.gmm, "--data", f.data + "/train", "--out", out + "/ali2", "--quiet"])
        #expect(try String(contentsOfFile: out + "/ali/alignments.txt", encoding: .utf8) == String(contentsOfFile: out + "/ali2/alignments.txt", encoding: .utf8))
        #expect(plain.status == 0)
    }

    /// --no-lda keeps the first stage's model; --adapt still adapts it at test time.
    @Test func theFirstStageAloneCanBeAdaptedOnRequest() throws {
        let out = temporaryFolder()
        let train = try Speechlab.run(["train", "gmm-hmm", "--train", f.data + "/train", "--out", out + "/gmm", "--states", "3", "--gaussians", "2",
                                       "--iterations", "3", "--no-lda", "--quiet"])
        #expect(train.status == 0 && train.stdout.contains("Δ+ΔΔ features"), "\(train.stdout) \(train.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/gmm/model.json"))) as! [String: Any]
        #expect((json["features"] as! [String: Any])["transform"] == nil && json["speakerAdaptation"] == nil)
        let plain = try Speechlab.run(["decode", "--model", out + "/gmm", "--data", f.data + "/test", "--out", out + "/a.hyp"])
        #expect(plain.status == 0 && !plain.stderr.contains("fMLLR"))
        let adapted = try Speechlab.run(["decode", "--model", out + "/gmm", "--data", f.data + "/test", "--out", out + "/b.hyp", "--adapt"])
        #expect(adapted.status == 0 && adapted.stderr.contains("fMLLR for 2 speakers"), "\(adapted.stderr)")
        let noSAT = try Speechlab.run(["train", "gmm-hmm", "--train", f.data + "/train", "--out", out + "/lda", "--states", "3", "--gaussians", "2",
                                       "--iterations", "3", "--no-sat", "--quiet"])
        #expect(noSAT.status == 0 && noSAT.stdout.contains("LDA+MLLT,"), "\(noSAT.stdout)")
    }
}

/// Hybrids on the fMLLR-adapted features of a speaker-adaptive GMM-HMM's alignments.
@Suite struct AdaptedHybridCommandTests {
    let f = TinyModels.fixture

    @Test func theAlignmentsCarryEachSpeakersTransformAndTheGMM() throws {
        let transforms = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: f.alignments + "/transforms.json"))) as! [String: Any]
        #expect(transforms.count == 2, "two training speakers")
        #expect(FileManager.default.fileExists(atPath: f.alignments + "/adaptation-model.json"))
    }

    @Test func aHybridOnAdaptedFeaturesKeepsTheGMMAndAdaptsWhenDecoding() throws {
        #expect(FileManager.default.fileExists(atPath: f.gru + "/adaptation-model.json"))
        #expect(FileManager.default.fileExists(atPath: f.gru + "/adaptation-weights.safetensors"))
        let out = temporaryFolder()
        let adapted = try Speechlab.run(["decode", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/a.hyp"])
        #expect(adapted.status == 0 && adapted.stderr.contains("fMLLR for 2 speakers"), "\(adapted.stderr)")
        let plain = try Speechlab.run(["decode", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/b.hyp", "--no-adapt"])
        #expect(plain.status == 0 && !plain.stderr.contains("fMLLR"), "\(plain.stderr)")
        // A damaged embedded GMM-HMM is named.
        let broken = try TinyModels.copy(f.gru)
        try Data("{".utf8).write(to: URL(fileURLWithPath: broken + "/adaptation-model.json"))
        let refused = try Speechlab.run(["decode", "--model", broken, "--data", f.data + "/test", "--out", out + "/c.hyp"])
        #expect(refused.status == 1 && refused.stderr.contains("adaptation-model.json"), "\(refused.stderr)")
    }

    @Test func transformsForMissingSpeakersAreRefused() throws {
        let alignments = try TinyModels.copy(f.alignments)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: alignments + "/transforms.json"))
        let out = temporaryFolder()
        let result = try Speechlab.run(["train", "rnn", "--kind", "hybrid", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1",
                                        "--train", f.data + "/train", "--alignments", alignments, "--out", out + "/gru", "--quiet"])
        #expect(result.status == 1 && result.stderr.contains("has no transform for speaker"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/gru/model.json"))
    }
}
