import DecodingGraphs
import Distributed
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

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
    /// ``trainingDataFingerprint(_:)`` of the data trained on: a resumed run must use the same.
    public var dataFingerprint: String?

    public init() {}

    /// When set, the total number of Gaussians training grows to (Kaldi's `totgauss`), shared
    /// among states by occupancy (``GMMHMMTrainer/splitTargets(occupancies:total:current:)``)
    /// instead of `gaussians` in every state.
    public var totalGaussians: Int?
    /// A second stage on LDA+MLLT features with speaker-adaptive training (nil: none).
    public var transforms: FeatureTransformOptions?
    /// How the training data's copies were made (its `perturbation.json`), kept with the model.
    public var dataPerturbation: DataPerturbation?

    /// The iteration (1-based) after which mixing up stops.
    var lastMixingIteration: Int { max(1, Int((Double(iterations) * mixingFraction).rounded())) }

    /// Target Gaussians per state after `iteration` (1-based).
    public func gaussianTarget(after iteration: Int) -> Int {
        let until = lastMixingIteration
        if iteration >= until { return gaussians }
        return min(gaussians, 1 + Int((Double(gaussians - 1) * Double(iteration) / Double(until)).rounded(.up)))
    }

    /// With `totalGaussians`, the model's total after `iteration`: growing linearly from one
    /// per state, as Kaldi's `numgauss` grows towards `totgauss`.
    public func totalGaussianTarget(after iteration: Int, states: Int) -> Int? {
        guard let total = totalGaussians else { return nil }
        let until = lastMixingIteration
        if iteration >= until { return max(total, states) }
        return states + Int((Double(max(total - states, 0)) * Double(iteration) / Double(until)).rounded(.up))
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
    public var features: FeatureMatrix { didSet { nonFiniteFrame = features.firstNonFinite?.frame } }
    public var words: [String]
    /// The shard the utterance belongs to: its speaker, or a block of utterances (the data a
    /// rank of a distributed training owns whole). E-step chunks never mix shards, and partial
    /// sums are made per shard, so that a model does not depend on how shards are spread.
    public var shard: String
    /// The first frame with a NaN or infinity, found once rather than every iteration.
    public private(set) var nonFiniteFrame: Int?

    public init(id: String, features: FeatureMatrix, words: [String], shard: String = "") {
        self.id = id
        self.features = features
        self.words = words
        self.shard = shard
        nonFiniteFrame = features.firstNonFinite?.frame
    }
}

/// Training data arranged once for every E-step: utterances grouped by shard and transcript,
/// in chunks whose frames and squared frames `[X, X²]` lie contiguously, so that a chunk's
/// likelihoods are one GEMM. Utterances with NaN or infinite features are set aside with the
/// reason. A chunk holds utterances of one shard only: the same chunks, whichever rank holds
/// the shard.
public struct EStepCorpus: Sendable {
    struct Chunk: Sendable {
        /// Index into `transcripts`.
        var transcript: Int
        var ids: [String]
        /// First row of each utterance in `expanded`, and its frames.
        var starts: [Int]
        var frames: [Int]
        /// `[F, 2D]`, F the chunk's frames.
        var expanded: [Float]
        var frameCount: Int { (starts.last ?? 0) + (frames.last ?? 0) }
    }

    let transcripts: [[String]]
    let chunks: [Chunk]
    let dimension: Int
    /// Utterances no E-step can use, and why.
    let excluded: [String: String]

    private struct ShardTranscript: Hashable {
        var shard: String
        var transcript: Int
    }

    /// Utterances per chunk: enough for efficient GEMMs, few enough that Float sums over a
    /// chunk's frames stay accurate and chunks spread evenly over the workers.
    public static let chunkSize = 64

    public init(_ data: [TrainingUtterance]) {
        var index: [[String]: Int] = [:], transcripts: [[String]] = []
        var groupIndex: [ShardTranscript: Int] = [:], groups: [ShardTranscript] = [], members: [[Int]] = []
        var excluded: [String: String] = [:]
        for (i, u) in data.enumerated() {
            if let bad = u.nonFiniteFrame {
                excluded[u.id] = "features are not finite at frame \(bad)"
                continue
            }
            let k = index[u.words] ?? {
                index[u.words] = transcripts.count
                transcripts.append(u.words)
                return transcripts.count - 1
            }()
            let key = ShardTranscript(shard: u.shard, transcript: k)
            let g = groupIndex[key] ?? {
                groupIndex[key] = groups.count
                groups.append(key)
                members.append([])
                return groups.count - 1
            }()
            members[g].append(i)
        }
        let D = data.first?.features.dimension ?? 0
        var chunks: [Chunk] = []
        for (g, indices) in members.enumerated() {
            let k = groups[g].transcript
            for first in stride(from: 0, to: indices.count, by: Self.chunkSize) {
                let group = indices[first..<min(first + Self.chunkSize, indices.count)].map { data[$0] }
                var starts: [Int] = [], F = 0
                for u in group {
                    starts.append(F)
                    F += u.features.frames
                }
                var expanded = [Float](repeating: 0, count: F * 2 * D)
                expanded.withUnsafeMutableBufferPointer { x in
                    for (b, u) in group.enumerated() {
                        u.features.values.withUnsafeBufferPointer { f in
                            GMMLikelihoods.expand(f, dimension: D, count: u.features.frames, into: x.baseAddress! + starts[b] * 2 * D)
                        }
                    }
                }
                chunks.append(Chunk(transcript: k, ids: group.map(\.id), starts: starts, frames: group.map(\.features.frames), expanded: expanded))
            }
        }
        self.transcripts = transcripts
        self.chunks = chunks
        self.dimension = D
        self.excluded = excluded
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
    /// The ranks that share the training data (each holds whole shards of it): statistics are
    /// summed over them before every update, so every rank holds the same model, equal to the
    /// model one process trains on all the data. One process alone by default.
    public var communicator: any Communicator

    public init(options: GMMHMMTrainingOptions = GMMHMMTrainingOptions(), jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
                communicator: any Communicator = SingleProcess()) {
        self.options = options
        self.jobs = max(1, jobs)
        self.communicator = communicator
    }

    /// The flat-start model for `data`: units from the transcripts (via `lexicon`) and silence,
    /// every state's single Gaussian at the global mean and variance, then one re-estimation
    /// from a uniform segmentation of each utterance over its words' states.
    public func flatStart(_ data: [TrainingUtterance], lexicon: Lexicon, features: FeatureConfig) throws -> GMMHMM {
        guard let first = data.first else { throw ModelError("no training utterances") }
        let dimension = first.features.dimension
        // Every rank builds the same model: the vocabulary of all ranks' transcripts.
        let vocabulary = try Set(communicator.allGather(Set(data.flatMap(\.words)).sorted()).joined()).sorted()
        guard !vocabulary.isEmpty else { throw ModelError("the training transcripts have no words") }
        let unitNames = Set(vocabulary.flatMap { lexicon.pronunciations(of: $0).joined() }).sorted()
        if unitNames.contains(silenceUnit) { throw ModelError("a word or unit is named \(silenceUnit), which is reserved for silence") }
        try checkSizes(data, unitNames: unitNames, lexicon: lexicon)
        let units = unitNames + [silenceUnit]
        let topologies = units.map { name -> HMMTopology in
            name == silenceUnit ? .silence(states: options.silenceStates)
                : .leftToRight(states: options.stateOverrides[name] ?? options.statesPerUnit)
        }
        var transitions = TransitionModel(units: units, topologies: topologies)

        // Global mean and variance (over all ranks' data).
        precondition(data.allSatisfy { $0.features.dimension == dimension })
        let (mean, variance) = try globalMoments(data)
        let global = DiagonalGMM(mean: mean, variance: variance)
        let model = GMMHMM(transitions: transitions, mixtures: [DiagonalGMM](repeating: global, count: transitions.pdfCount),
                           lexicon: lexicon, vocabulary: vocabulary, features: features)

        // Uniform segmentation: frames spread evenly over the transcript's word states (each
        // word's first pronunciation; Baum-Welch then weighs the alternatives). Each utterance's
        // statistics enter exact totals, summed over the ranks.
        let layout = BaumWelchLayout(model: model)
        var sums = ExactSums(count: layout.count)
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
            layout.move(&statistics, pdfs: Array(Set(states.map(\.pdf))).sorted(), into: &sums)
        }
        try communicator.sum(&sums)
        statistics = layout.statistics(sums, model: model)
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

    /// Refuses sizes the data cannot support, before the model is allocated: a unit that no
    /// utterance is long enough to train with its state count (it would keep the flat start's
    /// Gaussian), or more Gaussians per state than there are frames per state.
    func checkSizes(_ data: [TrainingUtterance], unitNames: [String], lexicon: Lexicon) throws {
        let statesOf = { (unit: String) in self.options.stateOverrides[unit] ?? self.options.statesPerUnit }
        var trainable: Set<String> = [], frames = 0
        for u in data {
            // Long enough for its shortest pronunciations: every alternative's units can then be trained.
            let alternatives = u.words.map { lexicon.pronunciations(of: $0) }
            let shortest = alternatives.reduce(0) { total, word in total + word.map { $0.reduce(0) { $0 + statesOf($1) } }.min()! }
            frames += u.features.frames
            if shortest <= u.features.frames { trainable.formUnion(alternatives.joined().joined()) }
        }
        if communicator.size > 1 {
            trainable = try Set(communicator.allGather(trainable.sorted()).joined())
            frames = try communicator.sum(frames)
        }
        let untrainable = unitNames.filter { !trainable.contains($0) }
        guard untrainable.isEmpty else {
            let names = untrainable.prefix(8).joined(separator: ", ") + (untrainable.count > 8 ? ", ..." : "")
            throw ModelError("\(untrainable.count) of \(unitNames.count) units (\(names)) occur in no training utterance long enough for "
                + "their \(options.statesPerUnit)-state models, so they would never be trained; use fewer --states (or --unit-states)")
        }
        let states = unitNames.reduce(options.silenceStates) { $0 + statesOf($1) }
        // (A total is shared by occupancy, each Gaussian keeping enough frames: no check needed.)
        guard options.totalGaussians != nil || options.gaussians <= max(1, frames / states) else {
            throw ModelError("--gaussians \(options.gaussians) is more than the \(frames / states) training frames per HMM state "
                + "(\(frames) frames, \(states) states); use fewer Gaussians")
        }
    }

    /// The E-step over `data`, in parallel over `jobs` workers (and summed over the ranks).
    public func accumulate(_ model: GMMHMM, _ data: [TrainingUtterance]) throws -> BaumWelchStatistics {
        try accumulate(model, EStepCorpus(data))
    }

    /// The E-step over a corpus arranged once for all iterations, in parallel over `jobs` workers.
    /// With `statisticsFrom` (the same utterances with other features: Kaldi's
    /// `gmm-acc-stats-twofeats`), the posteriors come from `corpus` and the sums from its frames.
    /// Each chunk's statistics enter exact totals, all-reduced over the ranks: the result is the
    /// same bits for any number of workers and ranks.
    public func accumulate(_ model: GMMHMM, _ corpus: EStepCorpus, triphoneGraphs: [TranscriptFst?]? = nil,
                           statisticsFrom other: EStepCorpus? = nil) throws -> BaumWelchStatistics {
        precondition(other.map { $0.chunks.map(\.frameCount) == corpus.chunks.map(\.frameCount) && $0.dimension == corpus.dimension } ?? true,
                     "accumulate: the two corpora's utterances differ")
        let options = self.options
        // One graph per distinct transcript (with this iteration's transition probabilities):
        // an isolated-word corpus has as many graphs as words. Each graph's pdfs are
        // renumbered, and its own likelihood computer covers only them. A triphone model's
        // graphs come from OpenFst, built once (`triphoneGraphs`).
        // Why a transcript has no graph, when the graph builder says (a word the model lacks).
        var unmodelled = [String?](repeating: nil, count: corpus.transcripts.count)
        let graphs: [TranscriptGraph?] = corpus.transcripts.indices.map { k in
            let full: DecodingGraph
            if model.tree != nil {
                guard let fst = triphoneGraphs?[k] else { return nil }
                full = fst.decodingGraph(model.transitions)
            } else {
                guard !corpus.transcripts[k].isEmpty else { return nil }
                do { full = try model.transitions.transcriptGraph(corpus.transcripts[k], lexicon: model.lexicon, tree: nil) } catch {
                    unmodelled[k] = "its transcript cannot be modelled: \(error)"
                    return nil
                }
            }
            let (graph, pdfs) = full.compactingPDFs()
            return TranscriptGraph(graph: graph, pdfs: pdfs, likelihoods: GMMLikelihoods(pdfs.map { model.mixtures[$0] }))
        }
        let unmodelledReasons = unmodelled
        // Each worker adds its chunks' statistics (gathered in a reused Double buffer) to its own
        // exact sums; the sums are merged after, then over the ranks.
        let layout = BaumWelchLayout(model: model)
        let partial = parallelForEach(corpus.chunks.count, workers: jobs,
                                      state: { (BaumWelchStatistics(model: model), EStepWorkspace(), ExactSums(count: layout.count)) }) { worker, c in
            let chunk = corpus.chunks[c]
            let graph = graphs[chunk.transcript]
            Self.accumulate(model, chunk, dimension: corpus.dimension, graph: graph, options: options,
                            statisticsFrames: other?.chunks[c].expanded, into: &worker.0, workspace: &worker.1)
            if let reason = unmodelledReasons[chunk.transcript] { for id in chunk.ids { worker.0.skipped[id] = reason } }
            layout.move(&worker.0, pdfs: graph?.pdfs ?? [], into: &worker.2)
        }
        var sums = ExactSums(count: layout.count)
        var skipped = corpus.excluded
        for p in partial {
            sums.add(p.2)
            skipped.merge(p.0.skipped) { a, _ in a }
        }
        try communicator.sum(&sums)
        var total = layout.statistics(sums, model: model)
        total.skipped = try allSkipped(skipped)
        return total
    }

    /// Adds the expected statistics (soft, or hard with Viterbi training) of a chunk of
    /// utterances that share `transcript`'s graph (nil when their transcript cannot be
    /// modelled): the chunk's likelihoods are one GEMM, in the linear domain (no logarithms:
    /// the forward-backward takes scaled probabilities and a component's share of its mixture
    /// is a ratio); each utterance is aligned on its own; each component's posterior-weighted
    /// sums of x and x² gather over the chunk in Float (the totals accumulate in Double).
    static func accumulate(_ model: GMMHMM, _ chunk: EStepCorpus.Chunk, dimension D: Int, graph transcript: TranscriptGraph?,
                           options: GMMHMMTrainingOptions, statisticsFrames: [Float]? = nil, into statistics: inout BaumWelchStatistics,
                           workspace: inout EStepWorkspace) {
        guard let transcript else {
            for id in chunk.ids { statistics.skipped[id] = "its transcript has a word the model does not know, or no word" }
            return
        }
        // Local pdf numbering: pdf l of the graph is the model's pdf `transcript.pdfs[l]`.
        let likelihoods = transcript.likelihoods, S = transcript.pdfs.count, F = chunk.frameCount
        likelihoods.componentLogLikelihoods(expanded: chunk.expanded, count: F, into: &workspace.shares)
        likelihoods.mixtureShares(components: &workspace.shares, count: F, top: &workspace.top, sums: &workspace.mixtureSums)
        workspace.prepareChunk(frames: F, pdfs: S, components: likelihoods.componentOffsets.last!, dimension: D)
        for (b, id) in chunk.ids.enumerated() {
            let frames = chunk.starts[b]..<(chunk.starts[b] + chunk.frames[b])
            let alignment = options.viterbiTraining
                ? workspace.bestPath(transcript.graph, frames: frames, pdfCount: S, beam: options.beam)
                : workspace.occupancy(transcript.graph, frames: frames, pdfCount: S, beam: options.beam)
            // Non-finite posteriors (a forward-backward beyond Double's range) would poison the sums.
            guard let alignment, alignment.logLikelihood.isFinite, alignment.posteriors.allSatisfy({ $0.weight.isFinite }) else {
                if let minimum = transcript.graph.minimumFrames, frames.count < minimum {
                    statistics.skipped[id] = "\(frames.count) frames are too few for its transcript's states (at least \(minimum))"
                } else {
                    statistics.skipped[id] = "no path through its transcript's states keeps a probability within range: "
                        + "its frames fit them too poorly (does the audio match the transcript?)"
                }
                continue
            }
            workspace.addComponentSums(alignment.posteriors, firstFrame: frames.lowerBound, expanded: statisticsFrames ?? chunk.expanded,
                                       componentOffsets: likelihoods.componentOffsets, pdfCount: S, dimension: D)
            for (id, c) in alignment.transitionCounts { statistics.transitions[Int(id)] += c }
            statistics.logLikelihood += alignment.logLikelihood
            statistics.frames += frames.count
            statistics.utterances += 1
            workspace.forwardBackward.recycle(alignment)
        }
        let offsets = likelihoods.componentOffsets, sums = workspace.sums.base, occupancy = workspace.occupancy.base
        for s in 0..<S {
            for k in offsets[s]..<offsets[s + 1] where occupancy[k] > 0 {
                statistics.mixtures[transcript.pdfs[s]].accumulate(component: k - offsets[s], occupancy: occupancy[k],
                                                                    sums: sums + k * 2 * D)
            }
        }
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
        mixUp(model, targets: [Int](repeating: target, count: model.mixtures.count))
    }

    /// Splits components until state s has `targets[s]` (never fewer than it has).
    public func mixUp(_ model: GMMHMM, targets: [Int]) {
        var mixtures = model.mixtures
        for s in mixtures.indices {
            while mixtures[s].componentCount < targets[s] { mixtures[s].splitHeaviestComponent() }
        }
        model.setMixtures(mixtures)
    }

    /// Gaussians per state for a model of `total`, as Kaldi's `GetSplitTargets` shares them:
    /// proportional to occupancy^0.2 (a state with 32 times the frames gets twice the
    /// Gaussians), never fewer than a state has (`current`), never so many that a Gaussian has
    /// fewer than `minimumCount` frames, and at least one.
    public static func splitTargets(occupancies: [Double], total: Int, current: [Int], power: Double = 0.2,
                                    minimumCount: Double = 20) -> [Int] {
        let weights = occupancies.map { Foundation.pow(Swift.max($0, 0), power) }
        let sum = weights.reduce(0, +)
        return occupancies.indices.map { s in
            let share = sum > 0 ? Int((Double(total) * weights[s] / sum).rounded()) : 1
            let affordable = Swift.max(1, Int(occupancies[s] / minimumCount))
            return Swift.max(current[s], Swift.max(1, Swift.min(share, affordable)))
        }
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
        let floor = try globalVariance(data)
        var log = resume?.log ?? []
        try iterate(model, EStepCorpus(data), varianceFloor: floor, log: &log, onIteration: onIteration)
        return (model, log)
    }

    /// Baum-Welch (or Viterbi) iterations after the ones in `log`, up to `options.iterations`,
    /// mixing up after each; triphone models take their transcripts' graphs from `triphoneGraphs`.
    /// `prepare` may give new features (and their variance floor) before an iteration.
    func iterate(_ model: GMMHMM, _ corpus: EStepCorpus, triphoneGraphs: [TranscriptFst?]? = nil, varianceFloor floor: [Double],
                 log: inout [GMMHMMIterationLog], prepare: (Int) throws -> (corpus: EStepCorpus, varianceFloor: [Double])? = { _ in nil },
                 onIteration: (GMMHMMIterationLog, GMMHMM) throws -> Void) throws {
        guard log.count < options.iterations else { return }
        var (corpus, floor) = (corpus, floor)
        for iteration in (log.count + 1)...options.iterations {
            let started = Date()
            if let prepared = try prepare(iteration) { (corpus, floor) = prepared }
            let statistics = try accumulate(model, corpus, triphoneGraphs: triphoneGraphs)
            guard statistics.utterances > 0 else {
                throw ModelError("iteration \(iteration): no utterance could be aligned (\(statistics.skipped.first.map { "\($0.key): \($0.value)" } ?? ""))")
            }
            update(model, from: statistics, varianceFloor: floor)
            let entry = GMMHMMIterationLog(iteration: iteration, logLikelihoodPerFrame: statistics.logLikelihood / Double(max(statistics.frames, 1)),
                                           gaussians: model.gaussianCount, seconds: Date().timeIntervalSince(started),
                                           utterances: statistics.utterances, skipped: statistics.skipped.count,
                                           skippedUtterances: statistics.skipped.isEmpty ? nil : statistics.skipped)
            log.append(entry)
            if iteration < options.iterations {
                if let total = options.totalGaussianTarget(after: iteration, states: model.mixtures.count) {
                    let occupancies = statistics.mixtures.map(\.totalOccupancy)
                    mixUp(model, targets: Self.splitTargets(occupancies: occupancies, total: total, current: model.mixtures.map(\.componentCount)))
                } else {
                    mixUp(model, to: options.gaussianTarget(after: iteration))
                }
            }
            try onIteration(entry, model)
        }
    }

    /// With a lexicon, every transcript word must be in it; the error names the word and utterance.
    public func checkLexicon(_ data: [TrainingUtterance], lexicon: Lexicon) throws {
        guard !lexicon.isEmpty else { return }
        for u in data {
            if let missing = u.words.first(where: { !lexicon.contains($0) }) {
                throw ModelError("utterance '\(u.id)': word '\(missing)' is not in the lexicon")
            }
        }
    }

    /// Per-dimension variance of all frames of every rank (the variance floor's reference).
    public func globalVariance(_ data: [TrainingUtterance]) throws -> [Double] {
        try globalMoments(data).variance
    }

    /// Per-dimension mean and variance (at least 10⁻⁶) of all frames of every rank.
    func globalMoments(_ data: [TrainingUtterance]) throws -> (mean: [Double], variance: [Double]) {
        // Ranks without data still join the sums: the dimension comes from the ranks that have it.
        var dimension: [Int64] = [Int64(data.first?.features.dimension ?? 0)]
        try communicator.maximum(&dimension)
        let D = Int(dimension[0])
        guard D > 0 else { return ([], []) }
        let totals = try exactTotals(count: 2 * D + 1, over: data) { partial, i in
            let u = data[i]
            u.features.values.withUnsafeBufferPointer { x in
                for t in 0..<u.features.frames {
                    for d in 0..<D {
                        let v = Double(x[t * D + d])
                        partial[d] += v
                        partial[D + d] += v * v
                    }
                }
            }
            partial[2 * D] += Double(u.features.frames)
        }
        let n = max(totals[2 * D], 1)
        let mean = (0..<D).map { totals[$0] / n }
        return (mean, (0..<D).map { max(totals[D + $0] / n - mean[$0] * mean[$0], 1e-6) })
    }
}

/// A transcript's graph with its pdfs renumbered, and a likelihood computer for just those.
struct TranscriptGraph: Sendable {
    var graph: DecodingGraph
    /// The model's pdf of each local pdf.
    var pdfs: [Int]
    var likelihoods: GMMLikelihoods
}

/// Buffers one E-step worker reuses from chunk to chunk, and the steps of a chunk's E-step
/// that work on them. Rows are the chunk's frames (F of them), S its graph's pdfs, K their
/// Gaussians.
struct EStepWorkspace {
    /// Component values, then their shares e^(value − top) `[F, K]`.
    var shares: [Float] = []
    /// Each mixture's largest component value and its sum of shares `[F, S]`.
    var top: [Float] = []
    var mixtureSums: [Float] = []
    /// Scaled emission probabilities `[F, S]` and each frame's scale (log) `[F]`.
    let emission = ScratchBuffer<Float>(), frameOffsets = ScratchBuffer<Double>()
    /// Each Gaussian's occupancy `[K]` and its sums of x and x² `[K, 2D]` over the chunk.
    let occupancy = ScratchBuffer<Double>(), sums = ScratchBuffer<Float>()
    let forwardBackward = ForwardBackward.Workspace()

    /// Zeroed occupancies and sums, and the chunk's scaled emissions from its mixture shares:
    /// e^(log p_s − m_t), m_t each frame's largest component value (one vectorized exp).
    func prepareChunk(frames F: Int, pdfs S: Int, components K: Int, dimension D: Int) {
        occupancy.zeroed(K)
        sums.zeroed(K * 2 * D)
        let e = emission.reserve(F * S), offsets = frameOffsets.reserve(F)
        top.withUnsafeBufferPointer { top in
            for t in 0..<F {
                var m = -Float.infinity
                for s in 0..<S { m = Swift.max(m, top[t * S + s]) }
                offsets[t] = Double(m)
                for s in 0..<S { e[t * S + s] = top[t * S + s] - m }
            }
        }
        Float.exp(e, count: F * S)
        mixtureSums.withUnsafeBufferPointer { sums in
            for i in 0..<(F * S) { e[i] *= sums[i] }
        }
    }

    /// Soft alignment of the chunk's `frames` (forward-backward); without a beam when the beam
    /// pruned every path that ends in time (short utterances); and when even that loses every
    /// path (a state the transcript forces was more than 87 nats below the frame's best, where
    /// Float's exp gives 0), with every emission at least Float's smallest normal value.
    func occupancy(_ graph: DecodingGraph, frames: Range<Int>, pdfCount S: Int, beam: Float) -> StateOccupancy? {
        let e = UnsafeBufferPointer(start: emission.base + frames.lowerBound * S, count: frames.count * S)
        let o = UnsafeBufferPointer(start: frameOffsets.base + frames.lowerBound, count: frames.count)
        if let found = ForwardBackward.occupancy(graph, emissions: e, offsets: o, frames: frames.count, pdfCount: S, beam: beam,
                                                 workspace: forwardBackward)
            ?? ForwardBackward.occupancy(graph, emissions: e, offsets: o, frames: frames.count, pdfCount: S, beam: .infinity,
                                         workspace: forwardBackward) {
            return found
        }
        let floored = e.map { Swift.max($0, Float.leastNormalMagnitude) }
        return floored.withUnsafeBufferPointer {
            ForwardBackward.occupancy(graph, emissions: $0, offsets: o, frames: frames.count, pdfCount: S, beam: .infinity,
                                      workspace: forwardBackward)
        }
    }

    /// Hard alignment (Viterbi training): the best path's states with posterior 1 and its
    /// transitions counted once each.
    func bestPath(_ graph: DecodingGraph, frames: Range<Int>, pdfCount S: Int, beam: Float) -> StateOccupancy? {
        let T = frames.count
        let ll = (frames.lowerBound * S..<frames.upperBound * S).map { top[$0] + Foundation.log(mixtureSums[$0]) }
        guard let path = Viterbi.search(graph, logLikelihoods: ll, frames: T, pdfCount: S, options: SearchOptions(beam: beam))
            ?? Viterbi.search(graph, logLikelihoods: ll, frames: T, pdfCount: S, options: SearchOptions(beam: .infinity)) else { return nil }
        let posteriors = path.states.enumerated().map { (frame: Int32($0.offset), pdf: graph.pdf[Int($0.element)], weight: Float(1)) }
        var transitionCounts: [(transition: Int32, count: Double)] = []
        for t in 1..<max(T, 1) {
            let i = Int(path.states[t - 1]), j = path.states[t]
            if let arc = (Int(graph.arcStart[i])..<Int(graph.arcStart[i + 1])).first(where: { graph.arcTo[$0] == j }) {
                transitionCounts.append((graph.arcTransition[arc], 1))
            }
        }
        if let last = path.states.last, graph.finalTransition[Int(last)] >= 0 { transitionCounts.append((graph.finalTransition[Int(last)], 1)) }
        return StateOccupancy(logLikelihood: Double(path.score), posteriors: posteriors, transitionCounts: transitionCounts)
    }

    /// Each nonzero component posterior γ = state posterior × share adds γ·[x, x²] to its
    /// component's sums: Γ is sparse (a frame's mass sits on one or two pdfs), so a short vector
    /// loop per entry, rather than a dense Γᵀ·[X, X²] GEMM that would mostly multiply zeros.
    func addComponentSums(_ posteriors: [(frame: Int32, pdf: Int32, weight: Float)], firstFrame: Int, expanded: [Float],
                          componentOffsets offsets: [Int], pdfCount S: Int, dimension D: Int) {
        let K = offsets.last!, occupancy = occupancy.base, sums = sums.base
        shares.withUnsafeBufferPointer { shares in
        mixtureSums.withUnsafeBufferPointer { mixtureSums in
        expanded.withUnsafeBufferPointer { x in
        offsets.withUnsafeBufferPointer { offsets in
            for (t, s, weight) in posteriors {
                let row = firstFrame + Int(t), s = Int(s)
                let frame = x.baseAddress! + row * 2 * D, scale = weight / mixtureSums[row * S + s]
                for k in offsets[s]..<offsets[s + 1] {
                    let value = shares[row * K + k] * scale
                    occupancy[k] += Double(value)
                    let sum = sums + k * 2 * D
                    for d in 0..<(2 * D) { sum[d] += value * frame[d] }
                }
            }
        }}}}
    }
}
