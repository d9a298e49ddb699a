/// Viterbi beam search over a ``StaticGraph`` by token passing, as Kaldi's `FasterDecoder`:
/// one token per active state holds the best cost of reaching it; each frame, tokens within
/// `beam` of the best (and at most `maxActive` of them) follow the arcs that take a frame, then
/// the arcs that take none. Memory is proportional to the active tokens and the words on their
/// paths (a traceback entry is made only when an arc outputs a word; entries no token can reach
/// are collected), not to frames × graph states.
public struct TokenPassingDecoder: Sendable {
    /// Tokens costing more than the best plus this are dropped (cost = −log probability).
    public var beam: Float
    /// Most tokens kept per frame (the cut-off tightens to the `maxActive`-th best).
    public var maxActive: Int
    /// Scale on acoustic log-likelihoods against the graph's costs (the inverse of Kaldi's
    /// language-model weight).
    public var acousticScale: Float
    /// Cost added for every word output (Kaldi's word insertion penalty, in graph-cost units
    /// scaled like the acoustic costs: positive favours fewer words).
    public var wordPenalty: Float

    public init(beam: Float = 16, maxActive: Int = 7000, acousticScale: Float = 0.1, wordPenalty: Float = 0) {
        self.beam = beam
        self.maxActive = maxActive
        self.acousticScale = acousticScale
        self.wordPenalty = wordPenalty
    }

    /// Why these settings cannot search, or nil when they can.
    public var problem: String? {
        if !(beam > 0 && beam.isFinite) { return "the beam must be a positive number, not \(beam)" }
        if maxActive < 1 { return "the maximum of active tokens must be at least 1, not \(maxActive)" }
        if !(acousticScale > 0 && acousticScale.isFinite) { return "the acoustic scale must be a positive number, not \(acousticScale)" }
        if !wordPenalty.isFinite { return "the word penalty must be a finite number, not \(wordPenalty)" }
        return nil
    }

    /// A decoded utterance.
    public struct Result: Sendable {
        /// The words, each with the frame its first arc consumed and the next word's (or the end).
        public var words: [TimedWord]
        /// Graph cost plus scaled acoustic cost of the best path.
        public var cost: Float
        /// False when no token reached a final state, so the best token overall was taken.
        public var reachedFinal: Bool
        /// Most tokens active in any frame.
        public var peakActive: Int
    }

    /// The best path for `logLikelihoods` (`[T, S]`, S ≥ every pdf the graph's labels name), or
    /// nil when every token died (the beam was too narrow for the graph).
    public func decode(_ graph: StaticGraph, logLikelihoods ll: [Float], frames T: Int, pdfCount S: Int) -> Result? {
        precondition(ll.count >= T * S, "TokenPassingDecoder: \(ll.count) log-likelihoods for \(T) frames of \(S) pdfs")
        return graph.withArcs { arcs in
            ll.withUnsafeBufferPointer { ll in
                var search = TokenSearch(graph: graph, arcs: arcs, wordPenalty: wordPenalty)
                search.begin()
                var peak = search.active.count
                for t in 0..<T {
                    search.advance(frame: t, logLikelihoods: ll.baseAddress! + t * S, decoder: self)
                    guard !search.active.isEmpty else { return nil }
                    peak = max(peak, search.active.count)
                    if search.traceback.count > 4 * search.active.count + 100_000 { search.collectTraceback() }
                }
                return search.finish(frames: T, peakActive: peak)
            }
        }
    }
}

/// The state of one utterance's search (its `arcs` are valid inside `StaticGraph.withArcs`).
struct TokenSearch {
    let graph: StaticGraph
    let arcs: StaticGraph.Arcs
    let wordPenalty: Float
    /// Cost and traceback entry of each state's token (only active states' entries are valid).
    var cost: [Float], back: [Int32]
    var active: [Int32] = []
    var nextCost: [Float], nextBack: [Int32]
    var nextActive: [Int32] = []
    /// Word traceback entries: the previous entry, the word, the frame of its first arc.
    var traceback: [(previous: Int32, word: Int32, frame: Int32)] = []

    init(graph: StaticGraph, arcs: StaticGraph.Arcs, wordPenalty: Float) {
        self.graph = graph
        self.arcs = arcs
        self.wordPenalty = wordPenalty
        cost = [Float](repeating: .infinity, count: graph.stateCount)
        back = [Int32](repeating: -1, count: graph.stateCount)
        nextCost = cost
        nextBack = back
    }

    mutating func begin() {
        cost[Int(graph.start)] = 0
        active = [graph.start]
        closeOverEpsilons(cutoff: .infinity, frame: 0)
    }

    /// Follows the frame-consuming arcs of tokens under the cut-off, then the ε arcs.
    mutating func advance(frame t: Int, logLikelihoods frame: UnsafePointer<Float>, decoder: TokenPassingDecoder) {
        let cutoff = self.cutoff(decoder)
        var nextCutoff = Float.infinity
        let (scale, beam, penalty) = (decoder.acousticScale, decoder.beam, wordPenalty)
        // Locals, not fields, in the loop: the optimizer would otherwise reload them on every arc.
        let (start, label, arcCost, next, word, pdf) = (arcs.start, arcs.label, arcs.cost, arcs.next, arcs.word, arcs.labelPDF)
        for s in active {
            let c = cost[Int(s)]
            guard c <= cutoff else { continue }
            for a in Int(start[Int(s)])..<Int(start[Int(s) + 1]) {
                let l = Int(label[a])
                guard l != 0 else { continue }
                let candidate = c + arcCost[a] - scale * frame[Int(pdf[l])] + (word[a] == 0 ? 0 : penalty)
                guard candidate < nextCutoff else { continue }
                nextCutoff = min(nextCutoff, candidate + beam)
                let j = Int(next[a])
                if candidate < nextCost[j] {
                    if nextCost[j] == .infinity { nextActive.append(Int32(j)) }
                    nextCost[j] = candidate
                    nextBack[j] = word[a] == 0 ? back[Int(s)] : record(back[Int(s)], word: word[a], frame: t)
                }
            }
        }
        for s in active { cost[Int(s)] = .infinity }
        swap(&cost, &nextCost)
        swap(&back, &nextBack)
        swap(&active, &nextActive)
        nextActive.removeAll(keepingCapacity: true)
        closeOverEpsilons(cutoff: nextCutoff, frame: t + 1)
    }

    /// The beam's cut-off, tightened to the `maxActive`-th best cost when more tokens are active.
    func cutoff(_ decoder: TokenPassingDecoder) -> Float {
        var best = Float.infinity
        for s in active { best = min(best, cost[Int(s)]) }
        var cutoff = best + decoder.beam
        if active.count > decoder.maxActive {
            var costs = active.map { cost[Int($0)] }
            let k = decoder.maxActive - 1
            costs.withUnsafeMutableBufferPointer { select(k, in: $0) }
            cutoff = min(cutoff, costs[k])
        }
        return cutoff
    }

    /// Relaxes ε arcs from every active token until no cost improves.
    mutating func closeOverEpsilons(cutoff: Float, frame t: Int) {
        let arcs = self.arcs
        var queue = active
        while let s = queue.popLast() {
            let c = cost[Int(s)]
            for a in Int(arcs.start[Int(s)])..<Int(arcs.start[Int(s) + 1]) where arcs.label[a] == 0 {
                let candidate = c + arcs.cost[a] + (arcs.word[a] == 0 ? 0 : wordPenalty)
                let j = Int(arcs.next[a])
                guard candidate < cutoff, candidate < cost[j] else { continue }
                if cost[j] == .infinity { active.append(Int32(j)) }
                cost[j] = candidate
                back[j] = arcs.word[a] == 0 ? back[Int(s)] : record(back[Int(s)], word: arcs.word[a], frame: t)
                queue.append(Int32(j))
            }
        }
    }

    mutating func record(_ previous: Int32, word: Int32, frame: Int) -> Int32 {
        traceback.append((previous, word, Int32(frame)))
        return Int32(traceback.count - 1)
    }

    /// Drops traceback entries no active token reaches, renumbering the rest (entries only
    /// point to earlier ones, so one pass in order renumbers them).
    mutating func collectTraceback() {
        var live = [Bool](repeating: false, count: traceback.count)
        for s in active {
            var e = back[Int(s)]
            while e >= 0 && !live[Int(e)] {
                live[Int(e)] = true
                e = traceback[Int(e)].previous
            }
        }
        var renumbered = [Int32](repeating: -1, count: traceback.count)
        var kept: [(previous: Int32, word: Int32, frame: Int32)] = []
        for (i, entry) in traceback.enumerated() where live[i] {
            renumbered[i] = Int32(kept.count)
            kept.append((entry.previous >= 0 ? renumbered[Int(entry.previous)] : -1, entry.word, entry.frame))
        }
        traceback = kept
        for s in active where back[Int(s)] >= 0 { back[Int(s)] = renumbered[Int(back[Int(s)])] }
    }

    /// The best final token (or the best token when none is final) and its words.
    func finish(frames T: Int, peakActive: Int) -> TokenPassingDecoder.Result? {
        var best = Float.infinity, bestState: Int32 = -1, reachedFinal = false
        for s in active where graph.finalCost[Int(s)] < .infinity {
            let c = cost[Int(s)] + graph.finalCost[Int(s)]
            if c < best { best = c; bestState = s; reachedFinal = true }
        }
        if bestState < 0 {
            for s in active where cost[Int(s)] < best { best = cost[Int(s)]; bestState = s }
        }
        guard bestState >= 0 else { return nil }
        var entries: [(word: Int32, frame: Int32)] = []
        var e = back[Int(bestState)]
        while e >= 0 {
            entries.append((traceback[Int(e)].word, traceback[Int(e)].frame))
            e = traceback[Int(e)].previous
        }
        entries.reverse()
        var words: [TimedWord] = []
        for (k, entry) in entries.enumerated() {
            let end = k + 1 < entries.count ? Int(entries[k + 1].frame) : T
            words.append(TimedWord(word: graph.words[Int(entry.word)], start: Int(entry.frame), end: end))
        }
        return .init(words: words, cost: best, reachedFinal: reachedFinal, peakActive: peakActive)
    }
}

/// Moves the k-th smallest value to index k (smaller before it, larger after): quickselect.
func select(_ k: Int, in values: UnsafeMutableBufferPointer<Float>) {
    var lo = 0, hi = values.count - 1
    while lo < hi {
        let pivot = values[(lo + hi) / 2]
        var i = lo, j = hi
        while i <= j {
            while values[i] < pivot { i += 1 }
            while values[j] > pivot { j -= 1 }
            if i <= j { values.swapAt(i, j); i += 1; j -= 1 }
        }
        if k <= j { hi = j } else if k >= i { lo = i } else { return }
    }
}
