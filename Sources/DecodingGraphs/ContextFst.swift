import Foundation

/// C: triphone context as a transducer from context-dependent labels to phones (Kaldi's
/// `fstcomposecontext` with N = 3, P = 1), built whole.
///
/// A state remembers the last two phones read (a, b); reading phone c outputs c and takes the
/// context-dependent label of b in context (a, c) as input, one phone late. From the start
/// (context: the boundary), the first phone is read with no input; a final arc outputs nothing
/// and takes the last phone's label in context (a, boundary). The boundary of an utterance is
/// the silence phone, and silence is context-independent (one label whatever its neighbours).
/// Disambiguation symbols pass through as self-loops on every state.
public struct ContextFst {
    /// Context-dependent labels: label k (from 1) is `labels[k − 1]` = (left, center, right)
    /// phone ids of the phone table; silence's label has left = right = silence.
    public private(set) var labels: [(left: Int, center: Int, right: Int)] = []
    private var index: [[Int]: Int] = [:]
    /// The input labels of the phone table's disambiguation symbols (after the context labels).
    public private(set) var disambiguationInputs: [Int] = []

    public init() {}

    mutating func label(_ left: Int, _ center: Int, _ right: Int, silence: Int) -> Int {
        let key = center == silence ? [silence, silence, silence] : [left, center, right]
        if let k = index[key] { return k }
        labels.append((key[0], key[1], key[2]))
        index[key] = labels.count
        return labels.count
    }

    /// The transducer over the phone ids `phones` (silence among them) and the phone table's
    /// disambiguation symbols `disambiguation`.
    public mutating func build(phones: [Int], silence: Int, disambiguation: [Int]) -> Fst {
        let fst = Fst()
        let start = fst.addState(), final = fst.addState()
        fst.setStart(start)
        fst.setFinal(final)
        var state: [[Int]: Int] = [:]
        let leftContexts = phones  // the boundary is silence, itself a phone
        for a in leftContexts { for b in phones { state[[a, b]] = fst.addState() } }
        for c in phones { fst.addArc(from: start, input: 0, output: c, to: state[[silence, c]]!) }
        for a in leftContexts {
            for b in phones {
                let s = state[[a, b]]!
                for c in phones { fst.addArc(from: s, input: label(a, b, c, silence: silence), output: c, to: state[[b, c]]!) }
                fst.addArc(from: s, input: label(a, b, silence, silence: silence), output: 0, to: final)
            }
        }
        disambiguationInputs = disambiguation.enumerated().map { k, _ in labels.count + 1 + k }
        let allStates = [start] + state.values.sorted()
        for s in allStates {
            for (input, output) in zip(disambiguationInputs, disambiguation) { fst.addArc(from: s, input: input, output: output, to: s) }
        }
        fst.sortArcs(byOutput: true)
        return fst
    }
}
