import SpeechBase

/// Sentences for language-model training and evaluation.
public enum TrainingText {
    /// One sentence per line of `path` (`-` for standard input); with `utteranceIDs`, the first
    /// field of each line is an utterance id (a Kaldi data directory's `text`) and is dropped.
    /// Blank lines are skipped.
    public static func sentences(_ path: String, utteranceIDs: Bool = false) throws -> [[String]] {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw LanguageModelError("\(error)") }
        return lines.compactMap { line in
            let fields = TextFile.fields(line).dropFirst(utteranceIDs ? 1 : 0).map(String.init)
            return fields.isEmpty ? nil : fields
        }
    }

    /// Words listed one per line, or as the first field of each line (so a lexicon serves):
    /// CMUdict's alternate marks (`word(2)`) are removed, `;;;` and `#` lines skipped.
    public static func vocabulary(_ path: String) throws -> [String] {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw LanguageModelError("\(error)") }
        var seen = Set<String>(), words: [String] = []
        for line in lines {
            guard let field = TextFile.fields(line).first.map(String.init), !field.hasPrefix(";;;"), !field.hasPrefix("#") else { continue }
            let word = lexiconWord(field)
            if seen.insert(word).inserted { words.append(word) }
        }
        return words
    }
}
