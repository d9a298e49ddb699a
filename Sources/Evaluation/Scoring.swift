import Foundation
import SpeechBase

/// Error counts over a test set: word error rate from an edit-distance alignment of each
/// utterance, sentence error rate, and, for single-word utterances, accuracy and a confusion
/// matrix.
public struct ScoreReport: Codable, Sendable, Equatable {
    public var utterances: Int
    public var referenceWords: Int
    public var substitutions: Int
    public var deletions: Int
    public var insertions: Int
    /// Utterances whose hypothesis differs from the reference in any way.
    public var sentenceErrors: Int
    /// Utterances in the reference with no hypothesis at all (counted as all deletions).
    public var missingHypotheses: [String]
    /// `confusion[reference][hypothesis]` counts, over single-word references (hypothesis
    /// "<none>" when nothing or several words were recognized).
    public var confusion: [String: [String: Int]]

    public var errors: Int { substitutions + deletions + insertions }
    /// (S + D + I) / N.
    public var wordErrorRate: Double { referenceWords == 0 ? 0 : Double(errors) / Double(referenceWords) }
    public var sentenceErrorRate: Double { utterances == 0 ? 0 : Double(sentenceErrors) / Double(utterances) }
    /// Correct single-word utterances over all utterances (isolated-word accuracy).
    public var accuracy: Double { 1 - sentenceErrorRate }

    /// Scores `hypotheses` against `references` (utterance id → words). Hypotheses for
    /// utterances not in the reference are ignored.
    public init(references: [String: [String]], hypotheses: [String: [String]]) {
        utterances = references.count
        referenceWords = 0; substitutions = 0; deletions = 0; insertions = 0; sentenceErrors = 0
        missingHypotheses = []
        confusion = [:]
        for (id, reference) in references.sorted(by: { $0.key < $1.key }) {
            let hypothesis = hypotheses[id]
            if hypothesis == nil { missingHypotheses.append(id) }
            let words = hypothesis ?? []
            referenceWords += reference.count
            for step in align(reference: reference, hypothesis: words) {
                switch step {
                case .match: break
                case .substitution: substitutions += 1
                case .deletion: deletions += 1
                case .insertion: insertions += 1
                }
            }
            if reference != words { sentenceErrors += 1 }
            if reference.count == 1 {
                let recognized = words.count == 1 ? words[0] : "<none>"
                confusion[reference[0], default: [:]][recognized, default: 0] += 1
            }
        }
    }

    /// A report for people: counts, rates and (for isolated words) the confusion matrix.
    public var text: String {
        var lines = [
            String(format: "%%WER %.2f [ %d / %d, %d ins, %d del, %d sub ]", 100 * wordErrorRate, errors, referenceWords, insertions, deletions, substitutions),
            String(format: "%%SER %.2f [ %d / %d ]", 100 * sentenceErrorRate, sentenceErrors, utterances),
        ]
        if !confusion.isEmpty && referenceWords == utterances {
            lines.append(String(format: "accuracy %.2f%% (%d of %d utterances correct)", 100 * accuracy, utterances - sentenceErrors, utterances))
            let labels = confusion.keys.sorted()
            let columns = (labels + confusion.values.flatMap(\.keys)).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.sorted()
            let width = max(6, (columns + labels).map(\.count).max() ?? 0)
            lines.append("confusion (rows: reference, columns: hypothesis)")
            lines.append("".padding(toLength: width, withPad: " ", startingAt: 0) + columns.map { " " + $0.padding(toLength: width, withPad: " ", startingAt: 0) }.joined())
            for r in labels {
                let cells = columns.map { c -> String in
                    let n = confusion[r]?[c] ?? 0
                    return " " + (n == 0 ? "." : String(n)).padding(toLength: width, withPad: " ", startingAt: 0)
                }
                lines.append(r.padding(toLength: width, withPad: " ", startingAt: 0) + cells.joined())
            }
        }
        if !missingHypotheses.isEmpty {
            lines.append("\(missingHypotheses.count) utterance(s) have no hypothesis: \(missingHypotheses.prefix(5).joined(separator: ", "))\(missingHypotheses.count > 5 ? ", ..." : "")")
        }
        return lines.joined(separator: "\n")
    }
}

/// Reads a Kaldi-style `utt-id WORD ...` file (a `text` file or hypotheses; `-`: standard input), refusing
/// duplicate ids and non-UTF-8 text; errors name the file and line.
public func readTranscripts(_ path: String) throws -> [String: [String]] {
    let lines: [Substring]
    do { lines = try TextFile.lines(of: path) } catch { throw TranscriptError(description: "\(error)") }
    var result: [String: [String]] = [:]
    for (n, line) in lines.enumerated() {
        let fields = TextFile.fields(line).map(String.init)
        guard let id = fields.first else { continue }
        guard result[id] == nil else { throw TranscriptError(description: "\(path):\(n + 1): duplicate utterance id '\(id)'") }
        result[id] = Array(fields.dropFirst())
    }
    return result
}

/// A transcript file could not be read.
public struct TranscriptError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
