import Foundation
import LanguageModel

/// G: an n-gram language model as an acceptor over words, as Kaldi's `arpa2fst` builds it.
///
/// A state per history (every listed n-gram shorter than the order, and the empty history); an
/// arc `w:w` with cost −ln p(w | h) from h's state to the state of the longest listed suffix of
/// h·w; `</s>` makes h's state final with its cost; a back-off arc `#0:ε` with cost −ln bow(h)
/// from h's state to the state of h minus its first word. The start state is the history `<s>`.
/// Words the table does not know are skipped (a lexicon without them could not say them).
public enum GrammarFst {
    /// The grammar of `model` over `words` (which must hold `backoffSymbol`).
    public static func build(_ model: NGramModel, words: SymbolTable, backoffSymbol: String = "#0") throws -> Fst {
        guard let backoff = words.id(backoffSymbol) else { throw GraphError("the word table has no back-off symbol \(backoffSymbol)") }
        guard let start = model.id(of: NGramModel.sentenceStart), model.entry([start]) != nil else {
            throw GraphError("the language model has no \(NGramModel.sentenceStart) unigram, so no sentence can start")
        }
        let end = model.id(of: NGramModel.sentenceEnd)
        let fst = Fst()
        var states: [[Int32]: Int] = [:]
        func state(_ history: [Int32]) -> Int {
            if let s = states[history] { return s }
            let s = fst.addState()
            states[history] = s
            return s
        }
        _ = state([])
        for n in 1..<max(model.order, 1) {
            for (gram, _) in model.grams(ofLength: n) where gram.last != end { _ = state(gram) }
        }
        fst.setStart(state([start]))
        // The state of the longest suffix of `history` that has one.
        func target(_ history: [Int32]) -> Int {
            var h = history.suffix(model.order - 1)
            while states[Array(h)] == nil { h = h.dropFirst() }
            return states[Array(h)]!
        }
        let ln10 = Float(M_LN10)
        let wordIDs = model.words.map { words.id($0) }
        for n in 1...model.order {
            for (gram, entry) in model.grams(ofLength: n) where entry.logProbability.isFinite {
                let history = Array(gram.dropLast()), word = gram.last!
                guard let from = states[history] else { continue }  // a history no state stands for (pruned files)
                let cost = -entry.logProbability * ln10
                if word == end {
                    fst.setFinal(from, cost: cost)
                } else if let label = wordIDs[Int(word)] {
                    fst.addArc(from: from, input: label, output: label, cost: cost, to: target(gram))
                }
            }
        }
        for (history, s) in states where !history.isEmpty {
            let bow = model.entry(history)?.backoff ?? 0
            fst.addArc(from: s, input: backoff, output: 0, cost: -bow * ln10, to: target(Array(history.dropFirst())))
        }
        fst.sortArcs()
        return fst
    }
}
