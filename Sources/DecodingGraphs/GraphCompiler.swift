import Foundation
import HiddenMarkov
import LanguageModel

/// Builds decoding graphs as Kaldi's `mkgraph.sh` does, with OpenFst doing every composition,
/// determinization and minimization: LG = min(det(L ∘ G)), HCLG = min(rmε(det(H ∘ C ∘ LG) with
/// the disambiguation symbols made ε)); C is the identity for context-independent units.
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
    /// lexicon's word table). Context-independent units have the transition model's pdfs; with
    /// `tree`, the phones are triphones in context (C, silence context-independent) and the tree
    /// gives each state's pdf. `progress` hears each stage's name.
    public static func compile(lexicon: LexiconFst, grammar: Fst, transitions: TransitionModel, tree: ContextTree? = nil,
                               options: Options = Options(), progress: (String) -> Void = { _ in }) throws -> Graph {
        try compose(lexicon: lexicon, grammar: grammar, transitions: transitions, tree: tree, options: options,
                    determinize: true, progress: progress)
    }

    /// H ∘ (C ∘) L ∘ G, determinized and minimized as for decoding, or (for a transcript's
    /// training graph) left as composed, with the disambiguation symbols still in.
    static func compose(lexicon: LexiconFst, grammar: Fst, transitions: TransitionModel, tree: ContextTree?, options: Options,
                        determinize: Bool, progress: (String) -> Void = { _ in }) throws -> Graph {
        progress("L")
        let l = try lexicon.build(silenceProbability: options.silenceProbability)
        progress("LG")
        var lg = try l.composed(with: grammar)
        if determinize {
            lg = try lg.determinized()
            try lg.minimize()
        }
        return try composeHCLG(lexicon: lexicon, lg: lg, transitions: transitions, tree: tree, options: options,
                               determinize: determinize, progress: progress)
    }

    private static func composeHCLG(lexicon: LexiconFst, lg: Fst, transitions: TransitionModel, tree: ContextTree?, options: Options,
                                    determinize: Bool, progress: (String) -> Void) throws -> Graph {
        lg.sortArcs()
        // Each phone's unit in the model.
        var unitOf: [Int: Int] = [:]
        let disambiguation = Set(lexicon.disambiguationSymbols)
        for (label, name) in lexicon.phones.names.enumerated() where label > 0 && !disambiguation.contains(label) {
            guard let unit = transitions.unitIndex(name) else { throw GraphError("phone '\(name)' of the lexicon is not a unit of the model") }
            unitOf[label] = unit
        }
        let states = { (unit: Int) in 0..<transitions.topologies[unit].stateCount }
        var units: [(label: Int, unit: Int, pdfs: [Int])] = []
        let clg: Fst, disambiguationOutputs: [Int]
        if let tree {
            progress("CLG")
            var context = ContextFst()
            let c = context.build(phones: unitOf.keys.sorted(), silence: LexiconFst.silencePhoneID,
                                  disambiguation: lexicon.disambiguationSymbols)
            clg = try c.composed(with: lg)
            clg.connect()
            disambiguationOutputs = context.disambiguationInputs
            // H for the context-dependent phones the graph uses, not every triple of phones.
            var used = Set<Int>()
            for s in 0..<clg.stateCount { for arc in clg.arcs(s) { used.insert(Int(arc.input)) } }
            for (k, triple) in context.labels.enumerated() where used.contains(k + 1) {
                let (left, center, right) = (unitOf[triple.left]!, unitOf[triple.center]!, unitOf[triple.right]!)
                let pdfs = try states(center).map { j -> Int in
                    guard let p = tree.pdf(TriphoneState(left: left, center: center, right: right, state: j)) else {
                        throw GraphError("the context tree has no pdf for state \(j) of phone '\(transitions.units[center])' (no training data had it)")
                    }
                    return p
                }
                units.append((k + 1, center, pdfs))
            }
        } else {
            clg = lg
            disambiguationOutputs = lexicon.disambiguationSymbols
            for (label, unit) in unitOf.sorted(by: { $0.key < $1.key }) {
                units.append((label, unit, states(unit).map { transitions.pdfOffsets[unit] + $0 }))
            }
        }
        clg.sortArcs()
        var h = HMMFst()
        let (hFst, disambiguationInputs) = h.build(transitions: transitions, units: units, disambiguation: disambiguationOutputs,
                                                   selfLoopScale: options.selfLoopScale, transitionScale: options.transitionScale)
        progress("HCLG")
        let composed = try hFst.composed(with: clg)
        guard determinize else {
            composed.relabelInputs(disambiguationInputs.map { ($0, 0) })
            return Graph(fst: composed, labels: h.labels, words: lexicon.words)
        }
        let hclg = try composed.determinized()
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
