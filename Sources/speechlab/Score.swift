import ArgumentParser
import Evaluation
import Foundation

/// `speechlab score`: word error rate, sentence error rate, accuracy and confusions.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score hypotheses against reference transcripts.",
        discussion: "Both files hold 'utt-id WORD ...' lines ('-' reads one of them from standard input). An utterance without a hypothesis counts as all deletions."
    )

    @Option(help: ArgumentHelp("Reference transcripts (a data directory's text).", valueName: "file"))
    var ref: String
    @Option(help: ArgumentHelp("Hypotheses (from decode).", valueName: "file"))
    var hyp: String
    @Flag(help: "Print every number as JSON.")
    var json = false

    func run() throws {
        let references = try readTranscripts(ref), hypotheses = try readTranscripts(hyp)
        guard !references.isEmpty else { throw CommandFailure("\(ref): holds no transcripts") }
        let report = ScoreReport(references: references, hypotheses: hypotheses)
        // Kaldi's compute-wer divides by zero here too; an error beats "%WER 0.00 [10 / 0]".
        guard report.referenceWords > 0 else {
            throw CommandFailure("\(ref): the references hold no words, so the word error rate is undefined (is it the right file?)")
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            var object = try JSONSerialization.jsonObject(with: encoder.encode(report)) as! [String: Any]
            object["wordErrorRate"] = report.wordErrorRate
            object["sentenceErrorRate"] = report.sentenceErrorRate
            object["accuracy"] = report.accuracy
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            print(report.text)
        }
    }
}
