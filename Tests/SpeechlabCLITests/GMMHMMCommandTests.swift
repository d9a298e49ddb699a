import Foundation
import Testing

@Suite struct GMMHMMCommandTests {
    /// Train, decode, align and score on three digits of the real recordings.
    @Test func trainDecodeAlignAndScoreRealSpeech() throws {
        guard let recordings = SharedData.requireFSDD() else { return }
        let root = temporaryFolder()
        #expect(try Speechlab.run(["prepare", "fsdd", "--src", recordings, "--out", root + "/all"]).status == 0)
        // Digits zero, one and two only, to keep the test fast.
        for set in ["train", "test"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(set)", withIntermediateDirectories: true)
            for file in ["wav.scp", "text", "utt2spk"] {
                let lines = try String(contentsOfFile: "\(root)/all/\(set)/\(file)", encoding: .utf8).split(separator: "\n")
                let kept = lines.filter { line in ["_0_", "_1_", "_2_"].contains { line.split(separator: " ")[0].contains($0) } }
                    .filter { set == "test" || Int($0.split(separator: " ")[0].split(separator: "_")[2])! < 20 }
                try kept.map { $0 + "\n" }.joined().write(toFile: "\(root)/\(set)/\(file)", atomically: true, encoding: .utf8)
            }
        }
        let train = try Speechlab.run(["train", "gmm-hmm", "--train", root + "/train", "--out", root + "/model",
                                       "--states", "6", "--gaussians", "2", "--iterations", "6"])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("iteration 6/6"))
        let decode = try Speechlab.run(["decode", "--model", root + "/model", "--data", root + "/test", "--out", root + "/hyp", "--quiet"])
        #expect(decode.status == 0, "\(decode.stderr)")
        let score = try Speechlab.run(["score", "--ref", root + "/test/text", "--hyp", root + "/hyp", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as! [String: Any]
        let accuracy = report["accuracy"] as! Double
        #expect(accuracy >= 0.9, "accuracy \(accuracy)")
        // Decoding precomputed features made with the model's options (its LDA+MLLT transform
        // included) gives the same hypotheses; --data gives the speakers fMLLR adapts to.
        let features = try Speechlab.run(["features", "--data", root + "/test", "--out", root + "/feats", "--like", root + "/model", "--quiet"])
        #expect(features.status == 0, "\(features.stderr)")
        let fromFeatures = try Speechlab.run(["decode", "--model", root + "/model", "--data", root + "/test", "--feats", root + "/feats",
                                              "--out", root + "/hyp2", "--quiet"])
        #expect(fromFeatures.status == 0, "\(fromFeatures.stderr)")
        #expect(try String(contentsOfFile: root + "/hyp2", encoding: .utf8) == String(contentsOfFile: root + "/hyp", encoding: .utf8))
        let mismatch = try Speechlab.run(["features", "--data", root + "/test", "--out", root + "/feats-plain", "--quiet"])
        #expect(mismatch.status == 0)
        let refused = try Speechlab.run(["decode", "--model", root + "/model", "--feats", root + "/feats-plain", "--out", root + "/hyp3", "--quiet"])
        #expect(refused.status != 0 && refused.stderr.contains("other options"))
        let align = try Speechlab.run(["align", "--model", root + "/model", "--data", root + "/test", "--out", root + "/ali", "--quiet"])
        #expect(align.status == 0, "\(align.stderr)")
        let first = try String(contentsOfFile: root + "/ali/alignments.txt", encoding: .utf8).split(separator: "\n")[0].split(separator: " ")
        #expect(first.count > 10 && first.dropFirst().allSatisfy { Int($0) != nil })

        // A small hybrid GRU on the training alignments, decoded by the same command.
        let trainAlign = try Speechlab.run(["align", "--model", root + "/model", "--data", root + "/train", "--out", root + "/ali-train", "--quiet"])
        #expect(trainAlign.status == 0, "\(trainAlign.stderr)")
        let rnn = try Speechlab.run(["train", "rnn", "--kind", "hybrid", "--cell", "gru", "--layers", "1", "--hidden", "32", "--epochs", "10", "--batch-size", "8", "--learning-rate", "0.01",
                                     "--train", root + "/train", "--alignments", root + "/ali-train", "--out", root + "/gru"])
        #expect(rnn.status == 0, "\(rnn.stderr)")
        #expect(rnn.stderr.contains("epoch 1/10"))
        let hybrid = try Speechlab.run(["decode", "--model", root + "/gru", "--data", root + "/test", "--out", root + "/gru.hyp", "--quiet"])
        #expect(hybrid.status == 0, "\(hybrid.stderr)")
        let hybridScore = try Speechlab.run(["score", "--ref", root + "/test/text", "--hyp", root + "/gru.hyp", "--json"])
        let hybridAccuracy = (try JSONSerialization.jsonObject(with: Data(hybridScore.stdout.utf8)) as! [String: Any])["accuracy"] as! Double
        #expect(hybridAccuracy >= 0.8, "hybrid accuracy \(hybridAccuracy)")
    }

    @Test func decodingWithAMissingModelNamesIt() throws {
        let result = try Speechlab.run(["decode", "--model", "/nonexistent/model", "--data", temporaryFolder(), "--out", temporaryFolder() + "/h"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/model"))
    }

    @Test func treeAndMixingSizesAreValidated() throws {
        let root = temporaryFolder()
        for (arguments, message) in [(["--from", root, "--min-gain=-1"], "--min-gain at least 0"),
                                     (["--gaussians-total", "0"], "--gaussians-total")] {
            let result = try Speechlab.run(["train", "gmm-hmm", "--train", root, "--out", root + "/m"] + arguments)
            #expect(result.status == 64 && result.stderr.contains(message), "\(result.stderr)")
        }
    }

    @Test func scoreReportsWordErrors() throws {
        let root = temporaryFolder()
        try "a one two\nb three\n".write(toFile: root + "/ref", atomically: true, encoding: .utf8)
        try "a one\nb three\n".write(toFile: root + "/hyp", atomically: true, encoding: .utf8)
        let result = try Speechlab.run(["score", "--ref", root + "/ref", "--hyp", root + "/hyp"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("%WER 33.33 [ 1 / 3, 0 ins, 1 del, 0 sub ]"))
    }
}
