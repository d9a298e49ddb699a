import Foundation

/// L: pronunciations as a transducer from phones to words, as Kaldi's `make_lexicon_fst.py`
/// builds it with optional silence:
///
/// - a loop state (start of a word, final) and a silence state; from the start, ε to the loop
///   state with cost −ln(1 − p) or ε to the silence state with −ln p (silence before the first
///   word); the silence state reaches the loop state by one silence phone;
/// - each pronunciation a chain from the loop state, the word on its first arc; its last arc
///   goes back to the loop state (−ln(1 − p)) or to the silence state (−ln p);
/// - disambiguation symbols `#1`, `#2`, … end every pronunciation that is a prefix of another
///   or shared by several words (Kaldi's `add_lex_disambig.pl`), so that L∘G determinizes; a
///   `#0:#0` self-loop on the loop state lets G's back-off symbol through.
///
/// The ε arcs out of the start are removed (`removeEpsilons`).
public struct LexiconFst {
    /// Phones (with the silence phone and the disambiguation symbols `#0`, `#1`, …).
    public private(set) var phones: SymbolTable
    /// Words (with `#0`, G's back-off symbol).
    public private(set) var words: SymbolTable
    /// The disambiguation symbols' phone ids (`#0` first).
    public private(set) var disambiguationSymbols: [Int]
    /// Each pronunciation with its disambiguation symbol (0 when it needs none).
    public private(set) var entries: [(word: String, phones: [String], disambiguation: Int)]

    /// The silence phone's id in ``phones``: the first symbol added.
    public static let silencePhoneID = 1

    /// Numbers the symbols of `pronunciations` (word → alternatives) with `silencePhone`.
    /// A word without phones, or a phone spelled like a disambiguation symbol, is an error.
    public init(pronunciations: [String: [[String]]], silencePhone: String) throws {
        phones = SymbolTable()
        words = SymbolTable()
        phones.add(silencePhone)
        assert(phones.id(silencePhone) == Self.silencePhoneID)
        var all: [(word: String, phones: [String])] = []
        for word in pronunciations.keys.sorted() {
            guard !word.hasPrefix("#"), word != SymbolTable.epsilon, word != "<s>", word != "</s>" else {
                throw GraphError("'\(word)' cannot be a word of the lexicon (it is a reserved symbol)")
            }
            words.add(word)
            for p in pronunciations[word]! {
                guard !p.isEmpty else { throw GraphError("word '\(word)' has an empty pronunciation") }
                if let bad = p.first(where: { $0.hasPrefix("#") || $0 == SymbolTable.epsilon }) {
                    throw GraphError("word '\(word)': '\(bad)' cannot be a phone (reserved symbol)")
                }
                all.append((word, p))
            }
        }
        for phone in Set(all.flatMap(\.phones)).sorted() { phones.add(phone) }
        words.add("#0")
        // Disambiguation: identical pronunciations get #1, #2, …; a prefix of another gets one too.
        var count: [[String]: Int] = [:], prefixes = Set<[String]>()
        for entry in all {
            count[entry.phones, default: 0] += 1
            for k in 1..<entry.phones.count { prefixes.insert(Array(entry.phones[..<k])) }
        }
        var used: [[String]: Int] = [:], highest = 0
        entries = all.map { entry in
            guard prefixes.contains(entry.phones) || count[entry.phones]! > 1 else { return (entry.word, entry.phones, 0) }
            used[entry.phones, default: 0] += 1
            highest = max(highest, used[entry.phones]!)
            return (entry.word, entry.phones, used[entry.phones]!)
        }
        var symbols: [Int] = []
        for k in 0...highest { symbols.append(phones.add("#\(k)")) }
        disambiguationSymbols = symbols
    }

    /// The transducer, with silence probability `silenceProbability` between words (0 for none).
    public func build(silenceProbability: Double = 0.5) throws -> Fst {
        guard (0..<1).contains(silenceProbability) else { throw GraphError("the silence probability must be in [0, 1), not \(silenceProbability)") }
        let fst = Fst()
        let start = fst.addState(), loop = fst.addState()
        fst.setStart(start)
        fst.setFinal(loop)
        let silence = silenceProbability > 0 ? fst.addState() : loop
        let noSilenceCost = Float(-log(1 - silenceProbability)), silenceCost = Float(-log(silenceProbability))
        fst.addArc(from: start, input: 0, output: 0, cost: noSilenceCost, to: loop)
        if silenceProbability > 0 {
            fst.addArc(from: start, input: 0, output: 0, cost: silenceCost, to: silence)
            fst.addArc(from: silence, input: phones.id(phones.names[1])!, output: 0, to: loop)
        }
        for entry in entries {
            var labels = entry.phones.map { phones.id($0)! }
            if entry.disambiguation > 0 { labels.append(disambiguationSymbols[entry.disambiguation]) }
            var from = loop
            for (k, label) in labels.enumerated() {
                let output = k == 0 ? words.id(entry.word)! : 0
                if k == labels.count - 1 {
                    fst.addArc(from: from, input: label, output: output, cost: noSilenceCost, to: loop)
                    if silenceProbability > 0 { fst.addArc(from: from, input: label, output: output, cost: silenceCost, to: silence) }
                } else {
                    let next = fst.addState()
                    fst.addArc(from: from, input: label, output: output, to: next)
                    from = next
                }
            }
        }
        fst.addArc(from: loop, input: disambiguationSymbols[0], output: words.id("#0")!, to: loop)
        try fst.removeEpsilons()
        fst.sortArcs(byOutput: true)
        return fst
    }
}
