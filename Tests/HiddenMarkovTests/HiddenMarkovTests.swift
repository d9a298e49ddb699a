import Foundation
import HiddenMarkov
import Testing

/// Two one-state words "a" (pdf 0) and "b" (pdf 1), and 3-state silence (pdfs 2-4).
func toyModel() -> TransitionModel {
    TransitionModel(units: ["a", "b", "sil"], topologies: [.leftToRight(states: 1), .leftToRight(states: 1), .silence(states: 3)])
}

/// Log-likelihoods [T, 5] that favour `pdfs[t]` at each frame.
func likelihoods(_ pdfs: [Int]) -> [Float] {
    pdfs.flatMap { p in (0..<5).map { $0 == p ? Float(0) : -10 } }
}

@Suite struct HiddenMarkovTests {
    @Test func topologiesHaveTheirShapes() {
        let silence = HMMTopology.silence(states: 5)
        #expect(silence.destinations == [[0, 1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [4, 5]])
        #expect(silence.exits.map(\.state) == [4])
        #expect(HMMTopology.leftToRight(states: 3).destinations == [[0, 1], [1, 2], [2, 3]])
        let model = toyModel()
        #expect(model.pdfCount == 5 && model.transitionCount == 2 + 2 + (3 + 2 + 2))
    }

    @Test func viterbiFindsTheWordsAndTheirFrames() throws {
        let model = toyModel()
        let graph = GraphBuilder.wordLoop(model: model, words: [("a", [0]), ("b", [1])], silence: 2, wordPenalty: 0)
        // silence, a a a, b b, a a, silence silence
        let path = try #require(Viterbi.search(graph, logLikelihoods: likelihoods([2, 4, 0, 0, 0, 1, 1, 0, 0, 2, 4]), frames: 11, pdfCount: 5))
        #expect(path.words.map(\.word) == ["a", "b", "a"])
        #expect(path.words.map(\.start) == [2, 5, 7])
        #expect(path.words.map(\.end) == [5, 7, 9])
        let isolated = GraphBuilder.isolatedWords(model: model, words: [("a", [0]), ("b", [1])], silence: 2)
        #expect(Viterbi.search(isolated, logLikelihoods: likelihoods([1, 1, 1]), frames: 3, pdfCount: 5)?.words.map(\.word) == ["b"])
    }

    @Test func aTranscriptThatCannotFitHasNoPath() {
        let model = TransitionModel(units: ["w"], topologies: [.leftToRight(states: 4)])
        let graph = GraphBuilder.transcript(model: model, words: [("w", [0])], silence: nil)
        #expect(Viterbi.search(graph, logLikelihoods: [Float](repeating: 0, count: 3 * 4), frames: 3, pdfCount: 4) == nil)
        #expect(ForwardBackward.occupancy(graph, logLikelihoods: [Float](repeating: 0, count: 3 * 4), frames: 3, pdfCount: 4) == nil)
    }

    @Test func forwardBackwardPosteriorsSumToOneAndBoundTheBestPath() throws {
        let model = toyModel()
        let graph = GraphBuilder.transcript(model: model, words: [("a", [0]), ("b", [1])], silence: 2)
        var ll = likelihoods([2, 3, 0, 0, 1, 1, 1, 4])
        for i in ll.indices { ll[i] += Float(i % 3) * 0.3 }  // make posteriors soft
        let occupancy = try #require(ForwardBackward.occupancy(graph, logLikelihoods: ll, frames: 8, pdfCount: 5, minimumPosterior: 0))
        for t in 0..<8 {
            let total = occupancy.posteriors.filter { $0.frame == t }.map(\.weight).reduce(0, +)
            #expect(abs(total - 1) < 1e-4, "frame \(t): \(total)")
        }
        let best = try #require(Viterbi.search(graph, logLikelihoods: ll, frames: 8, pdfCount: 5))
        #expect(occupancy.logLikelihood >= Double(best.score) - 1e-4)
        // Each frame after the first leaves one state: 7 transitions plus the final exit.
        let transitions = occupancy.transitionCounts.map(\.count).reduce(0, +)
        #expect(abs(transitions - 8) < 1e-3)
    }

    /// The scaled, windowed passes against the textbook recursion in the log domain over every
    /// state: the same log-likelihood and the same posterior of every pdf at every frame, on a
    /// transcript with optional silences (arcs that skip states) and soft frames.
    @Test func forwardBackwardMatchesTheLogDomainRecursion() throws {
        let model = toyModel()
        let graph = GraphBuilder.transcript(model: model, words: [("a", [0]), ("b", [1]), ("a", [0])], silence: 2)
        let T = 20, S = 5, N = graph.pdf.count
        // Log-likelihoods spread over −3...0 by a fixed hash of the index.
        let ll = (0..<(T * S)).map { i -> Float in
            let h = sin(Double(i) * 12.9898) * 43758.5453
            return Float(-3 * (h - h.rounded(.down)))
        }
        let occupancy = try #require(ForwardBackward.occupancy(graph, logLikelihoods: ll, frames: T, pdfCount: S, minimumPosterior: 0))
        func logAdd(_ a: Double, _ b: Double) -> Double {
            let m = max(a, b)
            return m == -.infinity ? m : m + log(exp(a - m) + exp(b - m))
        }
        let emission = { (t: Int, j: Int) in Double(ll[t * S + Int(graph.pdf[j])]) }
        var alpha = [[Double]](repeating: [Double](repeating: -.infinity, count: N), count: T), beta = alpha
        for (k, j) in graph.initialTo.enumerated() { alpha[0][Int(j)] = logAdd(alpha[0][Int(j)], Double(graph.initialLogProbability[k]) + emission(0, Int(j))) }
        for t in 1..<T {
            for i in 0..<N {
                for arc in Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1]) {
                    let j = Int(graph.arcTo[arc])
                    alpha[t][j] = logAdd(alpha[t][j], alpha[t - 1][i] + Double(graph.arcLogProbability[arc]) + emission(t, j))
                }
            }
        }
        for i in 0..<N { beta[T - 1][i] = Double(graph.finalLogProbability[i]) }
        for t in stride(from: T - 2, through: 0, by: -1) {
            for i in 0..<N {
                for arc in Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1]) {
                    let j = Int(graph.arcTo[arc])
                    beta[t][i] = logAdd(beta[t][i], Double(graph.arcLogProbability[arc]) + emission(t + 1, j) + beta[t + 1][j])
                }
            }
        }
        let total = (0..<N).reduce(-Double.infinity) { logAdd($0, alpha[T - 1][$1] + beta[T - 1][$1]) }
        #expect(abs(occupancy.logLikelihood - total) < 1e-6 * abs(total), "\(occupancy.logLikelihood) against \(total)")
        for t in 0..<T {
            var expected = [Double](repeating: 0, count: S)
            for j in 0..<N { expected[Int(graph.pdf[j])] += exp(alpha[t][j] + beta[t][j] - total) }
            var found = [Double](repeating: 0, count: S)
            for p in occupancy.posteriors where Int(p.frame) == t { found[Int(p.pdf)] += Double(p.weight) }
            #expect(zip(expected, found).allSatisfy { abs($0 - $1) < 1e-5 }, "frame \(t): \(found) against \(expected)")
        }
    }

    // A transcript whose last eight states are far less likely than its first at every frame
    // (by ε each): the final states' share of the last frame is about ε⁸, below Double's normal
    // range for the smaller ε. The pass then finds no path (nil) rather than posteriors of
    // 1/denormal = ∞.
    @Test("forward-backward never returns non-finite posteriors", arguments: [1e-36, 1e-38, 3e-39, 1e-39, 3e-40, 1e-40].map { Float($0 as Double) })
    func forwardBackwardNeverReturnsNonFinitePosteriors(epsilon: Float) {
        let states = 9, T = 24
        let model = TransitionModel(units: ["w"], topologies: [.leftToRight(states: states)])
        let graph = GraphBuilder.transcript(model: model, words: [("w", [0])], silence: nil)
        var emissions = [Float](repeating: epsilon, count: T * states)
        for t in 0..<T { emissions[t * states] = 1 }
        let offsets = [Double](repeating: 0, count: T)
        let occupancy = emissions.withUnsafeBufferPointer { e in
            offsets.withUnsafeBufferPointer { o in
                ForwardBackward.occupancy(graph, emissions: e, offsets: o, frames: T, pdfCount: states, beam: .infinity,
                                          workspace: ForwardBackward.Workspace())
            }
        }
        if epsilon >= 1e-36 { #expect(occupancy != nil) }
        guard let occupancy else { return }
        #expect(occupancy.logLikelihood.isFinite)
        #expect(occupancy.posteriors.allSatisfy { $0.weight.isFinite })
        #expect(occupancy.transitionCounts.allSatisfy { $0.count.isFinite })
    }

    @Test func aGraphKnowsItsShortestPath() {
        let model = TransitionModel(units: ["w"], topologies: [.leftToRight(states: 4)])
        #expect(GraphBuilder.transcript(model: model, words: [("w", [0]), ("w", [0])], silence: nil).minimumFrames == 8)
        #expect(GraphBuilder.transcript(model: toyModel(), words: [("a", [0]), ("b", [1])], silence: nil).minimumFrames == 2)
    }

    @Test func transitionUpdateNormalizesAndFloors() {
        var model = TransitionModel(units: ["w"], topologies: [.leftToRight(states: 1)])
        model.update(counts: [9, 1])
        #expect(abs(model.probabilities[0] - 0.9) < 1e-9)
        model.update(counts: [10, 0])
        #expect(model.probabilities[1] > 0)
    }
}

extension ViterbiPath: Equatable {
    public static func == (a: ViterbiPath, b: ViterbiPath) -> Bool { a.states == b.states && a.words == b.words }
}
extension StateOccupancy: Equatable {
    public static func == (a: StateOccupancy, b: StateOccupancy) -> Bool { a.logLikelihood == b.logLikelihood }
}

@Suite struct PronunciationAlternativeTests {
    /// "W" may be said as unit a or as unit b: the transcript graph holds both, and the path
    /// takes the one the frames favour; the isolated and loop grammars name the word either way.
    @Test func graphsHoldEveryPronunciation() throws {
        let model = toyModel()
        let transcript = GraphBuilder.transcript(model: model, words: [("W", [[0], [1]]), ("W", [[0], [1]])], silence: 2)
        let path = try #require(Viterbi.search(transcript, logLikelihoods: likelihoods([1, 1, 0, 0]), frames: 4, pdfCount: 5))
        #expect(path.states.map { transcript.pdf[Int($0)] } == [1, 1, 0, 0])
        #expect(path.words.map(\.word) == ["W", "W"])
        let isolated = GraphBuilder.isolatedWords(model: model, words: [("W", [[0], [1]])], silence: 2)
        #expect(Viterbi.search(isolated, logLikelihoods: likelihoods([1, 1]), frames: 2, pdfCount: 5)?.words.map(\.word) == ["W"])
        let loop = GraphBuilder.wordLoop(model: model, words: [("W", [[0], [1]])], silence: 2, wordPenalty: 0)
        #expect(Viterbi.search(loop, logLikelihoods: likelihoods([0, 1]), frames: 2, pdfCount: 5)?.words.map(\.word) == ["W", "W"])
        // One pronunciation each is the graph it always was.
        let single = GraphBuilder.transcript(model: model, words: [("a", [0]), ("b", [1])], silence: 2)
        let same = GraphBuilder.transcript(model: model, words: [("a", [[0]]), ("b", [[1]])], silence: 2)
        #expect(single.pdf == same.pdf && single.arcTo == same.arcTo && single.arcTransition == same.arcTransition && single.initialTo == same.initialTo)
    }
}

@Suite struct ContextTreeTests {
    /// Phones 0-5; 0-2 are "vowels". State 0 of phone 9 sounds different after a vowel (mean 3
    /// instead of 0), whatever the right phone; state 1 never depends on context. The tree must
    /// find exactly that: one split of (9, 0) on the left-vowel question, (9, 1) a single leaf.
    @Test func tiesStatesWhereTheRightTreeIsKnown() {
        var generator = SystemRandomNumberGenerator()
        func frames(mean: Double, count: Int) -> GaussianAccumulator {
            var a = GaussianAccumulator(dimension: 2)
            for _ in 0..<count {
                let x: [Float] = (0..<2).map { _ in Float(mean + Double.random(in: -1...1, using: &generator)) }
                x.withUnsafeBufferPointer { a.add($0.baseAddress!) }
            }
            return a
        }
        var statistics: [TriphoneState: GaussianAccumulator] = [:]
        for left in 0..<6 {
            for right in 0..<6 {
                statistics[TriphoneState(left: left, center: 9, right: right, state: 0)] = frames(mean: left < 3 ? 3 : 0, count: 40)
                statistics[TriphoneState(left: left, center: 9, right: right, state: 1)] = frames(mean: 1, count: 40)
            }
        }
        var questions = [ContextQuestion(name: "L-vowel", position: -1, phones: [0, 1, 2]), ContextQuestion(name: "R-vowel", position: 1, phones: [0, 1, 2])]
        for p in 0..<6 {
            questions.append(ContextQuestion(name: "L-\(p)", position: -1, phones: [p]))
            questions.append(ContextQuestion(name: "R-\(p)", position: 1, phones: [p]))
        }
        let tree = ContextTree.build(statistics: statistics, questions: questions, varianceFloor: [0.01, 0.01], maximumLeaves: 10,
                                     minimumGain: 100, minimumCount: 50)
        #expect(tree.leafCount == 3, "leaves: \(tree.leafCount)")
        let afterVowel = tree.pdf(TriphoneState(left: 1, center: 9, right: 4, state: 0))
        let afterConsonant = tree.pdf(TriphoneState(left: 4, center: 9, right: 1, state: 0))
        #expect(afterVowel != nil && afterConsonant != nil && afterVowel != afterConsonant)
        #expect(tree.pdf(TriphoneState(left: 2, center: 9, right: 5, state: 0)) == afterVowel)
        #expect(tree.pdf(TriphoneState(left: 0, center: 9, right: 0, state: 1)) == tree.pdf(TriphoneState(left: 5, center: 9, right: 5, state: 1)))
        #expect(tree.nodes[tree.roots["9:0"]!].question.map { tree.questions[$0].name } == "L-vowel")
        // An unseen central phone has no tree; a budget of 3 leaves (two roots) allows one split.
        #expect(tree.pdf(TriphoneState(left: 0, center: 7, right: 0, state: 0)) == nil)
        let small = ContextTree.build(statistics: statistics, questions: questions, varianceFloor: [0.01, 0.01], maximumLeaves: 3,
                                      minimumGain: 0, minimumCount: 1)
        #expect(small.leafCount == 3 && small.nodes[small.roots["9:0"]!].question.map { small.questions[$0].name } == "L-vowel")
    }

    @Test func aContextQuestionWritesItsPhonesInAscendingOrder() throws {
        // A Set's iteration order is seeded per process: written as it is, the same tree would
        // give a different model.json in every run.
        let question = ContextQuestion(name: "left∈{many}", position: -1, phones: Set((0..<40).map { $0 * 7 % 40 }))
        let json = String(decoding: try JSONEncoder().encode(question), as: UTF8.self)
        #expect(json.contains("\"phones\":[\((0..<40).map(String.init).joined(separator: ","))]"), "\(json)")
        #expect(try JSONDecoder().decode(ContextQuestion.self, from: Data(json.utf8)) == question)
    }
}

@Suite struct InterpolatedScorerTests {
    /// Log-likelihoods that depend on the frame's value and the class: (c + 1) · x.
    struct Linear: AcousticScorer, Sendable {
        let scale: Float
        var pdfCount: Int { 3 }
        func logLikelihoods(frames: [Float], count: Int) -> [Float] {
            frames.prefix(count).flatMap { x in (0..<3).map { scale * Float($0 + 1) * x } }
        }
    }

    @Test func mixesTheTwoScorersFrameByFrameWithTheSecondsWeight() {
        let frames: [Float] = [1, -2]
        let (a, b) = (Linear(scale: 1), Linear(scale: -4))
        #expect(InterpolatedScorer(a, b, weight: 0).logLikelihoods(frames: frames, count: 2) == a.logLikelihoods(frames: frames, count: 2))
        #expect(InterpolatedScorer(a, b, weight: 1).logLikelihoods(frames: frames, count: 2) == b.logLikelihoods(frames: frames, count: 2))
        // w = 0.25: 0.75 · (c + 1)x − 0.25 · 4(c + 1)x = −0.25 (c + 1)x
        #expect(InterpolatedScorer(a, b, weight: 0.25).logLikelihoods(frames: frames, count: 2) == [-0.25, -0.5, -0.75, 0.5, 1, 1.5])
        #expect(InterpolatedScorer(a, b, weight: 0.25).pdfCount == 3)
    }
}
