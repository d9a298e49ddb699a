import Foundation

/// Sufficient statistics of frames under one diagonal Gaussian: count, Σx, Σx² per dimension.
/// A value that adds, for tree building (Kaldi's `GaussClusterable`).
public struct GaussianAccumulator: Sendable, Equatable {
    public var count: Double
    public var sum: [Double]
    public var sumSquares: [Double]

    public init(dimension: Int) {
        count = 0
        sum = [Double](repeating: 0, count: dimension)
        sumSquares = sum
    }

    public mutating func add(_ frame: UnsafePointer<Float>, weight: Double = 1) {
        count += weight
        for d in 0..<sum.count {
            let x = Double(frame[d])
            sum[d] += weight * x
            sumSquares[d] += weight * x * x
        }
    }

    public mutating func add(_ other: GaussianAccumulator) {
        count += other.count
        for d in 0..<sum.count {
            sum[d] += other.sum[d]
            sumSquares[d] += other.sumSquares[d]
        }
    }

    /// The log-likelihood of the frames under their own maximum-likelihood Gaussian, variances
    /// floored at `varianceFloor` (per dimension): −n/2 · Σ_d (log 2π σ²_d + 1).
    public func logLikelihood(varianceFloor: [Double]) -> Double {
        guard count > 0 else { return 0 }
        var total = 0.0
        for d in 0..<sum.count {
            let mean = sum[d] / count
            let variance = max(sumSquares[d] / count - mean * mean, varianceFloor[d])
            total += log(2 * Double.pi * variance) + 1
        }
        return -0.5 * count * total
    }
}

/// A question about a context-dependent state's phonetic context: is the phone at `position`
/// (−1 left, +1 right) one of `phones`?
public struct ContextQuestion: Sendable, Codable, Equatable {
    public var name: String
    public var position: Int
    public var phones: Set<Int>

    public init(name: String, position: Int, phones: Set<Int>) {
        self.name = name
        self.position = position
        self.phones = phones
    }

    func holds(left: Int, right: Int) -> Bool { phones.contains(position < 0 ? left : right) }

    private enum CodingKeys: String, CodingKey { case name, position, phones }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        position = try container.decode(Int.self, forKey: .position)
        phones = Set(try container.decode([Int].self, forKey: .phones))
    }

    /// The phones in ascending order: a `Set`'s own order changes from process to process, and
    /// the same tree must write the same `model.json`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(position, forKey: .position)
        try container.encode(phones.sorted(), forKey: .phones)
    }
}

/// A state of a context-dependent phone: its left, central and right phones and the HMM state.
public struct TriphoneState: Hashable, Sendable, Codable, Comparable {
    public var left: Int, center: Int, right: Int, state: Int
    public init(left: Int, center: Int, right: Int, state: Int) {
        (self.left, self.center, self.right, self.state) = (left, center, right, state)
    }

    /// By central phone, state, left and right: an order for sums that must not depend on a
    /// dictionary's (per-process) order.
    public static func < (a: TriphoneState, b: TriphoneState) -> Bool {
        (a.center, a.state, a.left, a.right) < (b.center, b.state, b.left, b.right)
    }
}

/// Decision trees that tie context-dependent HMM states, as HTK and Kaldi build them: one tree
/// per (central phone, HMM state), questions about the left and right phones, grown greedily
/// across all trees by the largest likelihood gain (a single diagonal Gaussian per node) until
/// `maximumLeaves` or no split gains `minimumGain`; a split must leave `minimumCount` frames on
/// each side. Every leaf is one pdf.
public struct ContextTree: Sendable, Codable, Equatable {
    /// A node: a question with its two children, or a leaf with its pdf.
    public struct Node: Sendable, Codable, Equatable {
        public var question: Int?
        public var yes: Int, no: Int
        public var pdf: Int
    }

    public var questions: [ContextQuestion]
    public var nodes: [Node]
    /// The root node of each (central phone, state), keyed "center:state".
    public var roots: [String: Int]
    public var leafCount: Int

    static func key(_ center: Int, _ state: Int) -> String { "\(center):\(state)" }

    /// The pdf of a context-dependent state, or nil when no tree covers its central phone and
    /// state (no training data had it).
    public func pdf(_ s: TriphoneState) -> Int? {
        guard var n = roots[Self.key(s.center, s.state)] else { return nil }
        while let q = nodes[n].question { n = questions[q].holds(left: s.left, right: s.right) ? nodes[n].yes : nodes[n].no }
        return nodes[n].pdf
    }

    /// Why the tree cannot be used with `units` units (a node or question out of range, a
    /// cycle, leaves not numbered 0..<leafCount), or nil when it can: checked on load, so that a
    /// damaged file cannot make a lookup loop or index out of bounds.
    public func problem(units: Int) -> String? {
        guard leafCount >= 1 else { return "no leaves" }
        var seenLeaves = Set<Int>()
        for (n, node) in nodes.enumerated() {
            if let q = node.question {
                guard questions.indices.contains(q) else { return "node \(n) asks question \(q) of \(questions.count)" }
                // Children come after their parent, so a walk always ends.
                guard node.yes > n, node.no > n, node.yes < nodes.count, node.no < nodes.count else { return "node \(n) has children out of order" }
            } else {
                guard (0..<leafCount).contains(node.pdf) else { return "leaf \(n) has pdf \(node.pdf), not in 0..<\(leafCount)" }
                seenLeaves.insert(node.pdf)
            }
        }
        guard seenLeaves.count == leafCount else { return "\(leafCount) leaves declared, \(seenLeaves.count) found" }
        guard roots.values.allSatisfy({ nodes.indices.contains($0) }) else { return "a root is not a node" }
        guard questions.allSatisfy({ [-1, 1].contains($0.position) && $0.phones.allSatisfy { (0..<units).contains($0) } }) else {
            return "a question asks about a position or phone that does not exist"
        }
        return nil
    }

    /// The (central phone, state) whose tree holds each leaf, by pdf.
    public func leafRoots() -> [(center: Int, state: Int)] {
        var out = [(center: Int, state: Int)](repeating: (0, 0), count: leafCount)
        for (key, root) in roots {
            let parts = key.split(separator: ":").map { Int($0)! }
            var stack = [root]
            while let n = stack.popLast() {
                if nodes[n].question != nil { stack += [nodes[n].yes, nodes[n].no] } else { out[nodes[n].pdf] = (parts[0], parts[1]) }
            }
        }
        return out
    }

    /// Grows the trees from the statistics of every context-dependent state seen.
    public static func build(statistics: [TriphoneState: GaussianAccumulator], questions: [ContextQuestion], varianceFloor: [Double],
                             maximumLeaves: Int, minimumGain: Double, minimumCount: Double) -> ContextTree {
        // A leaf under construction: its contexts (grouped) and their sum.
        struct Leaf { var members: [(TriphoneState, GaussianAccumulator)]; var total: GaussianAccumulator; var node: Int }
        var tree = ContextTree(questions: questions, nodes: [], roots: [:], leafCount: 0)
        var leaves: [Leaf] = []
        let groups = Dictionary(grouping: statistics, by: { Self.key($0.key.center, $0.key.state) })
        for key in groups.keys.sorted() {
            let members = groups[key]!.map { ($0.key, $0.value) }.sorted { "\($0.0)" < "\($1.0)" }
            var total = GaussianAccumulator(dimension: varianceFloor.count)
            for (_, a) in members { total.add(a) }
            tree.nodes.append(Node(question: nil, yes: -1, no: -1, pdf: -1))
            tree.roots[key] = tree.nodes.count - 1
            leaves.append(Leaf(members: members, total: total, node: tree.nodes.count - 1))
        }
        /// The best split of a leaf: (gain, question, yes members, no members).
        func bestSplit(_ leaf: Leaf) -> (gain: Double, question: Int, yes: Leaf, no: Leaf)? {
            let parent = leaf.total.logLikelihood(varianceFloor: varianceFloor)
            var best: (gain: Double, question: Int, yes: Leaf, no: Leaf)? = nil
            for (q, question) in questions.enumerated() {
                var yes = Leaf(members: [], total: GaussianAccumulator(dimension: varianceFloor.count), node: -1), no = yes
                for (s, a) in leaf.members {
                    if question.holds(left: s.left, right: s.right) { yes.members.append((s, a)); yes.total.add(a) } else { no.members.append((s, a)); no.total.add(a) }
                }
                guard yes.total.count >= minimumCount, no.total.count >= minimumCount else { continue }
                let gain = yes.total.logLikelihood(varianceFloor: varianceFloor) + no.total.logLikelihood(varianceFloor: varianceFloor) - parent
                if gain > (best?.gain ?? minimumGain) { best = (gain, q, yes, no) }
            }
            return best
        }
        var candidates = leaves.map(bestSplit)
        while leaves.count < maximumLeaves {
            guard let i = candidates.indices.filter({ candidates[$0] != nil }).max(by: { candidates[$0]!.gain < candidates[$1]!.gain }) else { break }
            var (_, question, yes, no) = candidates[i]!
            let parent = leaves[i].node
            tree.nodes.append(Node(question: nil, yes: -1, no: -1, pdf: -1))
            yes.node = tree.nodes.count - 1
            tree.nodes.append(Node(question: nil, yes: -1, no: -1, pdf: -1))
            no.node = tree.nodes.count - 1
            tree.nodes[parent] = Node(question: question, yes: yes.node, no: no.node, pdf: -1)
            leaves[i] = yes
            leaves.append(no)
            candidates[i] = bestSplit(yes)
            candidates.append(bestSplit(no))
        }
        // Pdfs numbered in leaf order (roots in sorted key order, then splits in the order made).
        for (pdf, leaf) in leaves.enumerated() { tree.nodes[leaf.node].pdf = pdf }
        tree.leafCount = leaves.count
        return tree
    }
}
