import Foundation

/// The units (words, sub-word units, silence) with their topologies, the numbering of their
/// emitting states as pdfs, and their transition probabilities (trained).
public struct TransitionModel: Codable, Sendable, Equatable {
    /// Unit names; index = unit id.
    public let units: [String]
    public let topologies: [HMMTopology]
    /// First pdf of each unit (unit u's state j is pdf `pdfOffsets[u] + j`), plus the total.
    public let pdfOffsets: [Int]
    /// First transition id of each (unit, state): `transitionOffsets[u][j] + k` is the k-th
    /// destination of state j of unit u.
    public let transitionOffsets: [[Int]]
    /// Transition probabilities by transition id.
    public var probabilities: [Double]

    public init(units: [String], topologies: [HMMTopology]) {
        precondition(units.count == topologies.count, "TransitionModel: \(units.count) units, \(topologies.count) topologies")
        self.units = units
        self.topologies = topologies
        var pdf = [0], offsets: [[Int]] = [], probabilities: [Double] = []
        for topology in topologies {
            pdf.append(pdf.last! + topology.stateCount)
            offsets.append(topology.initialProbabilities.map { p in
                defer { probabilities += p }
                return probabilities.count
            })
        }
        pdfOffsets = pdf
        transitionOffsets = offsets
        self.probabilities = probabilities
    }

    public var pdfCount: Int { pdfOffsets.last! }
    public var transitionCount: Int { probabilities.count }

    public func unitIndex(_ name: String) -> Int? { units.firstIndex(of: name) }

    /// The transition id of destination index `k` of state `state` of unit `unit`.
    public func transitionID(unit: Int, state: Int, destination k: Int) -> Int { transitionOffsets[unit][state] + k }

    /// The (unit, state) each transition id leaves.
    public func sources() -> [(unit: Int, state: Int)] {
        var out = [(unit: Int, state: Int)](repeating: (0, 0), count: transitionCount)
        for (u, topology) in topologies.enumerated() {
            for j in 0..<topology.stateCount {
                for k in 0..<topology.destinations[j].count { out[transitionID(unit: u, state: j, destination: k)] = (u, j) }
            }
        }
        return out
    }

    /// Log probability of a transition.
    public func logProbability(_ id: Int) -> Float { Float(Foundation.log(probabilities[id])) }

    /// Re-estimates probabilities from expected counts per transition id: each state's
    /// outgoing counts normalized, floored at `floor` (so no transition becomes impossible).
    /// States never visited keep their probabilities.
    public mutating func update(counts: [Double], floor: Double = 1e-3) {
        precondition(counts.count == transitionCount, "TransitionModel.update: \(counts.count) counts for \(transitionCount) transitions")
        for (u, topology) in topologies.enumerated() {
            for j in 0..<topology.stateCount {
                let lo = transitionOffsets[u][j], n = topology.destinations[j].count
                let total = counts[lo..<(lo + n)].reduce(0, +)
                guard total > 0 else { continue }
                var p = (0..<n).map { Swift.max(counts[lo + $0] / total, floor) }
                let sum = p.reduce(0, +)
                p = p.map { $0 / sum }
                for k in 0..<n { probabilities[lo + k] = p[k] }
            }
        }
    }
}
