import Foundation
import HiddenMarkov
import LanguageModel

/// Builds decoding graphs as Kaldi's `mkgraph.sh` does, with OpenFst doing every composition,
/// determinization and minimization: LG = min(det(L ∘ G)), HCLG = min(rmε(det(H ∘ LG) with the
/// disambiguation symbols made ε)). Units are context-independent here (C is the identity).
public enum GraphCompiler {
    /// What a compiled graph holds besides the FST: the frame labels its input labels stand
    /// for, and the words of its output labels.
    public struct Graph {
        public var fst: Fst
        public var labels: [HMMFst.FrameLabel]
        public var words: SymbolTable

        public init(fst: Fst, labels: [HMMFst.FrameLabel], words: SymbolTable) {
            self.fst = fst
            self.labels = labels
            self.words = words
        }
    }

    /// Options of the graph: silence between words, HMM transition scales.
    public struct Options: Sendable {
        public var silenceProbability = 0.5
        public var selfLoopScale: Float = 0.1
        public var transitionScale: Float = 1
        public init() {}
    }

    /// HCLG for `lexicon` (phones named like the units of `transitions`) and `grammar` (over the
    /// lexicon's word table). `progress` hears each stage's name.
    public static func compile(lexicon: LexiconFst, grammar: Fst, transitions: TransitionModel, pdf: (Int, Int) -> Int,
                               options: Options = Options(), progress: (String) -> Void = { _ in }) throws -> Graph {
        progress("L")
        let l = try lexicon.build(silenceProbability: options.silenceProbability)
        progress("LG")
        let lg = try l.composed(with: grammar).determinized()
        try lg.minimize()
        lg.sortArcs()
        var units: [(label: Int, unit: Int)] = []
        let disambiguation = Set(lexicon.disambiguationSymbols)
        for (label, name) in lexicon.phones.names.enumerated() where label > 0 && !disambiguation.contains(label) {
            guard let unit = transitions.unitIndex(name) else { throw GraphError("phone '\(name)' of the lexicon is not a unit of the model") }
            units.append((label, unit))
        }
        var h = HMMFst()
        let (hFst, disambiguationInputs) = h.build(transitions: transitions, units: units, pdf: pdf, disambiguation: lexicon.disambiguationSymbols,
                                                   selfLoopScale: options.selfLoopScale, transitionScale: options.transitionScale)
        progress("HCLG")
        let hclg = try hFst.composed(with: lg).determinized()
        hclg.relabelInputs(disambiguationInputs.map { ($0, 0) })
        try hclg.removeEpsilons()
        try hclg.minimize()
        hclg.connect()
        hclg.sortArcs()
        guard hclg.start != nil else { throw GraphError("the decoding graph is empty: no word sequence of the grammar can be said with the lexicon") }
        return Graph(fst: hclg, labels: h.labels, words: lexicon.words)
    }
}

extension GraphCompiler.Graph {
    /// The graph in the decoder's layout. Input labels beyond the frame labels (disambiguation
    /// symbols left in by a graph built elsewhere) are an error.
    public func staticGraph() throws -> StaticGraph {
        guard let start = fst.start else { throw GraphError("the graph has no start state") }
        let n = fst.stateCount
        var arcStart: [Int32] = [0], label: [Int32] = [], word: [Int32] = [], cost: [Float] = [], next: [Int32] = []
        var finalCost = [Float](repeating: .infinity, count: n)
        for s in 0..<n {
            for arc in fst.arcs(s) {
                guard Int(arc.input) <= labels.count else { throw GraphError("state \(s) has an arc with input label \(arc.input), beyond the \(labels.count) frame labels") }
                guard Int(arc.output) < words.count else { throw GraphError("state \(s) has an arc with output label \(arc.output), beyond the \(words.count) words") }
                label.append(arc.input)
                word.append(arc.output)
                cost.append(arc.cost)
                next.append(arc.next)
            }
            arcStart.append(Int32(label.count))
            finalCost[s] = fst.finalCost(s)
        }
        let graph = StaticGraph(start: Int32(start), arcStart: arcStart, arcLabel: label, arcWord: word, arcCost: cost, arcNext: next,
                                finalCost: finalCost, labelPDF: [-1] + labels.map(\.pdf), labelTransition: [-1] + labels.map(\.transition),
                                words: words.names)
        if let problem = graph.problem { throw GraphError("the compiled graph is inconsistent: \(problem)") }
        return graph
    }
}
