/// A compiled decoding graph (an HCLG) in the decoder's layout: each state's arcs in one block
/// (compressed rows). An arc whose label is not 0 consumes one frame, scored by the label's pdf;
/// its transition id is what training and alignment count. Costs are −log probabilities (the
/// graph's: language model, pronunciation, silence and transition scores).
public struct StaticGraph: Sendable {
    public let start: Int32
    /// Arcs of state s are `arcStart[s]..<arcStart[s + 1]`.
    public let arcStart: [Int32]
    /// The frame label (index into `labelPDF`/`labelTransition`), or 0 for an arc that takes no frame.
    public let arcLabel: [Int32]
    /// The word the arc outputs (index into `words`), or 0 for none.
    public let arcWord: [Int32]
    public let arcCost: [Float]
    public let arcNext: [Int32]
    /// +∞ where a state is not final.
    public let finalCost: [Float]
    /// pdf and transition id of each frame label; entry 0 is unused.
    public let labelPDF: [Int32]
    public let labelTransition: [Int32]
    /// Word names; entry 0 is `<eps>`.
    public let words: [String]

    public init(start: Int32, arcStart: [Int32], arcLabel: [Int32], arcWord: [Int32], arcCost: [Float], arcNext: [Int32],
                finalCost: [Float], labelPDF: [Int32], labelTransition: [Int32], words: [String]) {
        self.start = start
        self.arcStart = arcStart
        self.arcLabel = arcLabel
        self.arcWord = arcWord
        self.arcCost = arcCost
        self.arcNext = arcNext
        self.finalCost = finalCost
        self.labelPDF = labelPDF
        self.labelTransition = labelTransition
        self.words = words
    }

    public var stateCount: Int { finalCost.count }
    public var arcCount: Int { arcNext.count }

    /// Why the arrays do not form a graph (sizes, indices out of range), or nil when they do:
    /// checked on load so that a bad file cannot make the decoder index out of bounds.
    public var problem: String? {
        let n = stateCount, arcs = arcNext.count, labels = labelPDF.count
        guard arcStart.count == n + 1, arcStart.first == 0, arcStart.last.map(Int.init) == arcs else { return "arc offsets do not fit \(n) states and \(arcs) arcs" }
        guard arcLabel.count == arcs, arcWord.count == arcs, arcCost.count == arcs else { return "arc arrays differ in length" }
        guard n > 0, (0..<Int32(n)).contains(start) else { return "the start state \(start) is not one of the \(n) states" }
        guard labelTransition.count == labels, labels >= 1 else { return "frame label tables differ in length" }
        for s in 0..<n where arcStart[s] > arcStart[s + 1] { return "arc offsets decrease at state \(s)" }
        for a in 0..<arcs {
            guard (0..<Int32(n)).contains(arcNext[a]) else { return "arc \(a) leads to state \(arcNext[a]), not one of the \(n) states" }
            guard (0..<Int32(labels)).contains(arcLabel[a]) else { return "arc \(a) has frame label \(arcLabel[a]), not one of \(labels)" }
            guard (0..<Int32(words.count)).contains(arcWord[a]) else { return "arc \(a) has word \(arcWord[a]), not one of \(words.count)" }
            guard !arcCost[a].isNaN else { return "arc \(a) has a cost that is not a number" }
        }
        return nil
    }
}

extension StaticGraph {
    /// The arrays the decoder's loops read, as buffers valid inside ``withArcs(_:)``.
    struct Arcs {
        let start: UnsafeBufferPointer<Int32>, label: UnsafeBufferPointer<Int32>, word: UnsafeBufferPointer<Int32>
        let next: UnsafeBufferPointer<Int32>, cost: UnsafeBufferPointer<Float>, labelPDF: UnsafeBufferPointer<Int32>
    }

    func withArcs<Result>(_ body: (Arcs) throws -> Result) rethrows -> Result {
        try arcStart.withUnsafeBufferPointer { start in
            try arcLabel.withUnsafeBufferPointer { label in
                try arcWord.withUnsafeBufferPointer { word in
                    try arcNext.withUnsafeBufferPointer { next in
                        try arcCost.withUnsafeBufferPointer { cost in
                            try labelPDF.withUnsafeBufferPointer { pdf in
                                try body(Arcs(start: start, label: label, word: word, next: next, cost: cost, labelPDF: pdf))
                            }
                        }
                    }
                }
            }
        }
    }
}
