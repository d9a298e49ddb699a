import Foundation

/// A network of HMM states to search: each state emits through one pdf; arcs carry a log
/// probability, the transition id they count as (for training) and, when they enter a word,
/// that word. Built from a grammar over *instances* (a word's chain of unit HMMs, or
/// silence) and the units' topologies (see ``GraphBuilder``).
public struct DecodingGraph: Sendable {
    /// pdf of each state.
    public let pdf: [Int32]
    /// Which instance each state belongs to.
    public let instance: [Int32]
    /// (unit, state within unit) of each state.
    public let unit: [Int32]
    public let unitState: [Int32]
    /// Arcs of state i are `arcStart[i]..<arcStart[i+1]` in the arc arrays.
    public let arcStart: [Int32]
    public let arcTo: [Int32]
    public let arcLogProbability: [Float]
    public let arcTransition: [Int32]
    /// What the arc enters: a word (its index into `words`), a non-word instance
    /// (``DecodingGraph/entersSilence``), or nothing new (``DecodingGraph/staysInside``).
    public let arcWord: [Int32]
    /// Entry arcs at the first frame (to, log probability, word), as arcs from a start state.
    public let initialTo: [Int32]
    public let initialLogProbability: [Float]
    public let initialWord: [Int32]
    /// Log probability of ending in each state (−∞ where the utterance cannot end), and its transition id.
    public let finalLogProbability: [Float]
    public let finalTransition: [Int32]
    /// Word labels.
    public let words: [String]
    /// `arcLogProbability` and `finalLogProbability` as probabilities (for scaled forward-backward).
    public let arcProbability: [Double]
    public let finalProbability: [Double]

    public init(pdf: [Int32], instance: [Int32], unit: [Int32], unitState: [Int32], arcStart: [Int32], arcTo: [Int32],
                arcLogProbability: [Float], arcTransition: [Int32], arcWord: [Int32], initialTo: [Int32],
                initialLogProbability: [Float], initialWord: [Int32], finalLogProbability: [Float], finalTransition: [Int32], words: [String]) {
        self.pdf = pdf
        self.instance = instance
        self.unit = unit
        self.unitState = unitState
        self.arcStart = arcStart
        self.arcTo = arcTo
        self.arcLogProbability = arcLogProbability
        self.arcTransition = arcTransition
        self.arcWord = arcWord
        self.initialTo = initialTo
        self.initialLogProbability = initialLogProbability
        self.initialWord = initialWord
        self.finalLogProbability = finalLogProbability
        self.finalTransition = finalTransition
        self.words = words
        arcProbability = arcLogProbability.map { Foundation.exp(Double($0)) }
        finalProbability = finalLogProbability.map { Foundation.exp(Double($0)) }
    }

    public var stateCount: Int { pdf.count }

    /// The fewest frames any path from an entry arc to a final state takes (one per state it
    /// visits), or nil when no final state can be reached.
    public var minimumFrames: Int? {
        var distance = [Int](repeating: .max, count: stateCount), queue: [Int] = []
        for to in initialTo where distance[Int(to)] == .max {
            distance[Int(to)] = 1
            queue.append(Int(to))
        }
        var head = 0
        while head < queue.count {
            let i = queue[head]
            head += 1
            if finalProbability[i] > 0 { return distance[i] }
            for arc in Int(arcStart[i])..<Int(arcStart[i + 1]) where distance[Int(arcTo[arc])] == .max {
                distance[Int(arcTo[arc])] = distance[i] + 1
                queue.append(Int(arcTo[arc]))
            }
        }
        return nil
    }

    /// The pdfs the graph uses, in order of first use, and the same graph with its pdfs
    /// renumbered 0..<count in that order: scoring then needs only those pdfs.
    public func compactingPDFs() -> (graph: DecodingGraph, pdfs: [Int]) {
        var local: [Int32: Int32] = [:], used: [Int] = []
        let renumbered = pdf.map { p -> Int32 in
            if let l = local[p] { return l }
            let l = Int32(used.count)
            local[p] = l
            used.append(Int(p))
            return l
        }
        let graph = DecodingGraph(pdf: renumbered, instance: instance, unit: unit, unitState: unitState, arcStart: arcStart, arcTo: arcTo,
                                  arcLogProbability: arcLogProbability, arcTransition: arcTransition, arcWord: arcWord,
                                  initialTo: initialTo, initialLogProbability: initialLogProbability, initialWord: initialWord,
                                  finalLogProbability: finalLogProbability, finalTransition: finalTransition, words: words)
        return (graph, used)
    }

    /// `arcWord` of an arc within an instance.
    public static let staysInside: Int32 = -1
    /// `arcWord` of an arc that enters an instance without a word (silence).
    public static let entersSilence: Int32 = -2
}

/// An instance of the grammar: a chain of units, labelled with a word or not (silence).
public struct GraphInstance: Sendable {
    public var units: [Int]
    public var word: Int?
    public init(units: [Int], word: Int?) {
        self.units = units
        self.word = word
    }
}

/// Builds ``DecodingGraph``s for the grammars speechlab uses.
public enum GraphBuilder {
    /// The graph of instances connected by `successors`, entered at `starts`, left from `ends`.
    /// `wordPenalty` (log domain) is added on every arc that enters a word.
    public static func build(model: TransitionModel, instances: [GraphInstance], successors: [[Int]], starts: [Int],
                             ends: Set<Int>, words: [String], wordPenalty: Float = 0) -> DecodingGraph {
        var pdf: [Int32] = [], instanceOf: [Int32] = [], unitOf: [Int32] = [], unitStateOf: [Int32] = []
        // First graph state of every (instance, unit position).
        var firstState: [[Int]] = []
        for (i, instance) in instances.enumerated() {
            var firsts: [Int] = []
            for u in instance.units {
                firsts.append(pdf.count)
                for j in 0..<model.topologies[u].stateCount {
                    pdf.append(Int32(model.pdfOffsets[u] + j))
                    instanceOf.append(Int32(i))
                    unitOf.append(Int32(u))
                    unitStateOf.append(Int32(j))
                }
            }
            firstState.append(firsts)
        }
        let n = pdf.count
        var arcs = [[(to: Int32, logProbability: Float, transition: Int32, word: Int32)]](repeating: [], count: n)
        var finalLogProbability = [Float](repeating: -.infinity, count: n), finalTransition = [Int32](repeating: -1, count: n)
        func entry(_ j: Int) -> (to: Int32, penalty: Float, word: Int32) {
            (Int32(firstState[j][0]), instances[j].word == nil ? 0 : wordPenalty,
             instances[j].word.map(Int32.init) ?? DecodingGraph.entersSilence)
        }
        for (i, instance) in instances.enumerated() {
            for (position, u) in instance.units.enumerated() {
                let topology = model.topologies[u]
                for j in 0..<topology.stateCount {
                    let from = firstState[i][position] + j
                    for (k, destination) in topology.destinations[j].enumerated() {
                        let id = model.transitionID(unit: u, state: j, destination: k)
                        let lp = model.logProbability(id)
                        if destination < topology.stateCount {
                            arcs[from].append((Int32(firstState[i][position] + destination), lp, Int32(id), -1))
                        } else if position + 1 < instance.units.count {
                            arcs[from].append((Int32(firstState[i][position + 1]), lp, Int32(id), -1))
                        } else {
                            for s in successors[i] {
                                let e = entry(s)
                                arcs[from].append((e.to, lp + e.penalty, Int32(id), e.word))
                            }
                            if ends.contains(i) {
                                finalLogProbability[from] = lp
                                finalTransition[from] = Int32(id)
                            }
                        }
                    }
                }
            }
        }
        var arcStart: [Int32] = [0], arcTo: [Int32] = [], arcLP: [Float] = [], arcTransition: [Int32] = [], arcWord: [Int32] = []
        for list in arcs {
            for a in list {
                arcTo.append(a.to)
                arcLP.append(a.logProbability)
                arcTransition.append(a.transition)
                arcWord.append(a.word)
            }
            arcStart.append(Int32(arcTo.count))
        }
        let initial = starts.map { entry($0) }
        return DecodingGraph(pdf: pdf, instance: instanceOf, unit: unitOf, unitState: unitStateOf, arcStart: arcStart, arcTo: arcTo,
                             arcLogProbability: arcLP, arcTransition: arcTransition, arcWord: arcWord,
                             initialTo: initial.map(\.to), initialLogProbability: initial.map(\.penalty), initialWord: initial.map(\.word),
                             finalLogProbability: finalLogProbability, finalTransition: finalTransition, words: words)
    }

    /// Any one word, with optional silence before and after it.
    public static func isolatedWords(model: TransitionModel, words: [(word: String, units: [Int])], silence: Int?) -> DecodingGraph {
        isolatedWords(model: model, words: words.map { ($0.word, [$0.units]) }, silence: silence)
    }

    /// Any one word (any of its pronunciations), with optional silence before and after it.
    public static func isolatedWords(model: TransitionModel, words: [(word: String, alternatives: [[Int]])], silence: Int?) -> DecodingGraph {
        var instances = instancesOf(words)
        let wordIndices = Array(instances.indices)
        var successors = [[Int]](repeating: [], count: instances.count)
        var starts = wordIndices, ends = Set(wordIndices)
        if let silence {
            let before = instances.count, after = instances.count + 1
            instances += [GraphInstance(units: [silence], word: nil), GraphInstance(units: [silence], word: nil)]
            successors += [wordIndices, []]
            for w in wordIndices { successors[w] = [after] }
            starts.append(before)
            ends.insert(after)
        }
        return build(model: model, instances: instances, successors: successors, starts: starts, ends: ends, words: words.map(\.word))
    }

    /// Any sequence of words (at least one), optionally separated, preceded and followed by silence.
    public static func wordLoop(model: TransitionModel, words: [(word: String, units: [Int])], silence: Int?, wordPenalty: Float) -> DecodingGraph {
        wordLoop(model: model, words: words.map { ($0.word, [$0.units]) }, silence: silence, wordPenalty: wordPenalty)
    }

    /// Any sequence of words (any of their pronunciations), optionally separated, preceded and
    /// followed by silence.
    public static func wordLoop(model: TransitionModel, words: [(word: String, alternatives: [[Int]])], silence: Int?, wordPenalty: Float) -> DecodingGraph {
        var instances = instancesOf(words)
        let wordIndices = Array(instances.indices)
        var successors = [[Int]](repeating: wordIndices, count: instances.count)
        var starts = wordIndices
        let ends = Set(wordIndices)
        if let silence {
            let s = instances.count
            instances.append(GraphInstance(units: [silence], word: nil))
            for w in wordIndices { successors[w].append(s) }
            successors.append(wordIndices)
            starts.append(s)
            // Silence may also end the utterance after a word: a final silence instance.
            let tail = instances.count
            instances.append(GraphInstance(units: [silence], word: nil))
            for w in wordIndices { successors[w].append(tail) }
            successors.append([])
            return build(model: model, instances: instances, successors: successors, starts: starts, ends: ends.union([tail]),
                         words: words.map(\.word), wordPenalty: wordPenalty)
        }
        return build(model: model, instances: instances, successors: successors, starts: starts, ends: ends,
                     words: words.map(\.word), wordPenalty: wordPenalty)
    }

    /// One instance per pronunciation of every word, labelled with the word's index.
    static func instancesOf(_ words: [(word: String, alternatives: [[Int]])]) -> [GraphInstance] {
        words.enumerated().flatMap { k, word in word.alternatives.map { GraphInstance(units: $0, word: k) } }
    }

    /// A known transcript, with optional silence at both ends and between words: for training
    /// and forced alignment.
    public static func transcript(model: TransitionModel, words: [(word: String, units: [Int])], silence: Int?) -> DecodingGraph {
        transcript(model: model, words: words.map { ($0.word, [$0.units]) }, silence: silence)
    }

    /// A known transcript whose words may have several pronunciations (each a chain of units):
    /// every alternative of a word follows every alternative of the word before, with optional
    /// silence at both ends and between words.
    public static func transcript(model: TransitionModel, words: [(word: String, alternatives: [[Int]])], silence: Int?) -> DecodingGraph {
        // Instances: the alternatives of w0, of w1, ..., then silences s0 (before w0), s1...sn (after each word).
        var instances: [GraphInstance] = [], positions: [[Int]] = []
        for (k, word) in words.enumerated() {
            positions.append(word.alternatives.map { units in
                instances.append(GraphInstance(units: units, word: k))
                return instances.count - 1
            })
        }
        let n = words.count
        var successors: [[Int]] = []
        for k in 0..<n { successors += positions[k].map { _ in k + 1 < n ? positions[k + 1] : [] } }
        var starts = positions.first ?? []
        var ends = Set(positions.last ?? [])
        if let silence {
            for k in 0...n {
                let s = instances.count
                instances.append(GraphInstance(units: [silence], word: nil))
                if k == 0 {
                    starts.append(s)
                } else {
                    for i in positions[k - 1] { successors[i].append(s) }
                }
                successors.append(k < n ? positions[k] : [])
                if k == n { ends.insert(s) }
            }
        }
        return build(model: model, instances: instances, successors: successors, starts: starts, ends: ends, words: words.map(\.word))
    }
}

extension DecodingGraph {
    /// The arrays a search's inner loops read, as buffers valid inside `withArcPointers`.
    struct ArcPointers {
        let pdf: UnsafeBufferPointer<Int32>
        /// Arcs of state i are `start[i]..<start[i+1]`.
        let start: UnsafeBufferPointer<Int32>
        let to: UnsafeBufferPointer<Int32>
        let probability: UnsafeBufferPointer<Double>
    }

    func withArcPointers<Result>(_ body: (ArcPointers) throws -> Result) rethrows -> Result {
        try pdf.withUnsafeBufferPointer { pdf in
            try arcStart.withUnsafeBufferPointer { start in
                try arcTo.withUnsafeBufferPointer { to in
                    try arcProbability.withUnsafeBufferPointer { probability in
                        try body(ArcPointers(pdf: pdf, start: start, to: to, probability: probability))
                    }
                }
            }
        }
    }
}
