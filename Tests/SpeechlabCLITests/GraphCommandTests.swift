import Foundation
import Testing

/// `lm train`, `graph` and `decode --graph` on the tiny tone models (no shared data needed).
@Suite struct GraphCommandTests {
    let f = TinyModels.fixture

    @Test func aLanguageModelGraphDecodesLikeTheGrammar() throws {
        let work = temporaryFolder()
        let lm = try Speechlab.run(["lm", "train", "--data", f.data + "/train", "--order", "2", "--out", work + "/lm.arpa"])
        #expect(lm.status == 0, "\(lm.stderr)")
        #expect(lm.stderr.contains("vocabulary 6 (with <s>, </s>, <unk>)") && lm.stderr.contains("perplexity"))
        let perplexity = try Speechlab.run(["lm", "perplexity", "--lm", work + "/lm.arpa", "--data", f.data + "/test"])
        #expect(perplexity.status == 0 && perplexity.stdout.contains("0 unknown words"), "\(perplexity.stdout) \(perplexity.stderr)")

        let graph = try Speechlab.run(["graph", "--model", f.gmm, "--lm", work + "/lm.arpa", "--out", work + "/graph", "--quiet"])
        #expect(graph.status == 0, "\(graph.stderr)")
        for file in ["HCLG.fst", "words.txt", "labels.txt", "graph.json"] {
            #expect(FileManager.default.fileExists(atPath: work + "/graph/" + file), "graph/\(file) is missing")
        }
        for (name, arguments) in [("grammar", ["--grammar", "isolated"]), ("graph", ["--graph", work + "/graph", "--lm-weight", "1"])] {
            let decode = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", work + "/hyp-" + name, "--quiet"] + arguments)
            #expect(decode.status == 0, "\(name): \(decode.stderr)")
        }
        let grammarScore = try Speechlab.run(["score", "--ref", f.data + "/test/text", "--hyp", work + "/hyp-grammar", "--json"])
        let graphScore = try Speechlab.run(["score", "--ref", f.data + "/test/text", "--hyp", work + "/hyp-graph", "--json"])
        func errorRate(_ r: CommandResult) throws -> Double {
            try (JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any])["wordErrorRate"] as! Double
        }
        // One word per utterance, and the unigram-ish model allows sequences: at most a little worse than the grammar.
        #expect(try errorRate(graphScore) <= errorRate(grammarScore) + 0.1, "graph \(graphScore.stdout) vs grammar \(grammarScore.stdout)")
    }

    @Test func aGraphOfAnotherModelOrABadLanguageModelIsRefused() throws {
        let work = temporaryFolder()
        #expect(try Speechlab.run(["lm", "train", "--data", f.data + "/train", "--out", work + "/lm.arpa", "--quiet"]).status == 0)
        #expect(try Speechlab.run(["graph", "--model", f.gmm, "--lm", work + "/lm.arpa", "--out", work + "/graph", "--quiet"]).status == 0)
        try TinyModels.editJSON(work + "/graph/graph.json") { $0["pdfCount"] = 3 }
        let mismatch = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--graph", work + "/graph", "--out", work + "/hyp"])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("was built for a model with 3 pdfs"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/hyp"))

        try "\\data\\\nngram 1=2\n\n\\1-grams:\n-0.5 low\n\n\\end\\\n".write(toFile: work + "/bad.arpa", atomically: true, encoding: .utf8)
        let bad = try Speechlab.run(["graph", "--model", f.gmm, "--lm", work + "/bad.arpa", "--out", work + "/graph2"])
        #expect(bad.status == 1 && bad.stderr.contains("bad.arpa: the header declares 2 1-grams but the section lists 1"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/graph2"), "nothing is written for a bad language model")
    }

    @Test func trainingWithALexiconNamesMissingWordsOrSkipsThem() throws {
        let work = temporaryFolder()
        // CMUdict's form: lower case, stress digits, an alternate and a comment.
        try "low L OW1\nhigh HH AY1 # a comment\nhigh(2) HH AY0\n".write(toFile: work + "/lexicon.dict", atomically: true, encoding: .utf8)
        let base = ["train", "gmm-hmm", "--train", f.data + "/train", "--lexicon", work + "/lexicon.dict", "--gaussians", "1", "--iterations", "2"]
        let missing = try Speechlab.run(base + ["--out", work + "/m1"])
        #expect(missing.status == 1 && missing.stderr.contains("word 'chirp' is not in the lexicon") && missing.stderr.contains("--skip-oov"),
                "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work + "/m1/model.json"))
        let skipped = try Speechlab.run(base + ["--out", work + "/m2", "--skip-oov"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stderr.contains("dropped") && skipped.stderr.contains("chirp") && skipped.stderr.contains("2 training words"), "\(skipped.stderr)")
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/m2/model.json"))) as! [String: Any]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: model), as: UTF8.self)
        // Phones without stress (so HIGH and HIGH(2) become one pronunciation).
        #expect(json.contains("\"OW\"") && !json.contains("AY1"), "\(json.prefix(300))")
    }

    @Test func theLanguageModelWeightIsTunedOnDevAndKept() throws {
        let work = temporaryFolder(), model = try TinyModels.copy(f.gmm)
        #expect(try Speechlab.run(["lm", "train", "--data", f.data + "/train", "--out", work + "/lm.arpa", "--quiet"]).status == 0)
        #expect(try Speechlab.run(["graph", "--model", model, "--lm", work + "/lm.arpa", "--out", work + "/graph", "--quiet"]).status == 0)
        let scan = try Speechlab.run(["decode", "--model", model, "--graph", work + "/graph", "--data", f.data + "/test", "--lm-weights", "1:3",
                                      "--out", work + "/hyp", "--times", work + "/times"])
        #expect(scan.status == 0, "\(scan.stderr)")
        #expect(scan.stderr.contains("LM weight 1: %WER") && scan.stderr.contains("LM weight 3: %WER") && scan.stderr.contains("has the fewest errors"))
        let tuned = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/decoding.json"))) as! [String: Any]
        #expect((tuned["errorsByWeight"] as? [String: Int])?.count == 3 && [1, 2, 3].contains(tuned["lmWeight"] as? Int ?? 0))
        // The speaker-adaptive model's first passes ran at the default weight while the weights were tried, and do again later.
        #expect(tuned["firstPassLMWeight"] as? Int == 10, "\(tuned)")
        let later = try Speechlab.run(["decode", "--model", model, "--graph", work + "/graph", "--data", f.data + "/test", "--out", work + "/hyp2",
                                       "--times", work + "/times2"])
        #expect(later.status == 0 && later.stderr.contains("tuned on"), "\(later.stderr)")
        let read = { (name: String) in try String(contentsOfFile: work + "/" + name, encoding: .utf8) }
        #expect(try read("hyp2") == read("hyp") && read("times2") == read("times"))
        // compare decodes it the same way.
        let compared = try Speechlab.run(["compare", "--test", f.data + "/test", "--models", model, "--graph", work + "/graph", "--out", work + "/report",
                                          "--quiet"])
        #expect(compared.status == 0, "\(compared.stderr)")
        #expect(try read("report/gmm.hyp") == read("hyp"))
        let unusable = try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--lm-weights", "5:2", "--graph", work + "/graph", "--out", work + "/x"])
        #expect(unusable.status == 64 && unusable.stderr.contains("--lm-weights takes A:B"))
    }

    @Test func compareDecodesThroughAGraph() throws {
        let work = temporaryFolder()
        #expect(try Speechlab.run(["lm", "train", "--data", f.data + "/train", "--out", work + "/lm.arpa", "--quiet"]).status == 0)
        #expect(try Speechlab.run(["graph", "--model", f.gmm, "--lm", work + "/lm.arpa", "--out", work + "/graph", "--quiet"]).status == 0)
        // The GMM-HMM and the hybrid GRU trained on its alignments share HMMs, so one graph serves both.
        let compare = try Speechlab.run(["compare", "--test", f.data + "/test", "--models", f.gmm, f.gru, "--graph", work + "/graph",
                                         "--out", work + "/report", "--quiet"])
        #expect(compare.status == 0, "\(compare.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/report/report.json"))) as! [String: Any]
        // Each speaker-adaptive model twice (unadapted, and after two-pass fMLLR through the graph).
        #expect(report["grammar"] as? String == "graph" && (report["models"] as? [Any])?.count == 4)
        // Through the graph too, --gmm-weight 1 scores the hybrid's last pass as the GMM-HMM scores its own.
        func decode(_ model: String, _ extra: [String]) throws -> String {
            let run = try Speechlab.run(["decode", "--model", model, "--graph", work + "/graph", "--data", f.data + "/test", "--out", work + "/h",
                                         "--times", work + "/t", "--quiet"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            return try String(contentsOfFile: work + "/h", encoding: .utf8) + String(contentsOfFile: work + "/t", encoding: .utf8)
        }
        #expect(try decode(f.gru, ["--gmm-weight", "1"]) == (try decode(f.gmm, [])))
        // compare mixes as decode does: by default, and at --gmm-weight 1 as the GMM-HMM itself.
        let hypotheses = { (report: String, name: String) in try String(contentsOfFile: "\(work)/\(report)/\(name).hyp", encoding: .utf8) }
        _ = try decode(f.gru, [])
        let decoded = try String(contentsOfFile: work + "/h", encoding: .utf8)
        #expect(try hypotheses("report", "gru") == decoded)
        let heavy = try Speechlab.run(["compare", "--test", f.data + "/test", "--models", f.gmm, f.gru, "--graph", work + "/graph",
                                       "--gmm-weight", "1", "--out", work + "/r1", "--quiet"])
        #expect(heavy.status == 0, "\(heavy.stderr)")
        let (gru, gmm) = (try hypotheses("r1", "gru"), try hypotheses("r1", "gmm"))
        let (gruUnadapted, gmmUnadapted) = (try hypotheses("r1", "gru-unadapted"), try hypotheses("r1", "gmm-unadapted"))
        #expect(gru == gmm && gruUnadapted == gmmUnadapted)
        let mismatch = try Speechlab.run(["compare", "--test", f.data + "/test", "--models", f.gmm, f.gru, "--graph", work + "/graph", work + "/graph",
                                          work + "/graph", "--out", work + "/r2"])
        #expect(mismatch.status == 64 && mismatch.stderr.contains("one per model (2), not 3"), "\(mismatch.stderr)")
    }

    /// Feature options given to a hybrid are its input (they used to be ignored for the
    /// alignments' own); decoding then computes the same.
    @Test func aHybridTrainsOnTheFeaturesItIsGiven() throws {
        let work = temporaryFolder()
        let train = try Speechlab.run(["train", "rnn", "--kind", "hybrid", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1",
                                       "--train", f.data + "/train", "--alignments", f.alignments, "--out", work + "/fbank",
                                       "--type", "fbank", "--num-mel-bins", "12", "--quiet"])
        #expect(train.status == 0, "\(train.stderr)")
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/fbank/model.json"))) as! [String: Any]
        let features = (model["hmm"] as? [String: Any])?["features"] as? [String: Any]
        #expect(features?["type"] as? String == "fbank" && ((features?["mel"] as? [String: Any])?["binCount"] as? Int) == 12)
        let decode = try Speechlab.run(["decode", "--model", work + "/fbank", "--data", f.data + "/test", "--out", work + "/hyp", "--quiet"])
        #expect(decode.status == 0, "\(decode.stderr)")
    }
}
