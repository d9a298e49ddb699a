import Foundation
import HiddenMarkov

/// H: the HMM of every context-dependent unit as a transducer from frame labels to units.
///
/// Each arc consumes one frame: the frame is emitted by the HMM state the arc leaves, and the arc
/// is the transition taken after it (a self-loop, a move, or the exit), so its label stands for
/// a (pdf, transition id) pair (``labels``). A central state (start and final) enters each unit
/// through the transitions of its first state, the unit's label on that arc; the exit returns to
/// it. Costs are Kaldi's scaled transition log probabilities: a self-loop costs
/// `selfLoopScale · −ln p_loop`, any other transition `transitionScale · −ln(p / (1 − p_loop)) +
/// selfLoopScale · −ln(1 − p_loop)` (Kaldi's `--self-loop-scale 0.1`, `--transition-scale 1`).
/// Disambiguation symbols pass through as self-loops on the central state.
public struct HMMFst {
    /// Label k (from 1) is the pair `labels[k − 1]`.
    public private(set) var labels: [FrameLabel]
    private var index: [FrameLabel: Int] = [:]

    /// A frame in a state of a pdf, leaving by a transition id.
    public struct FrameLabel: Hashable, Sendable, Codable {
        public var pdf: Int32
        public var transition: Int32
    }

    public init() { labels = [] }

    mutating func label(pdf: Int, transition: Int) -> Int {
        let key = FrameLabel(pdf: Int32(pdf), transition: Int32(transition))
        if let k = index[key] { return k }
        labels.append(key)
        index[key] = labels.count
        return labels.count
    }

    /// The transducer over `units`: each entry is an output label, the unit of `transitions`
    /// whose HMM (topology and transition probabilities) it uses, and the pdf of each of its
    /// states (the unit's own, or tied by context). The disambiguation symbols are output labels
    /// too; their input labels follow the frame labels and are returned.
    public mutating func build(transitions: TransitionModel, units: [(label: Int, unit: Int, pdfs: [Int])],
                               disambiguation: [Int], selfLoopScale: Float = 0.1, transitionScale: Float = 1) -> (fst: Fst, disambiguationInputs: [Int]) {
        let fst = Fst()
        let center = fst.addState()
        fst.setStart(center)
        fst.setFinal(center)
        for (output, u, pdfs) in units {
            let topology = transitions.topologies[u]
            let states = (0..<topology.stateCount).map { _ in fst.addState() }
            for j in 0..<topology.stateCount {
                let destinations = topology.destinations[j]
                let loop = destinations.firstIndex(of: j).map { transitions.probabilities[transitions.transitionID(unit: u, state: j, destination: $0)] } ?? 0
                for (k, destination) in destinations.enumerated() {
                    let id = transitions.transitionID(unit: u, state: j, destination: k)
                    let p = max(transitions.probabilities[id], 1e-20)
                    let cost: Float = destination == j
                        ? selfLoopScale * Float(-log(p))
                        : transitionScale * Float(-log(min(p / max(1 - loop, 1e-20), 1))) + selfLoopScale * Float(-log(max(1 - loop, 1e-20)))
                    let input = label(pdf: pdfs[j], transition: id)
                    let target = destination == topology.stateCount ? center : states[destination]
                    if j == 0 { fst.addArc(from: center, input: input, output: output, cost: cost, to: target) }
                    fst.addArc(from: states[j], input: input, output: 0, cost: cost, to: target)
                }
            }
        }
        let inputs = disambiguation.enumerated().map { k, _ in labels.count + 1 + k }
        for (input, output) in zip(inputs, disambiguation) { fst.addArc(from: center, input: input, output: output, to: center) }
        fst.sortArcs(byOutput: true)
        return (fst, inputs)
    }
}
