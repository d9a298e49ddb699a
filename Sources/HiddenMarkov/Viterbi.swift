/// Search settings.
public struct SearchOptions: Sendable, Codable, Equatable {
    /// Scale on acoustic log-likelihoods against transition and grammar log probabilities.
    public var acousticScale: Float = 1
    /// States scoring more than this below the frame's best are dropped (log domain).
    public var beam: Float = 300
    /// Log-domain penalty added when a word is entered (negative favours fewer words).
    public var wordPenalty: Float = 0

    public init(acousticScale: Float = 1, beam: Float = 300, wordPenalty: Float = 0) {
        self.acousticScale = acousticScale
        self.beam = beam
        self.wordPenalty = wordPenalty
    }

    /// Why these options cannot search (a beam or scale that is not positive and finite, a
    /// penalty that is not finite), or nil when they can.
    public var problem: String? {
        if !(beam > 0 && beam.isFinite) { return "the beam must be a positive number, not \(beam)" }
        if !(acousticScale > 0 && acousticScale.isFinite) { return "the acoustic scale must be a positive number, not \(acousticScale)" }
        if !wordPenalty.isFinite { return "the word penalty must be a finite number, not \(wordPenalty)" }
        return nil
    }
}

extension SearchOptions {
    private enum CodingKeys: String, CodingKey { case acousticScale, beam, wordPenalty }

    /// Decodes and checks the options (a model file with a NaN beam would search nothing).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(acousticScale: try c.decode(Float.self, forKey: .acousticScale), beam: try c.decode(Float.self, forKey: .beam),
                  wordPenalty: try c.decode(Float.self, forKey: .wordPenalty))
        if let problem { throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: problem)) }
    }
}

/// A recognized word with its frames.
public struct TimedWord: Sendable, Equatable, Codable {
    public var word: String
    /// First frame.
    public var start: Int
    /// One past the last frame.
    public var end: Int
    public init(word: String, start: Int, end: Int) {
        self.word = word
        self.start = start
        self.end = end
    }
}

/// The best path through a graph for one utterance.
public struct ViterbiPath: Sendable {
    /// Its score: scaled acoustic plus transition and grammar log probabilities.
    public var score: Float
    /// Graph state at each frame.
    public var states: [Int32]
    /// Words entered along the path, with frames.
    public var words: [TimedWord]
}

/// Viterbi beam search (decoding, forced alignment).
public enum Viterbi {
    /// The best path through `graph` for `logLikelihoods` (`[T, S]` row-major, S = pdfs), or
    /// nil when no path fits in T frames.
    /// - Complexity: O(T · active arcs), plus T·N backpointers.
    public static func search(_ graph: DecodingGraph, logLikelihoods ll: [Float], frames T: Int, pdfCount S: Int,
                              options: SearchOptions = SearchOptions()) -> ViterbiPath? {
        let N = graph.stateCount
        guard T > 0, ll.count == T * S else { return nil }
        let scale = options.acousticScale
        var current = [Float](repeating: -.infinity, count: N), next = current
        var backpointer = [Int32](repeating: -1, count: T * N)
        var entered = [Int32](repeating: DecodingGraph.staysInside, count: T * N)
        for (k, to) in graph.initialTo.enumerated() {
            let j = Int(to)
            let score = graph.initialLogProbability[k] + scale * ll[Int(graph.pdf[j])]
            if score > current[j] {
                current[j] = score
                entered[j] = graph.initialWord[k]
            }
        }
        graph.arcStart.withUnsafeBufferPointer { start in
        graph.arcTo.withUnsafeBufferPointer { arcTo in
        graph.arcLogProbability.withUnsafeBufferPointer { arcLP in
        graph.arcWord.withUnsafeBufferPointer { arcWord in
        graph.pdf.withUnsafeBufferPointer { pdf in
        ll.withUnsafeBufferPointer { ll in
            for t in 1..<Swift.max(T, 1) {
                var best = -Float.infinity
                for i in 0..<N where current[i] > best { best = current[i] }
                let threshold = best - options.beam
                for j in 0..<N { next[j] = -.infinity }
                let bp = t * N
                for i in 0..<N where current[i] > threshold {
                    let score = current[i]
                    for a in Int(start[i])..<Int(start[i + 1]) {
                        let j = Int(arcTo[a]), candidate = score + arcLP[a]
                        if candidate > next[j] {
                            next[j] = candidate
                            backpointer[bp + j] = Int32(i)
                            entered[bp + j] = arcWord[a]
                        }
                    }
                }
                let row = ll.baseAddress! + t * S
                for j in 0..<N where next[j] > -.infinity { next[j] += scale * row[Int(pdf[j])] }
                swap(&current, &next)
            }
        }}}}}}
        var bestFinal = -Float.infinity, last = -1
        for i in 0..<N where current[i] > -.infinity && graph.finalLogProbability[i] > -.infinity {
            let score = current[i] + graph.finalLogProbability[i]
            if score > bestFinal { bestFinal = score; last = i }
        }
        guard last >= 0 else { return nil }
        var states = [Int32](repeating: 0, count: T)
        var state = last
        for t in stride(from: T - 1, through: 0, by: -1) {
            states[t] = Int32(state)
            if t > 0 { state = Int(backpointer[t * N + state]) }
        }
        // Words: an entry starts a word (or silence), which lasts until the next entry.
        var words: [TimedWord] = []
        var open: (word: Int32, start: Int)? = nil
        for t in 0..<T {
            let e = entered[t * N + Int(states[t])]
            guard e != DecodingGraph.staysInside else { continue }
            if let o = open, o.word >= 0 { words.append(TimedWord(word: graph.words[Int(o.word)], start: o.start, end: t)) }
            open = (e, t)
        }
        if let o = open, o.word >= 0 { words.append(TimedWord(word: graph.words[Int(o.word)], start: o.start, end: T)) }
        return ViterbiPath(score: bestFinal, states: states, words: words)
    }
}
