import Foundation
import SpeechBase

/// Words and their pronunciations (sequences of phones), with alternatives, as CMUdict and
/// Kaldi's `lexicon.txt` write them:
///
///     read R IY1 D          # a comment after '#'
///     read(2) R EH1 D       # CMUdict's mark of an alternate pronunciation
///
/// Lookups ignore case when the exact spelling is not listed (CMUdict is lower case, most
/// transcripts upper case). Stress digits on vowels (`IY1`) are removed unless kept.
public struct PronunciationLexicon: Sendable, Equatable {
    /// Each word's pronunciations, in the order the file lists them.
    public private(set) var pronunciations: [String: [[String]]]
    private var folded: [String: String]

    public init(_ pronunciations: [String: [[String]]] = [:]) {
        self.pronunciations = [:]
        folded = [:]
        for (word, alternatives) in pronunciations.sorted(by: { $0.key < $1.key }) {
            for phones in alternatives { add(word, phones) }
        }
    }

    /// Adds a pronunciation of `word` (ignored when already listed).
    public mutating func add(_ word: String, _ phones: [String]) {
        precondition(!phones.isEmpty, "a pronunciation needs at least one phone")
        if pronunciations[word]?.contains(phones) == true { return }
        pronunciations[word, default: []].append(phones)
        folded[word.lowercased()] = folded[word.lowercased()] ?? word
    }

    /// The pronunciations of `word`: its exact spelling, else any spelling that differs only in case.
    public func lookup(_ word: String) -> [[String]]? {
        pronunciations[word] ?? folded[word.lowercased()].flatMap { pronunciations[$0] }
    }

    /// Every phone the lexicon uses, sorted.
    public var phones: [String] { Set(pronunciations.values.joined().joined()).sorted() }

    /// The lexicon restricted to `words` (each as spelled there, found as `lookup` finds it);
    /// words it does not list are returned apart.
    public func restricted(to words: some Sequence<String>) -> (lexicon: PronunciationLexicon, missing: [String]) {
        var out = PronunciationLexicon(), missing: [String] = []
        for word in Set(words).sorted() {
            guard let alternatives = lookup(word) else { missing.append(word); continue }
            for phones in alternatives { out.add(word, phones) }
        }
        return (out, missing)
    }

    /// Reads CMUdict or a Kaldi `lexicon.txt`. With `phoneSet`, a phone outside it is an error
    /// naming the file and line; so is a word without phones. `;;;` lines (old CMUdict) and text
    /// after `#` are comments.
    public static func read(_ path: String, keepStress: Bool = false, phoneSet: Set<String>? = nil) throws -> PronunciationLexicon {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw CorpusError("\(error)") }
        var lexicon = PronunciationLexicon()
        for (n, line) in lines.enumerated() {
            let content = line.firstIndex(of: "#").map { line[..<$0] } ?? line
            let fields = TextFile.fields(content)
            guard let first = fields.first, !first.hasPrefix(";;;") else { continue }
            let word = lexiconWord(String(first))
            guard fields.count >= 2 else { throw CorpusError.at(path, line: n + 1, "word '\(word)' has no phones") }
            let phones = fields.dropFirst().map { keepStress ? String($0) : stressRemoved(String($0)) }
            if let phoneSet, let unknown = phones.first(where: { !phoneSet.contains($0) }) {
                throw CorpusError.at(path, line: n + 1, "word '\(word)': phone '\(unknown)' is not in the phone set")
            }
            lexicon.add(word, phones)
        }
        guard !lexicon.pronunciations.isEmpty else { throw CorpusError.at(path, "lists no pronunciations") }
        return lexicon
    }

    /// Writes Kaldi's `lexicon.txt` (one line per pronunciation, words sorted) whole.
    public func write(to path: String) throws {
        var lines: [String] = []
        for word in pronunciations.keys.sorted() {
            for phones in pronunciations[word]! { lines.append(([word] + phones).joined(separator: " ")) }
        }
        do { try AtomicFile.write(lines: lines, to: path) } catch { throw CorpusError("\(error)") }
    }

    /// `AH0` → `AH`: a trailing stress digit of a phone that has letters before it.
    static func stressRemoved(_ phone: String) -> String {
        guard let last = phone.last, "012".contains(last), phone.count > 1, phone.dropLast().last?.isLetter == true else { return phone }
        return String(phone.dropLast())
    }
}

/// Phones and their classes (CMUdict's `cmudict.phones`: `AA<TAB>vowel`), for questions about
/// phonetic context.
public struct PhoneSet: Sendable, Equatable {
    /// Phones in file order.
    public var phones: [String]
    /// Each phone's class (`vowel`, `stop`, ...), when the file gives one.
    public var classes: [String: String]

    public init(phones: [String], classes: [String: String] = [:]) {
        self.phones = phones
        self.classes = classes
    }

    /// Reads `PHONE [CLASS]` lines; a phone listed twice is an error naming the line.
    public static func read(_ path: String) throws -> PhoneSet {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw CorpusError("\(error)") }
        var set = PhoneSet(phones: []), seen = Set<String>()
        for (n, line) in lines.enumerated() {
            let fields = TextFile.fields(line).map(String.init)
            guard let phone = fields.first else { continue }
            guard seen.insert(phone).inserted else { throw CorpusError.at(path, line: n + 1, "phone '\(phone)' is listed twice") }
            set.phones.append(phone)
            if fields.count >= 2 { set.classes[phone] = fields[1] }
        }
        guard !set.phones.isEmpty else { throw CorpusError.at(path, "lists no phones") }
        return set
    }
}
