/// The shape of one unit's HMM: its emitting states and which transitions each may take.
/// Destination `stateCount` is the exit (to the next unit).
public struct HMMTopology: Codable, Sendable, Equatable {
    /// Emitting states.
    public let stateCount: Int
    /// For each state, the states it may go to (`stateCount` = exit), in a fixed order.
    public let destinations: [[Int]]
    /// Initial transition probabilities, parallel to `destinations`.
    public let initialProbabilities: [[Double]]

    public init(destinations: [[Int]], initialProbabilities: [[Double]]) {
        precondition(destinations.count == initialProbabilities.count && zip(destinations, initialProbabilities).allSatisfy { $0.count == $1.count },
                     "HMMTopology: destinations and probabilities differ in shape")
        stateCount = destinations.count
        self.destinations = destinations
        self.initialProbabilities = initialProbabilities
    }

    /// Left to right: each state loops or moves to the next; the last one moves to the exit.
    public static func leftToRight(states: Int, selfLoop: Double = 0.6) -> HMMTopology {
        precondition(states >= 1, "HMMTopology: at least one state")
        return HMMTopology(destinations: (0..<states).map { [$0, $0 + 1] },
                           initialProbabilities: (0..<states).map { _ in [selfLoop, 1 - selfLoop] })
    }

    /// Kaldi's silence topology: the first state may skip ahead, the middle states are fully
    /// connected among themselves and to the last, which alone reaches the exit.
    public static func silence(states: Int = 5) -> HMMTopology {
        precondition(states >= 3, "HMMTopology.silence: at least 3 states")
        let last = states - 1
        var destinations: [[Int]] = [Array(0..<Swift.min(states, 4))]
        for _ in 1..<last { destinations.append(Array(1...last)) }
        destinations.append([last, states])
        let probabilities = destinations.enumerated().map { i, d -> [Double] in
            i == last ? [0.75, 0.25] : d.map { _ in 1 / Double(d.count) }
        }
        return HMMTopology(destinations: destinations, initialProbabilities: probabilities)
    }

    /// States from which the exit can be reached directly, with the index of that transition.
    public var exits: [(state: Int, transition: Int)] {
        destinations.enumerated().compactMap { s, d in d.firstIndex(of: stateCount).map { (s, $0) } }
    }
}

extension HMMTopology {
    /// Most emitting states one unit may have (a bound on what a model file can make us allocate).
    public static let maximumStates = 10_000

    private enum CodingKeys: String, CodingKey { case stateCount, destinations, initialProbabilities }

    /// Decodes a topology and checks it as `init(destinations:initialProbabilities:)` would: a
    /// model file with a destination outside `0...stateCount` would otherwise index out of
    /// range in the decoder.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let destinations = try container.decode([[Int]].self, forKey: .destinations)
        let probabilities = try container.decode([[Double]].self, forKey: .initialProbabilities)
        let states = try container.decodeIfPresent(Int.self, forKey: .stateCount) ?? destinations.count
        func fail(_ reason: String) -> DecodingError {
            .dataCorrupted(.init(codingPath: container.codingPath, debugDescription: reason))
        }
        guard states >= 1, states <= Self.maximumStates else { throw fail("stateCount \(states) is not in 1...\(Self.maximumStates)") }
        guard destinations.count == states, probabilities.count == states else {
            throw fail("stateCount is \(states) but there are \(destinations.count) destination lists and \(probabilities.count) probability lists")
        }
        for (s, (d, p)) in zip(destinations, probabilities).enumerated() {
            guard !d.isEmpty, d.count == p.count else { throw fail("state \(s) has \(d.count) destinations and \(p.count) probabilities") }
            guard d.allSatisfy({ $0 >= 0 && $0 <= states }), Set(d).count == d.count else {
                throw fail("state \(s) has destinations \(d): each must be a state 0..<\(states) or the exit \(states), once")
            }
            guard p.allSatisfy({ $0.isFinite && $0 >= 0 }) else { throw fail("state \(s) has a probability that is negative or not finite") }
        }
        guard destinations.contains(where: { $0.contains(states) }) else { throw fail("no state reaches the exit") }
        self.init(destinations: destinations, initialProbabilities: probabilities)
    }
}
