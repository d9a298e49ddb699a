import Evaluation
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite struct ScoringTests {
    @Test func alignmentCountsSubstitutionsDeletionsAndInsertions() {
        let reference = "the cat sat on the mat".split(separator: " ").map(String.init)
        let steps = align(reference: reference, hypothesis: ["the", "cat", "sit", "on", "mat"])
        #expect(steps == [.match("the"), .match("cat"), .substitution(reference: "sat", hypothesis: "sit"), .match("on"), .deletion("the"), .match("mat")])
        #expect(align(reference: ["a", "b"], hypothesis: ["a", "x", "b"]) == [.match("a"), .insertion("x"), .match("b")])
        let report = ScoreReport(references: ["u": reference, "v": ["a", "b"]],
                                 hypotheses: ["u": ["the", "cat", "sit", "on", "mat"], "v": ["a", "x", "b"]])
        #expect(report.substitutions == 1 && report.deletions == 1 && report.insertions == 1)
        #expect(abs(report.wordErrorRate - 3.0 / 8) < 1e-12)
        #expect(report.sentenceErrors == 2)
    }

    @Test func isolatedWordsGetAccuracyAndAConfusionMatrix() {
        let report = ScoreReport(references: ["a": ["one"], "b": ["two"], "c": ["two"], "d": ["one"]],
                                 hypotheses: ["a": ["one"], "b": ["one"], "c": ["two"]])
        #expect(report.accuracy == 0.5)
        #expect(report.confusion["two"]?["one"] == 1 && report.confusion["one"]?["<none>"] == 1)
        #expect(report.missingHypotheses == ["d"])
        #expect(report.text.contains("accuracy 50.00%"))
        #expect(report.text.contains("%WER 50.00"))
    }

    @Test func transcriptFilesRefuseDuplicateIds() throws {
        let path = NSTemporaryDirectory() + "speechlab-\(UUID().uuidString).txt"
        try "a ONE\nb TWO THREE\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try readTranscripts(path) == ["a": ["ONE"], "b": ["TWO", "THREE"]])
        try "a ONE\na TWO\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: TranscriptError.self) { try readTranscripts(path) }
        #expect(error?.description.contains(":2:") == true)
    }
}

@Suite struct SignificanceTests {
    @Test func mcNemarIsTheExactTwoSidedBinomialTail() {
        // Four utterances only the first gets right, one only the second: 2 · P(X ≤ 1 | n = 5) = 2 · 6/32.
        let a = [true, true, true, false, true, true], b = [false, false, false, true, true, false]
        let test = mcNemarTest(firstCorrect: a, secondCorrect: b)
        #expect(test.firstBetter == 4 && test.secondBetter == 1)
        #expect(abs(test.pValue - 2 * 6.0 / 32) < 1e-12)
        let one = mcNemarTest(firstCorrect: Array(repeating: true, count: 10), secondCorrect: Array(repeating: false, count: 10))
        #expect(abs(one.pValue - 2.0 / 1024) < 1e-12)
        #expect(mcNemarTest(firstCorrect: [true, false], secondCorrect: [true, false]).pValue == 1)
    }

    @Test func matchedPairsUsesTheStandardErrorOfTheDifferences() {
        // d = 1, 1, 1, 0: mean 0.75, variance 0.25, standard error 0.25, z = 3.
        let test = matchedPairsTest(firstErrors: [2, 1, 3, 0], secondErrors: [1, 0, 2, 0])
        #expect(abs(test.pValue - erfc(3 / 2.0.squareRoot())) < 1e-12)
        #expect(test.firstBetter == 0 && test.secondBetter == 3)
        #expect(matchedPairsTest(firstErrors: [1, 2], secondErrors: [1, 2]).pValue == 1)
    }

    @Test func bootstrapIntervalsAreReproducibleAndNarrowWithMoreData() {
        let small = bootstrapInterval(errors: Array(repeating: [0, 1], count: 20).flatMap { $0 }, counts: Array(repeating: 1, count: 40))
        let large = bootstrapInterval(errors: Array(repeating: [0, 1], count: 500).flatMap { $0 }, counts: Array(repeating: 1, count: 1000))
        #expect(small.low < 0.5 && small.high > 0.5)
        #expect(large.low < 0.5 && large.high > 0.5)
        #expect(large.high - large.low < small.high - small.low)
        #expect(small == bootstrapInterval(errors: Array(repeating: [0, 1], count: 20).flatMap { $0 }, counts: Array(repeating: 1, count: 40)))
        #expect(bootstrapInterval(errors: [0, 0, 0], counts: [2, 1, 3]) == ConfidenceInterval(low: 0, high: 0))
    }

    @Test func comparisonCountsConfusionsAndUnknownWordsPerModel() {
        let test = [TestUtterance(id: "a", speaker: "s1", words: ["one", "two"], seconds: 1),
                    TestUtterance(id: "b", speaker: "s2", words: ["three"], seconds: 1)]
        func decoding(_ name: String, _ hypotheses: [String: [String]]) -> ModelDecoding {
            ModelDecoding(name: name, path: name, kind: "gmm-hmm", architecture: "", features: "f", parameters: 1, trainingSeconds: nil,
                          decodingSeconds: 0.2, threads: 1, hypotheses: hypotheses, vocabulary: ["one", "two"], curves: [])
        }
        let report = ComparisonReport(testSet: "t", grammar: "loop", test: test,
                                      decodings: [decoding("x", ["a": ["one", "two"], "b": ["two"]]), decoding("y", ["a": ["one"]])])
        #expect(!report.isolatedWords)
        #expect(report.models[0].wordErrorRate == 1.0 / 3 && report.models[1].wordErrorRate == 2.0 / 3)
        #expect(report.models[0].confusion["three"]?["two"] == 1)
        #expect(report.models[1].confusion["two"]?["<del>"] == 1 && report.models[1].confusion["three"]?["<del>"] == 1)
        #expect(report.models[1].withoutHypothesis == ["b"])
        #expect(report.models.allSatisfy { $0.unknownWords == ["three"] })
        #expect(report.models[0].speakers["s1"]?.wordErrorRate == 0 && report.models[0].speakers["s2"]?.sentenceErrorRate == 1)
        #expect(report.pairwise.first?.test.method == "matched-pairs")
        #expect(report.disagreements.map(\.id) == ["a", "b"])
        #expect(report.models[0].realTimeFactor == 0.1)
        // Both views carry the deletions, and the page stays well-formed with them.
        #expect(report.markdown.contains("<del>"))
        #expect(report.html.contains("&lt;del&gt;"))
        #expect(XMLParser(data: Data(report.html.utf8)).parse())
    }

    /// A 40-word vocabulary: the report lists the most frequent errors instead of a 40×40 matrix.
    @Test func largeVocabulariesListTheirMostFrequentConfusions() {
        let words = (0..<40).map { "w\($0)" }
        let test = words.enumerated().map { TestUtterance(id: "u\($0.offset)", speaker: "s", words: [$0.element, "w0"], seconds: 1) }
        var hypotheses: [String: [String]] = [:]
        for (k, w) in words.enumerated() { hypotheses["u\(k)"] = [k % 7 == 3 ? "w1" : w, (10..<15).contains(k) ? "w2" : "w0"] }
        hypotheses["u5"] = ["w5"]  // a deletion of w0
        let decoding = ModelDecoding(name: "m", path: "m", kind: "gmm-hmm", architecture: "", features: "f", parameters: 1, trainingSeconds: nil,
                                     decodingSeconds: 1, threads: 1, hypotheses: hypotheses, vocabulary: Set(words), curves: [])
        let report = ComparisonReport(testSet: "t", grammar: "graph", test: test, decodings: [decoding])
        let top = report.models[0].mostFrequentConfusions(limit: 3)
        // w0 said as w2 in five utterances comes first; every listed entry is an error.
        #expect(top.first.map { [$0.reference, $0.hypothesis, String($0.count)] } == ["w0", "w2", "5"])
        #expect(top.allSatisfy { $0.reference != $0.hypothesis })
        #expect(report.models[0].mostFrequentConfusions(limit: 100).contains { $0.reference == "w0" && $0.hypothesis == "<del>" && $0.count == 1 })
        #expect(report.markdown.contains("| reference | recognized | times |") && !report.markdown.contains("ref \\ hyp"))
        #expect(report.html.contains("<th>recognized</th>") && XMLParser(data: Data(report.html.utf8)).parse())
    }
}
