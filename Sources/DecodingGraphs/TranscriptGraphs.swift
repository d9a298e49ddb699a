import Foundation
import HiddenMarkov

/// Training and alignment graphs of known transcripts built like decoding graphs (Kaldi's
/// `compile-train-graphs`): H ∘ (C ∘) L ∘ T, with T the transcript as a chain of words, L its
/// words' pronunciations with optional silence, C the triphone context when a tree ties the
/// states. The topology is built once per transcript; ``decodingGraph(_:)`` turns it into the
/// state-emitting ``DecodingGraph`` that Baum-Welch and Viterbi alignment take, with the model's
/// current transition probabilities.
public struct TranscriptFst: Sendable {
    /// Arcs that consume a frame: from, to (FST states), frame label (pdf, transition id) and
    /// the graph's cost besides the HMM transitions (silence choices).
    var arcs: [(from: Int32, to: Int32, pdf: Int32, transition: Int32, cost: Float)]
    var start: Int32
    var finalCost: [Float]

    /// The graph of `words` (each with its pronunciations as phone names, which must be units of
    /// `transitions`); `tree` ties triphone states, nil for context-independent units.
    public static func build(words: [[[String]]], transitions: TransitionModel, tree: ContextTree?, silencePhone: String,
                             silenceProbability: Double = 0.5) throws -> TranscriptFst {
        var pronunciations: [String: [[String]]] = [:]
        // One word label per position ("w0", "w1", ...): each position has its own pronunciations.
        for (k, alternatives) in words.enumerated() { pronunciations["w\(k)"] = alternatives }
        let lexicon = try LexiconFst(pronunciations: pronunciations, silencePhone: silencePhone)
        let chain = Fst()
        var state = chain.addState()
        chain.setStart(state)
        for k in 0..<words.count {
            let next = chain.addState()
            chain.addArc(from: state, input: lexicon.words.id("w\(k)")!, output: lexicon.words.id("w\(k)")!, to: next)
            state = next
        }
        chain.setFinal(state)
        // H with costs 0: the transition probabilities are added when the graph is made (they change every iteration).
        var options = GraphCompiler.Options()
        options.silenceProbability = silenceProbability
        options.selfLoopScale = 0
        options.transitionScale = 0
        let graph = try GraphCompiler.compose(lexicon: lexicon, grammar: chain, transitions: transitions,
                                              tree: tree, options: options, determinize: false)
        let fst = graph.fst
        fst.projectInputs()
        try fst.removeEpsilons()
        fst.connect()
        guard let start = fst.start else { throw GraphError("the transcript cannot be said with these units") }
        var arcs: [(from: Int32, to: Int32, pdf: Int32, transition: Int32, cost: Float)] = []
        var finalCost = [Float](repeating: .infinity, count: fst.stateCount)
        for s in 0..<fst.stateCount {
            finalCost[s] = fst.finalCost(s)
            for arc in fst.arcs(s) {
                guard arc.input > 0, Int(arc.input) <= graph.labels.count else { throw GraphError("the transcript graph kept a non-frame label \(arc.input)") }
                let label = graph.labels[Int(arc.input) - 1]
                arcs.append((Int32(s), arc.next, label.pdf, label.transition, arc.cost))
            }
        }
        return TranscriptFst(arcs: arcs, start: Int32(start), finalCost: finalCost)
    }

    /// The graph for the forward-backward and Viterbi: a state per frame-consuming arc (it emits
    /// the arc's pdf), entered with the arc's cost, and left by the arc's transition (its
    /// probability now, from `transitions`).
    public func decodingGraph(_ transitions: TransitionModel) -> DecodingGraph {
        let n = arcs.count
        let sources = transitions.sources()
        var leaving = [[Int]](repeating: [], count: finalCost.count)
        for (i, arc) in arcs.enumerated() { leaving[Int(arc.from)].append(i) }
        var arcStart: [Int32] = [0], arcTo: [Int32] = [], arcLP: [Float] = [], arcTransition: [Int32] = []
        var finalLP = [Float](repeating: -.infinity, count: n), finalTransition = [Int32](repeating: -1, count: n)
        for (i, arc) in arcs.enumerated() {
            let lp = transitions.logProbability(Int(arc.transition))
            for j in leaving[Int(arc.to)] {
                arcTo.append(Int32(j))
                arcLP.append(lp - arcs[j].cost)
                arcTransition.append(arc.transition)
            }
            arcStart.append(Int32(arcTo.count))
            if finalCost[Int(arc.to)] < .infinity {
                finalLP[i] = lp - finalCost[Int(arc.to)]
                finalTransition[i] = arc.transition
            }
        }
        let initial = leaving[Int(start)]
        return DecodingGraph(pdf: arcs.map(\.pdf), instance: [Int32](repeating: 0, count: n),
                             unit: arcs.map { Int32(sources[Int($0.transition)].unit) }, unitState: arcs.map { Int32(sources[Int($0.transition)].state) },
                             arcStart: arcStart, arcTo: arcTo, arcLogProbability: arcLP, arcTransition: arcTransition,
                             arcWord: [Int32](repeating: DecodingGraph.staysInside, count: arcTo.count),
                             initialTo: initial.map(Int32.init), initialLogProbability: initial.map { -arcs[$0].cost },
                             initialWord: initial.map { _ in DecodingGraph.staysInside },
                             finalLogProbability: finalLP, finalTransition: finalTransition, words: [])
    }
}
