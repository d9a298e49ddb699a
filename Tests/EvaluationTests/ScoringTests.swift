import Evaluation
import Foundation
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
