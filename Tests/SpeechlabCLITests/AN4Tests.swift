import Foundation
import Testing

/// Continuous English end to end on a few AN4 utterances: phone models through CMUdict, a
/// trigram model, a graph, token passing. Small and short so that it stays a test (the full
/// recipe is scripts/an4); skips without the shared data, fails under CI=true.
@Suite struct AN4Tests {
    @Test func phoneModelsWithATrigramRecognizeHeldOutSpeakers() throws {
        guard let shared = SharedData.requireAN4() else { return }
        let work = temporaryFolder()
        func run(_ arguments: [String]) throws -> CommandResult {
            let result = try Speechlab.run(arguments)
            #expect(result.status == 0, "speechlab \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)")
            return result
        }
        _ = try run(["prepare", "an4", "--src", shared.an4, "--out", work + "/data", "--dev-speakers", "10"])
        // A quarter of the training speakers and two dev speakers keep the test short.
        try keepSpeakers(work + "/data/train", every: 4)
        try keepSpeakers(work + "/data/dev", every: 5)
        _ = try run(["train", "gmm-hmm", "--train", work + "/data/train", "--lexicon", shared.cmudict, "--gaussians", "4", "--iterations", "12",
                     "--out", work + "/mono", "--quiet"])
        _ = try run(["lm", "train", "--data", work + "/data/train", "--order", "3", "--out", work + "/lm.arpa", "--quiet"])
        _ = try run(["graph", "--model", work + "/mono", "--lm", work + "/lm.arpa", "--out", work + "/graph", "--quiet"])
        _ = try run(["decode", "--model", work + "/mono", "--graph", work + "/graph", "--data", work + "/data/dev", "--out", work + "/hyp", "--quiet"])
        let score = try run(["score", "--ref", work + "/data/dev/text", "--hyp", work + "/hyp", "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as! [String: Any]
        let wer = report["wordErrorRate"] as! Double, words = report["referenceWords"] as! Int
        print("AN4 end to end: \(words) dev words, WER \(String(format: "%.1f", 100 * wer))%")
        // Trained on a quarter of the data; the full recipe is under 10% on all ten dev speakers.
        #expect(words > 50 && wer < 0.35, "WER \(wer) on \(words) words")

        // Triphones grown from the monophones get LDA+MLLT and speaker-adaptive training by
        // default (the model keeps the transform and its alignment mixtures), and decode through
        // their graph in two passes, adapting to each dev speaker.
        let tri = try run(["train", "gmm-hmm", "--from", work + "/mono", "--train", work + "/data/train", "--leaves", "60", "--gaussians", "2",
                           "--iterations", "8", "--out", work + "/tri"])
        #expect(tri.stdout.contains("LDA+MLLT+SAT") && tri.stderr.contains("fMLLR for 16 speakers"), "\(tri.stdout)\n\(tri.stderr)")
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/tri/model.json"))) as! [String: Any]
        #expect(model["tree"] != nil && model["speakerAdaptation"] != nil && (model["features"] as? [String: Any])?["transform"] != nil, "\(model.keys.sorted())")
        _ = try run(["graph", "--model", work + "/tri", "--lm", work + "/lm.arpa", "--out", work + "/tri-graph", "--quiet"])
        let decoded = try run(["decode", "--model", work + "/tri", "--graph", work + "/tri-graph", "--data", work + "/data/dev", "--out", work + "/tri.hyp"])
        #expect(decoded.stderr.contains("fMLLR for 2 speakers"), "\(decoded.stderr)")
        let triScore = try run(["score", "--ref", work + "/data/dev/text", "--hyp", work + "/tri.hyp", "--json"])
        let triWER = (try JSONSerialization.jsonObject(with: Data(triScore.stdout.utf8)) as! [String: Any])["wordErrorRate"] as! Double
        print("AN4 end to end, adapted triphones: WER \(String(format: "%.1f", 100 * triWER))%")
        #expect(triWER < 0.35, "WER \(triWER) on \(words) words")
        // Triphones grown from those (Kaldi's tri3b after tri2b): a new tree from the alignment
        // mixtures' alignments, then a new LDA from the features under the old one (not stacked
        // on it), MLLT and SAT.
        let tri3 = try run(["train", "gmm-hmm", "--from", work + "/tri", "--train", work + "/data/train", "--leaves", "60", "--gaussians", "2",
                            "--iterations", "4", "--out", work + "/tri3"])
        #expect(tri3.stdout.contains("LDA+MLLT+SAT") && tri3.stderr.contains("fMLLR for 16 speakers"), "\(tri3.stdout)\n\(tri3.stderr)")
        let model3 = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/tri3/model.json"))) as! [String: Any]
        let transform3 = (model3["features"] as? [String: Any])?["transform"] as? [String: Any]
        #expect(model3["tree"] != nil && model3["speakerAdaptation"] != nil, "\(model3.keys.sorted())")
        #expect(transform3?["inputDimension"] as? Int == 13 && transform3?["outputDimension"] as? Int == 40, "\(transform3 ?? [:])")
    }

    /// Keeps every `every`-th speaker of a data directory (and only their utterances).
    private func keepSpeakers(_ dir: String, every: Int) throws {
        let utt2spk = try String(contentsOfFile: dir + "/utt2spk", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        let speakers = Array(Set(utt2spk.map { String($0[1]) })).sorted()
        let kept = Set(speakers.enumerated().filter { $0.offset % every == 0 }.map(\.element))
        let ids = Set(utt2spk.filter { kept.contains(String($0[1])) }.map { String($0[0]) })
        for file in ["wav.scp", "text", "utt2spk"] {
            let lines = try String(contentsOfFile: dir + "/" + file, encoding: .utf8).split(separator: "\n").filter { ids.contains(String($0.split(separator: " ")[0])) }
            try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
        }
        let spk2utt = try String(contentsOfFile: dir + "/spk2utt", encoding: .utf8).split(separator: "\n").filter { kept.contains(String($0.split(separator: " ")[0])) }
        try (spk2utt.joined(separator: "\n") + "\n").write(toFile: dir + "/spk2utt", atomically: true, encoding: .utf8)
    }
}
