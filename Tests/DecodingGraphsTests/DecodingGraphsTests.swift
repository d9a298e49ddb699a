import Foundation
import Testing
@testable import DecodingGraphs
import HiddenMarkov
import LanguageModel
import SpeechBase

/// The cheapest path through `fst` whose output labels (ε and `skipping` aside) are `words`:
/// a small dynamic program, independent of OpenFst, for checking graphs.
func cheapestPath(_ fst: Fst, outputs words: [Int], skipping: Set<Int> = []) -> Float {
    guard let start = fst.start else { return .infinity }
    // best[(state, words consumed)] by relaxation until nothing changes (graphs here are small).
    var best: [Int: [Int: Float]] = [start: [0: 0]]
    var changed = true
    while changed {
        changed = false
        for (state, costs) in best {
            for (k, c) in costs {
                for arc in fst.arcs(state) {
                    var consumed = k
                    let out = Int(arc.output)
                    if out != 0 && !skipping.contains(out) {
                        guard k < words.count, words[k] == out else { continue }
                        consumed += 1
                    }
                    let candidate = c + arc.cost, next = Int(arc.next)
                    if candidate < best[next]?[consumed] ?? .infinity - 1e-6 {
                        best[next, default: [:]][consumed] = candidate
                        changed = true
                    }
                }
            }
        }
    }
    var total = Float.infinity
    for (state, costs) in best { if let c = costs[words.count] { total = min(total, c + fst.finalCost(state)) } }
    return total
}

private let sentences = [["ONE", "TWO"], ["ONE", "THREE"], ["TWO"], ["THREE", "TWO", "ONE"], ["ONE", "TWO", "THREE"]]

@Suite struct GrammarFstTests {
    @Test func pathCostsAreTheModelsSentenceCosts() throws {
        let (model, _) = try KneserNeyEstimator(order: 3).estimate(sentences)
        var words = SymbolTable(["ONE", "TWO", "THREE"])
        words.add("#0")
        let g = try GrammarFst.build(model, words: words)
        for sentence in sentences + [["TWO", "ONE"], ["THREE"]] {
            let ids = sentence.map { words.id($0)! }
            let pathCost = cheapestPath(g, outputs: ids)
            let modelCost = -Float(model.score(sentence: sentence).logProbability) * Float(M_LN10)
            // Back-off arcs are ε-like, so the graph may hold a cheaper path than the model's own (Kaldi's G too).
            #expect(pathCost <= modelCost + 1e-3 && pathCost > modelCost - 0.7, "\(sentence): graph \(pathCost), model \(modelCost)")
        }
    }
}

@Suite struct LexiconFstTests {
    @Test func homophonesAndPrefixesGetDisambiguationSymbols() throws {
        let lexicon = try LexiconFst(pronunciations: ["RED": [["R", "EH", "D"]], "READ": [["R", "EH", "D"], ["R", "IY", "D"]], "RE": [["R", "EH"]]],
                                     silencePhone: "SIL")
        let marks = Dictionary(lexicon.entries.map { ("\($0.word) \($0.phones.joined(separator: " "))", $0.disambiguation) }, uniquingKeysWith: { a, _ in a })
        #expect(marks["READ R EH D"]! > 0 && marks["RED R EH D"]! > 0 && marks["READ R EH D"] != marks["RED R EH D"])
        #expect(marks["RE R EH"] == 1, "a prefix of another pronunciation")
        #expect(marks["READ R IY D"] == 0)
        #expect(lexicon.disambiguationSymbols.count == 3)  // #0, #1, #2
        let l = try lexicon.build()
        #expect(!l.hasInputEpsilons, "the ε arcs out of the start are removed")
    }

    @Test func reservedSymbolsAreRefused() {
        #expect(throws: GraphError.self) { try LexiconFst(pronunciations: ["#0": [["A"]]], silencePhone: "SIL") }
        #expect(throws: GraphError.self) { try LexiconFst(pronunciations: ["A": [["#1"]]], silencePhone: "SIL") }
        #expect(throws: GraphError.self) { try LexiconFst(pronunciations: ["A": [[]]], silencePhone: "SIL") }
    }
}

/// Two words of two phones each, a unigram grammar, 3-state phone HMMs.
func twoWordGraph() throws -> GraphCompiler.Graph {
    let lexicon = try LexiconFst(pronunciations: ["YES": [["Y", "EH"]], "NO": [["N", "OW"]]], silencePhone: "SIL")
    let (model, _) = try KneserNeyEstimator(order: 1).estimate([["YES"], ["NO"], ["YES", "NO"]])
    let g = try GrammarFst.build(model, words: lexicon.words)
    let units = ["SIL", "EH", "N", "OW", "Y"]
    let transitions = TransitionModel(units: units, topologies: units.map { $0 == "SIL" ? .silence() : .leftToRight(states: 3) })
    return try GraphCompiler.compile(lexicon: lexicon, grammar: g, transitions: transitions)
}

@Suite struct GraphCompilerTests {
    @Test func theTwoWordGraphIsDeterministicAndOpenFstReadsIt() throws {
        let graph = try twoWordGraph()
        #expect(graph.fst.isInputDeterministic && !graph.fst.hasInputEpsilons)
        let yes = graph.words.id("YES")!, no = graph.words.id("NO")!
        #expect(cheapestPath(graph.fst, outputs: [yes, no]) < .infinity)
        #expect(cheapestPath(graph.fst, outputs: [no, no, yes]) < .infinity, "a unigram grammar allows any sequence")
        let folder = NSTemporaryDirectory() + "speechlab-graph-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = folder + "/HCLG.fst"
        try graph.fst.write(to: path)
        let back = try Fst.read(path)
        #expect(back.stateCount == graph.fst.stateCount && back.arcCount == graph.fst.arcCount)
        // OpenFst's own tool reads the file (Debian's libfst-tools; scripts/setup installs it).
        guard let fstinfo = ["/usr/bin/fstinfo", "/usr/local/bin/fstinfo"].first(where: FileManager.default.isExecutableFile) else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "fstinfo is missing (scripts/setup installs libfst-tools)")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: fstinfo)
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: try DescriptorReader.readToEnd(pipe.fileHandleForReading.fileDescriptor), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(output.contains("# of states") && output.contains("\(graph.fst.stateCount)"))
        #expect(output.contains("input deterministic") && output.contains("y"))
    }

    @Test func readingAMissingOrForeignFileIsAnError() throws {
        #expect(throws: GraphError.self) { try Fst.read("/nonexistent/HCLG.fst") }
        let path = NSTemporaryDirectory() + "not-an-fst-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: path, contents: Data("hello".utf8))
        #expect(throws: GraphError.self) { try Fst.read(path) }
    }
}

@Suite struct TokenPassingDecoderTests {
    /// All paths of exactly T frames (ε arcs between frames, at most a few in a row), scored
    /// exhaustively: the reference the beam search must equal when its beam is wide.
    func exhaustive(_ g: StaticGraph, _ ll: [Float], frames T: Int, pdfs S: Int, scale: Float) -> Float {
        func closure(_ states: [Int: Float]) -> [Int: Float] {
            var out = states, frontier = states
            for _ in 0..<4 {
                var next: [Int: Float] = [:]
                for (s, c) in frontier {
                    for a in Int(g.arcStart[s])..<Int(g.arcStart[s + 1]) where g.arcLabel[a] == 0 {
                        let j = Int(g.arcNext[a]), candidate = c + g.arcCost[a]
                        if candidate < out[j] ?? .infinity { out[j] = candidate; next[j] = candidate }
                    }
                }
                frontier = next
            }
            return out
        }
        var current = closure([Int(g.start): 0])
        for t in 0..<T {
            var next: [Int: Float] = [:]
            for (s, c) in current {
                for a in Int(g.arcStart[s])..<Int(g.arcStart[s + 1]) where g.arcLabel[a] != 0 {
                    let j = Int(g.arcNext[a])
                    let candidate = c + g.arcCost[a] - scale * ll[t * S + Int(g.labelPDF[Int(g.arcLabel[a])])]
                    next[j] = min(next[j] ?? .infinity, candidate)
                }
            }
            current = closure(next)
        }
        return current.map { $1 + g.finalCost[$0] }.min() ?? .infinity
    }

    @Test func equalsExhaustiveSearchOnSmallGraphs() throws {
        var generator = SystemRandomNumberGenerator()
        for trial in 0..<30 {
            let n = Int.random(in: 2...6, using: &generator), S = 3, labels = 4
            var arcStart: [Int32] = [0], label: [Int32] = [], word: [Int32] = [], cost: [Float] = [], next: [Int32] = []
            for s in 0..<n {
                for _ in 0..<Int.random(in: 1...3, using: &generator) {
                    // ε arcs only go forward, so ε cycles cannot make the reference loop.
                    let epsilon = s < n - 1 && Int.random(in: 0..<4, using: &generator) == 0
                    label.append(epsilon ? 0 : Int32.random(in: 1...Int32(labels), using: &generator))
                    word.append(Int32.random(in: 0...2, using: &generator))
                    cost.append(Float.random(in: 0...3, using: &generator))
                    next.append(epsilon ? Int32.random(in: Int32(s + 1)..<Int32(n), using: &generator) : Int32.random(in: 0..<Int32(n), using: &generator))
                }
                arcStart.append(Int32(label.count))
            }
            let final = (0..<n).map { _ in Bool.random(using: &generator) ? Float.random(in: 0...2, using: &generator) : .infinity }
            let graph = StaticGraph(start: 0, arcStart: arcStart, arcLabel: label, arcWord: word, arcCost: cost, arcNext: next,
                                    finalCost: final, labelPDF: [-1] + (0..<labels).map { Int32($0 % S) }, labelTransition: [-1] + (0..<Int32(labels)).map { $0 },
                                    words: ["<eps>", "A", "B"])
            #expect(graph.problem == nil)
            let T = Int.random(in: 1...5, using: &generator)
            let ll = (0..<(T * S)).map { _ in Float.random(in: -10...0, using: &generator) }
            let reference = exhaustive(graph, ll, frames: T, pdfs: S, scale: 0.5)
            let result = TokenPassingDecoder(beam: 1e9, maxActive: 1000, acousticScale: 0.5).decode(graph, logLikelihoods: ll, frames: T, pdfCount: S)
            if reference < .infinity {
                #expect(result?.reachedFinal == true && abs(result!.cost - reference) < 1e-3, "trial \(trial): \(String(describing: result?.cost)) vs \(reference)")
            } else {
                #expect(result?.reachedFinal != true, "trial \(trial): no final path exists")
            }
        }
    }

    @Test func theMaximumOfActiveTokensBoundsTheSearch() throws {
        let graph = try twoWordGraph().staticGraph()
        // Frames that favour the pdfs of Y, EH (YES): their states' pdfs score 0, the rest −20.
        let units = ["SIL", "EH", "N", "OW", "Y"]
        let pdfs = 5 + 4 * 3
        func frame(_ unit: String) -> [Float] {
            let u = units.firstIndex(of: unit)!
            let first = u == 0 ? 0 : 5 + (u - 1) * 3, count = u == 0 ? 5 : 3
            return (0..<pdfs).map { (first..<(first + count)).contains($0) ? 0 : -20 }
        }
        let ll = (Array(repeating: frame("Y"), count: 4) + Array(repeating: frame("EH"), count: 4)).flatMap { $0 }
        for maxActive in [5, 1000] {
            let result = TokenPassingDecoder(beam: 30, maxActive: maxActive, acousticScale: 1).decode(graph, logLikelihoods: ll, frames: 8, pdfCount: pdfs)
            #expect(result?.words.map(\.word) == ["YES"] && result?.reachedFinal == true, "maxActive \(maxActive)")
        }
        // Two tokens are too few to keep the path that ends in time: the best partial path is
        // returned, flagged as not final.
        let narrow = TokenPassingDecoder(beam: 30, maxActive: 2, acousticScale: 1).decode(graph, logLikelihoods: ll, frames: 8, pdfCount: pdfs)
        #expect(narrow?.words.map(\.word) == ["YES"] && narrow?.reachedFinal == false)
    }
}

@Suite struct ContextDependentGraphTests {
    /// With a tree that never splits (one leaf per phone state), triphones tie back to the
    /// monophones: the context-dependent graph must decode what the context-independent one does.
    @Test func aTreeWithoutSplitsDecodesLikeMonophones() throws {
        let lexicon = try LexiconFst(pronunciations: ["YES": [["Y", "EH"]], "NO": [["N", "OW"]]], silencePhone: "SIL")
        let (model, _) = try KneserNeyEstimator(order: 1).estimate([["YES"], ["NO"], ["YES", "NO"]])
        let g = try GrammarFst.build(model, words: lexicon.words)
        let units = ["SIL", "EH", "N", "OW", "Y"]
        let transitions = TransitionModel(units: units, topologies: units.map { $0 == "SIL" ? .silence() : .leftToRight(states: 3) })
        var statistics: [TriphoneState: GaussianAccumulator] = [:]
        for u in 0..<units.count {
            for j in 0..<transitions.topologies[u].stateCount {
                var a = GaussianAccumulator(dimension: 1)
                a.count = 10
                a.sum = [Double(transitions.pdfOffsets[u] + j)]
                a.sumSquares = [a.sum[0] * a.sum[0] / 10 + 1]
                statistics[TriphoneState(left: 0, center: u, right: 0, state: j)] = a
            }
        }
        let tree = ContextTree.build(statistics: statistics, questions: [], varianceFloor: [0.01], maximumLeaves: 100, minimumGain: 0, minimumCount: 1)
        // The tree numbers its leaves in its own order: map each back to the monophone pdf it holds.
        var leafOf = [Int](repeating: 0, count: transitions.pdfCount)
        for (s, _) in statistics { leafOf[transitions.pdfOffsets[s.center] + s.state] = tree.pdf(s)! }
        let graph = try GraphCompiler.compile(lexicon: lexicon, grammar: g, transitions: transitions, tree: tree).staticGraph()
        let pdfs = transitions.pdfCount
        func frame(_ unit: String) -> [Float] {
            let u = units.firstIndex(of: unit)!
            let own = (0..<transitions.topologies[u].stateCount).map { leafOf[transitions.pdfOffsets[u] + $0] }
            return (0..<pdfs).map { own.contains($0) ? 0 : -20 }
        }
        for (spoken, expected) in [(["Y", "EH"], ["YES"]), (["N", "OW", "SIL", "Y", "EH"], ["NO", "YES"])] {
            let ll = spoken.flatMap { Array(repeating: frame($0), count: $0 == "SIL" ? 6 : 4) }.flatMap { $0 }
            let result = TokenPassingDecoder(beam: 40, maxActive: 10_000, acousticScale: 1).decode(graph, logLikelihoods: ll, frames: ll.count / pdfs, pdfCount: pdfs)
            #expect(result?.words.map(\.word) == expected && result?.reachedFinal == true, "\(spoken): \(String(describing: result?.words.map(\.word)))")
        }
    }
}

@Suite struct TranscriptFstTests {
    /// The transcript "W V" (W said as a or b, V as b) with one-state units: the graph built
    /// with OpenFst aligns frames as the one GraphBuilder makes does, and its forward-backward
    /// likelihood differs only by the silence choices' costs (ln 2 per optional silence).
    @Test func alignsAsTheBuilderGraphDoes() throws {
        let transitions = TransitionModel(units: ["a", "b", "<sil>"], topologies: [.leftToRight(states: 1), .leftToRight(states: 1), .silence(states: 3)])
        let fst = try TranscriptFst.build(words: [[["a"], ["b"]], [["b"]]], transitions: transitions, tree: nil, silencePhone: "<sil>")
        let graph = fst.decodingGraph(transitions)
        let builder = GraphBuilder.transcript(model: transitions, words: [("W", [[0], [1]]), ("V", [[1]])], silence: 2)
        func likelihoods(_ pdfs: [Int]) -> [Float] { pdfs.flatMap { p in (0..<5).map { $0 == p ? Float(0) : -10 } } }
        for frames in [[0, 0, 1, 1], [2, 3, 4, 1, 1, 2, 3, 4, 1], [1, 1, 1]] {
            let ll = likelihoods(frames)
            let a = try #require(Viterbi.search(graph, logLikelihoods: ll, frames: frames.count, pdfCount: 5))
            let b = try #require(Viterbi.search(builder, logLikelihoods: ll, frames: frames.count, pdfCount: 5))
            #expect(a.states.map { graph.pdf[Int($0)] } == b.states.map { builder.pdf[Int($0)] }, "\(frames)")
            let fa = try #require(ForwardBackward.occupancy(graph, logLikelihoods: ll, frames: frames.count, pdfCount: 5))
            let fb = try #require(ForwardBackward.occupancy(builder, logLikelihoods: ll, frames: frames.count, pdfCount: 5))
            // Three optional silences, each a choice of cost ln 2 in the FST graph and none in the builder's.
            #expect(fa.logLikelihood < fb.logLikelihood && fa.logLikelihood > fb.logLikelihood - 3 * log(2.0) - 1e-3, "\(frames): \(fa.logLikelihood) vs \(fb.logLikelihood)")
        }
        let counts = try #require(ForwardBackward.occupancy(graph, logLikelihoods: likelihoods([0, 1]), frames: 2, pdfCount: 5)).transitionCounts
        #expect(counts.reduce(0) { $0 + $1.count } > 1.99, "every frame leaves by one counted transition")
    }
}
