import Foundation
import SpeechBase

/// The ARPA back-off format that SRILM, KenLM, IRSTLM and Kaldi read and write:
///
///     \data\
///     ngram 1=3
///     ngram 2=2
///
///     \1-grams:
///     -0.301 </s>
///     -99 <s> -0.5
///     ...
///     \2-grams:
///     -0.2 <s> HELLO
///     \end\
///
/// Each n-gram line is a log10 probability, the n words, and for all but the longest order an
/// optional log10 back-off weight; fields are separated by spaces or tabs. Text before `\data\`
/// is ignored, as the other tools do.
public enum ARPAFile {
    /// Reads an ARPA file; errors name the file and line: counts that disagree with the
    /// sections, a missing `\end\`, an n-gram of the wrong length or over a word no unigram
    /// lists, a field that is not a number.
    public static func read(_ path: String) throws -> NGramModel {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw LanguageModelError("\(error)") }
        return try parse(lines, path: path)
    }

    /// Parses ARPA text; `path` names it in errors.
    public static func parse(_ lines: [Substring], path: String) throws -> NGramModel {
        func fail(_ line: Int, _ reason: String) -> LanguageModelError { LanguageModelError("\(path):\(line + 1): \(reason)") }
        var n = 0
        while n < lines.count, lines[n].trimmingCharacters(in: .whitespaces) != "\\data\\" { n += 1 }
        guard n < lines.count else { throw LanguageModelError("\(path): not an ARPA language model (no \\data\\ line)") }
        n += 1
        // The header: `ngram N=count` lines, orders 1, 2, ... in sequence.
        var declared: [Int] = []
        while n < lines.count {
            let line = lines[n].trimmingCharacters(in: .whitespaces)
            if line.isEmpty { n += 1; continue }
            guard line.hasPrefix("ngram ") else { break }
            let parts = line.dropFirst(6).split(separator: "=")
            guard parts.count == 2, let order = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                  let count = Int(parts[1].trimmingCharacters(in: .whitespaces)), count >= 0 else {
                throw fail(n, "'\(line)' is not 'ngram N=count'")
            }
            guard order == declared.count + 1 else { throw fail(n, "expected the count of \(declared.count + 1)-grams, found \(order)-grams") }
            declared.append(count)
            n += 1
        }
        guard !declared.isEmpty else { throw fail(n, "the \\data\\ section lists no 'ngram N=count' line") }
        guard declared[0] > 0 else { throw fail(n, "the model has no unigrams") }
        var model = NGramModel(order: declared.count)
        for order in 1...declared.count {
            while n < lines.count, lines[n].allSatisfy(\.isWhitespace) { n += 1 }
            guard n < lines.count else { throw LanguageModelError("\(path): ends before the \\\(order)-grams: section") }
            guard lines[n].trimmingCharacters(in: .whitespaces) == "\\\(order)-grams:" else {
                throw fail(n, "expected '\\\(order)-grams:', found '\(lines[n].prefix(60))'")
            }
            n += 1
            var seen = 0
            while n < lines.count {
                let fields = TextFile.fields(lines[n])
                if fields.isEmpty { n += 1; continue }
                if fields[0].hasPrefix("\\") { break }
                try addEntry(fields, order: order, to: &model, fail: { fail(n, $0) })
                seen += 1
                n += 1
            }
            guard seen == declared[order - 1] else {
                throw LanguageModelError("\(path): the header declares \(declared[order - 1]) \(order)-grams but the section lists \(seen)")
            }
        }
        while n < lines.count, lines[n].allSatisfy(\.isWhitespace) { n += 1 }
        guard n < lines.count, lines[n].trimmingCharacters(in: .whitespaces) == "\\end\\" else {
            throw n < lines.count ? fail(n, "expected '\\end\\', found '\(lines[n].prefix(60))'")
                                  : LanguageModelError("\(path): ends without '\\end\\' (a truncated file?)")
        }
        return model
    }

    private static func addEntry(_ fields: [Substring], order: Int, to model: inout NGramModel,
                                 fail: (String) -> LanguageModelError) throws {
        guard fields.count == order + 1 || (fields.count == order + 2 && order < model.order) else {
            throw fail("a \(order)-gram line needs a log probability, \(order) word\(order == 1 ? "" : "s")"
                       + (order < model.order ? " and an optional back-off weight" : "") + "; found \(fields.count) fields")
        }
        // Rounding may print log 1 as a tiny positive number; more than that is not a probability.
        guard let logProbability = Float(fields[0]), !logProbability.isNaN, logProbability <= 1e-4 else {
            throw fail("'\(fields[0])' is not a log10 probability")
        }
        var backoff: Float = 0
        if fields.count == order + 2 {
            guard let value = Float(fields[order + 1]), value.isFinite else { throw fail("'\(fields[order + 1])' is not a back-off weight") }
            backoff = value
        }
        var gram: [Int32] = []
        for word in fields[1...order] {
            if order == 1 {
                if let id = model.id(of: String(word)), model.entry([id]) != nil { throw fail("the unigram '\(word)' is listed twice") }
                gram.append(model.intern(String(word)))
            } else {
                guard let id = model.id(of: String(word)) else { throw fail("'\(word)' is not among the unigrams") }
                gram.append(id)
            }
        }
        // A history that is not listed itself (pruned files) backs off with weight 1, as in SRILM.
        if order > 1, model.entry(gram) != nil {
            throw fail("the \(order)-gram '\(fields[1...order].joined(separator: " "))' is listed twice")
        }
        // SRILM and KenLM write −99 for log 0 (the probability of <s>).
        model.set(gram, logProbability: logProbability <= -99 ? -.infinity : Swift.min(logProbability, 0), backoff: backoff)
    }

    /// The model as ARPA text: n-grams sorted by word ids within each order, log 0 as −99.
    public static func text(of model: NGramModel) -> String {
        var out = "\\data\\\n"
        for (n, count) in model.counts.enumerated() { out += "ngram \(n + 1)=\(count)\n" }
        for n in 1...model.order {
            out += "\n\\\(n)-grams:\n"
            for (gram, entry) in model.grams(ofLength: n) {
                let p = entry.logProbability.isFinite ? entry.logProbability : -99
                out += "\(format(p))\t\(gram.map { model.words[Int($0)] }.joined(separator: " "))"
                if n < model.order && entry.backoff != 0 { out += "\t\(format(entry.backoff))" }
                out += "\n"
            }
        }
        return out + "\n\\end\\\n"
    }

    /// Writes the model to `path` whole (a temporary name, then a rename).
    public static func write(_ model: NGramModel, to path: String) throws {
        do { try AtomicFile.write(Data(text(of: model).utf8), to: path) } catch { throw LanguageModelError("\(error)") }
    }

    /// Shortest text that reads back as the same Float.
    private static func format(_ value: Float) -> String { value == 0 ? "0" : "\(value)" }
}
