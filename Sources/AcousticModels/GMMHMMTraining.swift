import Dispatch
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import Synchronization

/// How a GMM-HMM is trained.
public struct GMMHMMTrainingOptions: Codable, Sendable, Equatable {
    /// Emitting states of each word's (or unit's) HMM.
    public var statesPerUnit = 10
    /// Per-unit overrides of `statesPerUnit`.
    public var stateOverrides: [String: Int] = [:]
    /// Emitting states of the silence HMM.
    public var silenceStates = 5
    /// Gaussians per state at the end of training.
    public var gaussians = 8
    /// Baum-Welch iterations after the flat start.
    public var iterations = 25
    /// Mixtures grow towards `gaussians` until this fraction of the iterations.
    public var mixingFraction = 0.6
    /// Hard (Viterbi) instead of soft (Baum-Welch) state assignments.
    public var viterbiTraining = false
    /// Forward pruning beam of the E-step (log domain).
    public var beam: Float = 300
    public var update = GMMUpdateOptions()

    public init() {}

    /// Target Gaussians per state after `iteration` (1-based).
    public func gaussianTarget(after iteration: Int) -> Int {
        let until = max(1, Int((Double(iterations) * mixingFraction).rounded()))
        if iteration >= until { return gaussians }
        return min(gaussians, 1 + Int((Double(gaussians - 1) * Double(iteration) / Double(until)).rounded(.up)))
    }
}

/// Baum-Welch accumulators of a shard of the data: Gaussian statistics per pdf, expected
/// transition counts, and the data log-likelihood. A value that adds and saves (Codable), so
/// that the E-step can run on any shard, core or machine and be merged before the M-step.
public struct BaumWelchStatistics: Codable, Sendable {
    public var mixtures: [GaussianStatistics]
    public var transitions: [Double]
    public var logLikelihood: Double = 0
    public var frames = 0
    public var utterances = 0
    /// Utterances that could not be used, with the reason.
    public var skipped: [String: String] = [:]

    public init(model: GMMHMM) {
        mixtures = model.mixtures.map { GaussianStatistics(dimension: $0.dimension, components: $0.componentCount) }
        transitions = [Double](repeating: 0, count: model.transitions.transitionCount)
    }

    public mutating func add(_ other: BaumWelchStatistics) {
        for i in mixtures.indices { mixtures[i].add(other.mixtures[i]) }
        for i in transitions.indices { transitions[i] += other.transitions[i] }
        logLikelihood += other.logLikelihood
        frames += other.frames
        utterances += other.utterances
        skipped.merge(other.skipped) { a, _ in a }
    }
}

/// One training utterance: its features and transcript.
public struct TrainingUtterance: Sendable {
    public var id: String
    public var features: FeatureMatrix { didSet { prepare() } }
    public var words: [String]
    /// The first frame with a NaN or infinity, found once rather than every iteration.
    public private(set) var nonFiniteFrame: Int?
    /// `[T, 2D]`: each frame and its squares, the operand of the likelihood and statistics
    /// GEMMs, made once rather than every iteration.
    public private(set) var expandedFeatures: [Float] = []

    public init(id: String, features: FeatureMatrix, words: [String]) {
        self.id = id
        self.features = features
        self.words = words
        prepare()
    }

    private mutating func prepare() {
        nonFiniteFrame = features.firstNonFinite?.frame
        expandedFeatures = []
        GMMLikelihoods.expand(features.values, dimension: features.dimension, count: features.frames, into: &expandedFeatures)
    }
}

/// One line of the training log.
public struct GMMHMMIterationLog: Codable, Sendable, Equatable {
    public var iteration: Int
    public var logLikelihoodPerFrame: Double
    public var gaussians: Int
    public var seconds: Double
    public var utterances: Int
    public var skipped: Int
    /// The utterances skipped in this iteration and why.
    public var skippedUtterances: [String: String]?
}

/// Trains a ``GMMHMM`` from transcripts alone: flat start (global mean and variance, uniform
/// segmentation), then embedded Baum-Welch re-estimation with mixture splitting
/// (Kaldi's `train_mono.sh` recipe, accumulate → sum → estimate).
public struct GMMHMMTrainer: Sendable {
    public var options: GMMHMMTrainingOptions
    public var jobs: Int

    public init(options: GMMHMMTrainingOptions = GMMHMMTrainingOptions(), jobs: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.options = options
        self.jobs = max(1, jobs)
    }

    /// The flat-start model for `data`: units from the transcripts (via `lexicon`) and silence,
    /// every state's single Gaussian at the global mean and variance, then one re-estimation
    /// from a uniform segmentation of each utterance over its words' states.
    public func flatStart(_ data: [TrainingUtterance], lexicon: Lexicon, features: FeatureConfig) throws -> GMMHMM {
        guard let first = data.first else { throw ModelError("no training utterances") }
        let dimension = first.features.dimension
        let vocabulary = Set(data.flatMap(\.words)).sorted()
        guard !vocabulary.isEmpty else { throw ModelError("the training transcripts have no words") }
        let unitNames = Set(vocabulary.flatMap { lexicon.units(of: $0) }).sorted()
        if unitNames.contains(silenceUnit) { throw ModelError("a word or unit is named \(silenceUnit), which is reserved for silence") }
        let units = unitNames + [silenceUnit]
        let topologies = units.map { name -> HMMTopology in
            name == silenceUnit ? .silence(states: options.silenceStates)
                : .leftToRight(states: options.stateOverrides[name] ?? options.statesPerUnit)
        }
        var transitions = TransitionModel(units: units, topologies: topologies)

        // Global mean and variance (accumulated in Double).
        var sum = [Double](repeating: 0, count: dimension), sumSquares = sum
        var frames = 0
        for u in data {
            precondition(u.features.dimension == dimension)
            for t in 0..<u.features.frames {
                for d in 0..<dimension {
                    let v = Double(u.features.values[t * dimension + d])
                    sum[d] += v
                    sumSquares[d] += v * v
                }
            }
            frames += u.features.frames
        }
        let mean = sum.map { $0 / Double(frames) }
        let variance = zip(sumSquares, mean).map { max($0 / Double(frames) - $1 * $1, 1e-6) }
        let global = DiagonalGMM(mean: mean, variance: variance)
        let model = GMMHMM(transitions: transitions, mixtures: [DiagonalGMM](repeating: global, count: transitions.pdfCount),
                           lexicon: lexicon, vocabulary: vocabulary, features: features)

        // Uniform segmentation: frames spread evenly over the transcript's word states.
        var statistics = BaumWelchStatistics(model: model)
        for u in data {
            let wordUnits = try model.wordUnits(u.words)
            var states: [(pdf: Int, unit: Int, state: Int)] = []
            for (_, unitList) in wordUnits {
                for unit in unitList {
                    for j in 0..<topologies[unit].stateCount { states.append((transitions.pdfOffsets[unit] + j, unit, j)) }
                }
            }
            let T = u.features.frames
            guard !states.isEmpty, states.count <= T else {
                statistics.skipped[u.id] = "\(T) frames are fewer than the \(states.count) states of its transcript"
                continue
            }
            u.features.values.withUnsafeBufferPointer { x in
                var previous = -1
                for t in 0..<T {
                    let k = t * states.count / T
                    statistics.mixtures[states[k].pdf].accumulate(component: 0, frame: x.baseAddress! + t * dimension, weight: 1)
                    if previous >= 0 {
                        let p = states[previous]
                        // Self loop (destination index 0) or onward (index 1) in a left-to-right HMM.
                        statistics.transitions[transitions.transitionID(unit: p.unit, state: p.state, destination: k == previous ? 0 : 1)] += 1
                    }
                    previous = k
                }
            }
            statistics.utterances += 1
            statistics.frames += T
        }
        guard statistics.utterances > 0 else {
            throw ModelError("no utterance is long enough for its transcript's \(options.statesPerUnit)-state word models (try fewer --states)")
        }
        transitions.update(counts: statistics.transitions)
        model.transitions = transitions
        var mixtures = model.mixtures
        for s in mixtures.indices where statistics.mixtures[s].totalOccupancy > 0 {
            mixtures[s].update(from: statistics.mixtures[s], varianceFloor: variance, options: options.update)
        }
        model.setMixtures(mixtures)
        return model
    }

    /// The E-step over `data`, in parallel over `jobs` workers.
    public func accumulate(_ model: GMMHMM, _ data: [TrainingUtterance]) -> BaumWelchStatistics {
        let workers = max(jobs, 1)
        let partial = Mutex([BaumWelchStatistics]())
        let next = Atomic(0)
        let options = self.options
        // One graph per distinct transcript (with this iteration's transition probabilities):
        // an isolated-word corpus has as many graphs as words.
        // Each graph's pdfs are renumbered, and its own likelihood computer covers only them.
        var graphIndex: [[String]: Int] = [:]
        var graphs: [TranscriptGraph?] = []
        let graphOf: [Int] = data.map { u in
            if let k = graphIndex[u.words] { return k }
            var graph: TranscriptGraph? = nil
            if let units = try? model.wordUnits(u.words), !units.isEmpty {
                let (g, pdfs) = GraphBuilder.transcript(model: model.transitions, words: units, silence: model.silence).compactingPDFs()
                graph = TranscriptGraph(graph: g, pdfs: pdfs, likelihoods: GMMLikelihoods(pdfs.map { model.mixtures[$0] }))
            }
            graphIndex[u.words] = graphs.count
            graphs.append(graph)
            return graphs.count - 1
        }
        // Work in chunks of utterances that share a graph, so that the likelihoods and the
        // statistics of a whole chunk are one GEMM each.
        var members = [[Int]](repeating: [], count: graphs.count)
        for (i, k) in graphOf.enumerated() { members[k].append(i) }
        let chunks = members.enumerated().flatMap { k, indices in
            stride(from: 0, to: indices.count, by: Self.chunkSize).map { (graph: k, utterances: Array(indices[$0..<min($0 + Self.chunkSize, indices.count)])) }
        }
        let cache = graphs
        DispatchQueue.concurrentPerform(iterations: min(workers, max(chunks.count, 1))) { _ in
            var statistics = BaumWelchStatistics(model: model)
            var workspace = EStepWorkspace()
            while case let c = next.add(1, ordering: .relaxed).oldValue, c < chunks.count {
                Self.accumulate(model, chunks[c].utterances.map { data[$0] }, graph: cache[chunks[c].graph], options: options,
                                into: &statistics, workspace: &workspace)
            }
            partial.withLock { $0.append(statistics) }
        }
        var total = BaumWelchStatistics(model: model)
        for p in partial.withLock({ $0 }) { total.add(p) }
        return total
    }

    /// Utterances per E-step chunk: enough for efficient GEMMs, few enough that Float sums
    /// over a chunk's frames stay accurate and the chunks spread evenly over the workers.
    static let chunkSize = 64

    /// Adds the expected statistics (soft, or hard with Viterbi training) of utterances that
    /// share `transcript`'s graph (nil when their transcript cannot be modelled): their frames'
    /// likelihoods are one GEMM, each utterance is aligned on its own, and each component's
    /// posterior-weighted sums of x and x² gather over the chunk in Float (the totals
    /// accumulate in Double).
    static func accumulate(_ model: GMMHMM, _ chunk: [TrainingUtterance], graph transcript: TranscriptGraph?, options: GMMHMMTrainingOptions,
                           into statistics: inout BaumWelchStatistics, workspace: inout EStepWorkspace) {
        var members: [TrainingUtterance] = []
        for u in chunk {
            if let bad = u.nonFiniteFrame {
                statistics.skipped[u.id] = "features are not finite at frame \(bad)"
            } else if transcript == nil {
                statistics.skipped[u.id] = "its transcript has a word the model does not know, or no word"
            } else {
                members.append(u)
            }
        }
        guard let transcript, let first = members.first else { return }
        // Local pdf numbering: pdf l of the graph is the model's pdf `transcript.pdfs[l]`.
        let graph = transcript.graph, S = transcript.pdfs.count, D = first.features.dimension
        let likelihoods = transcript.likelihoods, offsets = likelihoods.componentOffsets, K = offsets.last!
        var starts: [Int] = [], F = 0
        for u in members {
            starts.append(F)
            F += u.features.frames
        }
        workspace.prepareChunk(frames: F, components: K, dimension: D)
        workspace.expanded.withUnsafeMutableBufferPointer { x in
            for (b, u) in members.enumerated() {
                u.expandedFeatures.withUnsafeBufferPointer { (x.baseAddress! + starts[b] * 2 * D).update(from: $0.baseAddress!, count: u.features.frames * 2 * D) }
            }
        }
        likelihoods.componentLogLikelihoods(expanded: workspace.expanded, count: F, into: &workspace.components)
        likelihoods.mixtureLogLikelihoods(components: workspace.components, count: F, into: &workspace.mixtureLogLikelihoods, scratch: &workspace.scratch)
        // Moved out of the workspace (and back at the end), so that writing them copies nothing.
        var occupancy: [Double] = [], sums: [Float] = [], shares: [Float] = []
        swap(&occupancy, &workspace.occupancy)
        swap(&sums, &workspace.sums)
        swap(&shares, &workspace.shares)
        let components = workspace.components, mixtureLL = workspace.mixtureLogLikelihoods
        for (b, u) in members.enumerated() {
            let T = u.features.frames, start = starts[b]
            var posteriors: [(frame: Int32, pdf: Int32, weight: Float)]
            var transitionCounts: [(transition: Int32, count: Double)]
            let logLikelihood: Double
            if options.viterbiTraining {
                let ll = Array(mixtureLL[(start * S)..<((start + T) * S)])
                guard let path = Viterbi.search(graph, logLikelihoods: ll, frames: T, pdfCount: S, options: SearchOptions(beam: options.beam))
                    ?? Viterbi.search(graph, logLikelihoods: ll, frames: T, pdfCount: S, options: SearchOptions(beam: .infinity)) else {
                    statistics.skipped[u.id] = "\(T) frames are too few for its transcript's states"
                    continue
                }
                posteriors = path.states.enumerated().map { (Int32($0.offset), graph.pdf[Int($0.element)], 1) }
                transitionCounts = []
                for t in 1..<max(T, 1) {
                    let i = Int(path.states[t - 1]), j = path.states[t]
                    if let arc = (Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1])).first(where: { graph.arcTo[$0] == j }) {
                        transitionCounts.append((graph.arcTransition[arc], 1))
                    }
                }
                if let last = path.states.last, graph.finalTransition[Int(last)] >= 0 { transitionCounts.append((graph.finalTransition[Int(last)], 1)) }
                logLikelihood = Double(path.score)
            } else {
                // Without a beam when the beam pruned every path that ends in time (short utterances).
                let result = mixtureLL.withUnsafeBufferPointer { all in
                    let ll = UnsafeBufferPointer(rebasing: all[(start * S)..<((start + T) * S)])
                    return ForwardBackward.occupancy(graph, logLikelihoods: ll, frames: T, pdfCount: S, beam: options.beam,
                                                     workspace: &workspace.forwardBackward)
                        ?? ForwardBackward.occupancy(graph, logLikelihoods: ll, frames: T, pdfCount: S, beam: .infinity,
                                                     workspace: &workspace.forwardBackward)
                }
                guard let result else {
                    statistics.skipped[u.id] = "\(T) frames are too few for its transcript's states"
                    continue
                }
                posteriors = result.posteriors
                transitionCounts = result.transitionCounts
                logLikelihood = result.logLikelihood
            }
            // Component posteriors Γ (state posterior × the component's share): each listed
            // (frame, pdf)'s shares log(w N) − log p, exponentiated in one vector pass, then
            // scattered into Γ with the weight.
            shares.removeAll(keepingCapacity: true)
            components.withUnsafeBufferPointer { c in
                mixtureLL.withUnsafeBufferPointer { ll in
                    offsets.withUnsafeBufferPointer { offsets in
                        for (t, s, _) in posteriors {
                            let row = start + Int(t), s = Int(s), total = ll[row * S + s]
                            for k in offsets[s]..<offsets[s + 1] { shares.append(c[row * K + k] - total) }
                        }
                    }
                }
            }
            shares.withUnsafeMutableBufferPointer { Float.exp($0.baseAddress!, count: $0.count) }
            // Γ is sparse (a frame's posterior mass sits on one or two pdfs), so each nonzero
            // γ adds γ·[x, x²] to its component's sums: a short vector loop, rather than a dense
            // Γᵀ·[X, X²] GEMM that would mostly multiply zeros.
            sums.withUnsafeMutableBufferPointer { sums in
                occupancy.withUnsafeMutableBufferPointer { occupancy in
                    workspace.expanded.withUnsafeBufferPointer { x in
                        offsets.withUnsafeBufferPointer { offsets in
                            var next = 0
                            for (t, s, weight) in posteriors {
                                let frame = x.baseAddress! + (start + Int(t)) * 2 * D, s = Int(s)
                                for k in offsets[s]..<offsets[s + 1] {
                                    let value = shares[next] * weight
                                    next += 1
                                    occupancy[k] += Double(value)
                                    let sum = sums.baseAddress! + k * 2 * D
                                    for d in 0..<(2 * D) { sum[d] += value * frame[d] }
                                }
                            }
                        }
                    }
                }
            }
            for (id, c) in transitionCounts { statistics.transitions[Int(id)] += c }
            statistics.logLikelihood += logLikelihood
            statistics.frames += T
            statistics.utterances += 1
        }
        sums.withUnsafeBufferPointer { out in
            for s in 0..<S {
                for k in offsets[s]..<offsets[s + 1] where occupancy[k] > 0 {
                    statistics.mixtures[transcript.pdfs[s]].accumulate(component: k - offsets[s], occupancy: occupancy[k],
                                                                        sums: out.baseAddress! + k * 2 * D)
                }
            }
        }
        swap(&occupancy, &workspace.occupancy)
        swap(&sums, &workspace.sums)
        swap(&shares, &workspace.shares)
    }

    /// The M-step: new mixtures and transition probabilities from `statistics`.
    public func update(_ model: GMMHMM, from statistics: BaumWelchStatistics, varianceFloor: [Double]) {
        var mixtures = model.mixtures
        for s in mixtures.indices {
            mixtures[s].update(from: statistics.mixtures[s], varianceFloor: varianceFloor, options: options.update)
        }
        model.setMixtures(mixtures)
        model.transitions.update(counts: statistics.transitions)
    }

    /// Splits components until every state has `target` (or as many as it can).
    public func mixUp(_ model: GMMHMM, to target: Int) {
        var mixtures = model.mixtures
        for s in mixtures.indices {
            while mixtures[s].componentCount < target { mixtures[s].splitHeaviestComponent() }
        }
        model.setMixtures(mixtures)
    }

    /// The whole recipe: flat start, then `options.iterations` of E-step, M-step and mixing up.
    /// `onIteration` sees each iteration's log line and the model after it (to save a checkpoint).
    /// With `resume`, training continues from a checkpoint (a model saved after iteration
    /// `completed`, and the log so far) instead of a flat start.
    public func train(_ data: [TrainingUtterance], lexicon: Lexicon, features: FeatureConfig,
                      resume: (model: GMMHMM, log: [GMMHMMIterationLog])? = nil,
                      onIteration: (GMMHMMIterationLog, GMMHMM) throws -> Void = { _, _ in }) throws -> (model: GMMHMM, log: [GMMHMMIterationLog]) {
        try checkLexicon(data, lexicon: lexicon)
        let model = try resume?.model ?? flatStart(data, lexicon: lexicon, features: features)
        let floor = globalVariance(data)
        var log = resume?.log ?? []
        let firstIteration = log.count + 1
        guard firstIteration <= options.iterations else { return (model, log) }
        for iteration in firstIteration...max(options.iterations, 1) {
            let started = Date()
            let statistics = accumulate(model, data)
            guard statistics.utterances > 0 else {
                throw ModelError("iteration \(iteration): no utterance could be aligned (\(statistics.skipped.first.map { "\($0.key): \($0.value)" } ?? ""))")
            }
            update(model, from: statistics, varianceFloor: floor)
            let entry = GMMHMMIterationLog(iteration: iteration, logLikelihoodPerFrame: statistics.logLikelihood / Double(max(statistics.frames, 1)),
                                           gaussians: model.gaussianCount, seconds: Date().timeIntervalSince(started),
                                           utterances: statistics.utterances, skipped: statistics.skipped.count,
                                           skippedUtterances: statistics.skipped.isEmpty ? nil : statistics.skipped)
            log.append(entry)
            let target = options.gaussianTarget(after: iteration)
            if iteration < options.iterations { mixUp(model, to: target) }
            try onIteration(entry, model)
        }
        return (model, log)
    }

    /// With a lexicon, every transcript word must be in it; the error names the word and utterance.
    public func checkLexicon(_ data: [TrainingUtterance], lexicon: Lexicon) throws {
        guard !lexicon.pronunciations.isEmpty else { return }
        for u in data {
            if let missing = u.words.first(where: { lexicon.pronunciations[$0] == nil }) {
                throw ModelError("utterance '\(u.id)': word '\(missing)' is not in the lexicon")
            }
        }
    }

    /// Per-dimension variance of all frames (the variance floor's reference).
    public func globalVariance(_ data: [TrainingUtterance]) -> [Double] {
        guard let D = data.first?.features.dimension else { return [] }
        var sum = [Double](repeating: 0, count: D), squares = sum
        var n = 0.0
        for u in data {
            for (i, v) in u.features.values.enumerated() {
                sum[i % D] += Double(v)
                squares[i % D] += Double(v) * Double(v)
            }
            n += Double(u.features.frames)
        }
        return (0..<D).map { max(squares[$0] / n - (sum[$0] / n) * (sum[$0] / n), 1e-6) }
    }
}

/// A transcript's graph with its pdfs renumbered, and a likelihood computer for just those.
struct TranscriptGraph: Sendable {
    var graph: DecodingGraph
    /// The model's pdf of each local pdf.
    var pdfs: [Int]
    var likelihoods: GMMLikelihoods
}

/// Buffers one E-step worker reuses from chunk to chunk.
struct EStepWorkspace {
    var expanded: [Float] = []
    var components: [Float] = []
    var mixtureLogLikelihoods: [Float] = []
    var scratch: [Float] = []
    var occupancy: [Double] = []
    var sums: [Float] = []
    var shares: [Float] = []
    var forwardBackward = ForwardBackward.Workspace()

    /// Room for a chunk's `[F, 2D]` expanded frames, and zeroed occupancies `[K]` and sums `[K, 2D]`.
    mutating func prepareChunk(frames F: Int, components K: Int, dimension D: Int) {
        if expanded.count < F * 2 * D { expanded = [Float](repeating: 0, count: F * 2 * D) }
        func zeroed<Value: Numeric>(_ buffer: inout [Value], _ count: Int) {
            if buffer.count < count { buffer = [Value](repeating: 0, count: count) } else {
                buffer.withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: count) }
            }
        }
        zeroed(&occupancy, K)
        zeroed(&sums, K * 2 * D)
    }
}
