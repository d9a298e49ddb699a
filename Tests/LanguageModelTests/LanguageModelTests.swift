import Foundation
import Testing
@testable import LanguageModel

/// A corpus small enough to work Kneser-Ney out by hand (see `handComputedBigramModel`).
private let tinyCorpus = [["a", "b"], ["a", "c"], ["b"]]

private func close(_ a: Float, _ b: Double, _ tolerance: Double = 1e-5) -> Bool { abs(Double(a) - b) < tolerance }

@Suite struct KneserNeyTests {
    /// Worked out by hand: every count of counts has a gap, so both orders use the fallback
    /// discounts 0.5, 1, 1.5. Unigram adjusted counts are continuation counts a 1, b 2, </s> 2,
    /// c 1 (total 6, γ = 3/6), over |V| = 5 predictable words (a b c </s> <unk>).
    @Test func handComputedBigramModel() throws {
        let (model, discounts) = try KneserNeyEstimator(order: 2).estimate(tinyCorpus)
        #expect(discounts.allSatisfy { $0.isFallback })
        let expected: [([String], Double)] = [
            (["a"], 0.5 / 6 + 0.1), (["b"], 1.0 / 6 + 0.1), (["</s>"], 1.0 / 6 + 0.1), (["c"], 0.5 / 6 + 0.1), (["<unk>"], 0.1),
            (["<s>", "a"], 1.0 / 3 + 0.5 * (0.5 / 6 + 0.1)), (["<s>", "b"], 0.5 / 3 + 0.5 * (1.0 / 6 + 0.1)),
            (["a", "b"], 0.25 + 0.5 * (1.0 / 6 + 0.1)), (["a", "c"], 0.25 + 0.5 * (0.5 / 6 + 0.1)),
            (["b", "</s>"], 0.5 + 0.5 * (1.0 / 6 + 0.1)), (["c", "</s>"], 0.5 + 0.5 * (1.0 / 6 + 0.1)),
            // Not listed: γ(<s>) = 1.5/3 times the unigram.
            (["<s>", "c"], 0.5 * (0.5 / 6 + 0.1)), (["c", "zebra"], 0.5 * 0.1),
        ]
        for (gram, p) in expected {
            let actual = model.logProbability(of: gram.last!, after: Array(gram.dropLast()))
            #expect(close(actual, log10(p)), "\(gram): \(actual) vs \(log10(p))")
        }
        #expect(model.entry([model.id(of: "<s>")!])?.logProbability == -.infinity)
        #expect(close(model.entry([model.id(of: "a")!])!.backoff, log10(0.5)))
    }

    @Test func everyHistorySumsToOneAndLexiconWordsKeepMass() throws {
        var generator = SystemRandomNumberGenerator()
        let words = ["one", "two", "three", "four", "five", "six"]
        let corpus = (0..<300).map { _ in (0..<Int.random(in: 1...6, using: &generator)).map { _ in words.randomElement(using: &generator)! } }
        let (model, _) = try KneserNeyEstimator(order: 3, vocabulary: ["seven"]).estimate(corpus)
        let predictable = model.words.filter { $0 != "<s>" }
        for history in [["<s>"], ["<s>", "one"], ["two", "three"], ["seven", "one"], []] {
            let total = predictable.reduce(0.0) { $0 + pow(10, Double(model.logProbability(of: $1, after: history))) }
            #expect(abs(total - 1) < 1e-4, "history \(history) sums to \(total)")
        }
        #expect(model.logProbability(of: "seven", after: ["one"]) > -5, "a lexicon word the text never has keeps unigram mass")
    }

    @Test func sentenceMarkersAtTheEndsAreDroppedAndInsideRefused() throws {
        let (a, _) = try KneserNeyEstimator(order: 2).estimate([["<s>", "a", "b", "</s>"]])
        let (b, _) = try KneserNeyEstimator(order: 2).estimate([["a", "b"]])
        #expect(ARPAFile.text(of: a) == ARPAFile.text(of: b))
        #expect(throws: LanguageModelError.self) { try KneserNeyEstimator(order: 2).estimate([["a", "</s>", "b"]]) }
        #expect(throws: LanguageModelError.self) { try KneserNeyEstimator(order: 2).estimate([[]]) }
    }
}

@Suite struct ARPAFileTests {
    @Test func writtenModelsReadBackEqual() throws {
        let (model, _) = try KneserNeyEstimator(order: 3).estimate(tinyCorpus + [["c", "b", "a"], ["a", "b", "c"]])
        let text = ARPAFile.text(of: model)
        let back = try ARPAFile.parse(TextFileLines(text), path: "test.arpa")
        #expect(back.counts == model.counts && back.words.sorted() == model.words.sorted())
        #expect(ARPAFile.text(of: back) == text)
        for history in [[], ["<s>"], ["a", "b"], ["c", "b"]] {
            for word in ["a", "b", "c", "</s>", "<unk>"] {
                #expect(back.logProbability(of: word, after: history) == model.logProbability(of: word, after: history))
            }
        }
    }

    /// As SRILM writes: text before \data\, tabs, a missing optional back-off, -99 for <s>.
    @Test func readsOtherToolsFiles() throws {
        let text = """
        This file was written by some tool.

        \\data\\
        ngram 1=4
        ngram 2=2

        \\1-grams:
        -0.5\t</s>
        -99\t<s>\t-0.3
        -0.7 a -0.2
        -1.0 <unk>

        \\2-grams:
        -0.1 <s> a
        -0.2 a </s>

        \\end\\
        """
        let model = try ARPAFile.parse(TextFileLines(text), path: "srilm.arpa")
        #expect(model.order == 2 && model.counts == [4, 2])
        #expect(close(model.logProbability(of: "a", after: ["<s>"]), -0.1))
        #expect(close(model.logProbability(of: "</s>", after: ["<s>"]), -0.3 - 0.5), "back-off weight of <s> plus the unigram")
        #expect(close(model.logProbability(of: "zebra", after: ["a"]), -0.2 - 1.0), "an unknown word scores as <unk>")
    }

    @Test func malformedFilesAreRefusedNamingTheLine() {
        let good = ["\\data\\", "ngram 1=2", "ngram 2=1", "", "\\1-grams:", "-0.5 a -0.1", "-0.5 </s>", "", "\\2-grams:", "-0.2 a </s>", "", "\\end\\"]
        func error(_ lines: [String]) -> String? {
            do { _ = try ARPAFile.parse(lines.map { Substring($0) }, path: "bad.arpa"); return nil } catch { return "\(error)" }
        }
        #expect(error(good) == nil)
        var wrongCount = good; wrongCount[2] = "ngram 2=2"
        #expect(error(wrongCount)?.contains("declares 2 2-grams but the section lists 1") == true)
        #expect(error(Array(good.dropLast()))?.contains("without '\\end\\'") == true)
        var unknownWord = good; unknownWord[9] = "-0.2 a zebra"
        #expect(error(unknownWord) == "bad.arpa:10: 'zebra' is not among the unigrams")
        var notANumber = good; notANumber[5] = "minus a -0.1"
        #expect(error(notANumber) == "bad.arpa:6: 'minus' is not a log10 probability")
        var tooMany = good; tooMany[9] = "-0.2 a </s> -0.1"
        #expect(error(tooMany)?.hasPrefix("bad.arpa:10: a 2-gram line needs") == true)
        #expect(error(["no data here"])?.contains("no \\data\\ line") == true)
    }
}

@Suite struct TrainingTextTests {
    @Test func vocabularyReadsLexiconsAndDropsAlternateMarks() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID().uuidString).txt").path
        try "read R IY1 D\nread(2) R EH1 D\n;;; comment\n# comment\nword(x) W\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try TrainingText.vocabulary(path) == ["read", "word(x)"])
    }
}

/// Lines of a string as the reader sees them.
private func TextFileLines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false) }

/// KenLM's own query code, run on an ARPA file speechlab wrote (`scripts/make-fixtures`).
@Suite struct KenLMAgreementTests {
    struct Scores: Decodable {
        var order: Int
        var sentences: [String]
        var scores: [[Double]]
    }

    @Test func backOffQueriesEqualKenLMs() throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        let model = try ARPAFile.read(folder.appendingPathComponent("model.arpa").path)
        let reference = try JSONDecoder().decode(Scores.self, from: Data(contentsOf: folder.appendingPathComponent("kenlm_scores.json")))
        #expect(reference.order == model.order && reference.sentences.count >= 10)
        for (sentence, scores) in zip(reference.sentences, reference.scores) {
            var history = ["<s>"]
            for (word, expected) in zip(sentence.split(separator: " ").map(String.init) + ["</s>"], scores) {
                let ours = model.logProbability(of: word, after: history)
                #expect(abs(Double(ours) - expected) < 1e-4, "\(sentence): \(word) after \(history.suffix(2)): ours \(ours), KenLM \(expected)")
                history.append(word)
            }
        }
    }
}
