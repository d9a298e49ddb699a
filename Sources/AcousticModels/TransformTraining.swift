import DecodingGraphs
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase
import TensorCore

/// The second stage of GMM-HMM training, after a model on Δ+ΔΔ features: spliced frames
/// projected by LDA and MLLT (Kaldi's `tri2b`), and speaker-adaptive training with a fMLLR
/// transform per training speaker (Kaldi's `tri3b`).
public struct FeatureTransformOptions: Codable, Sendable, Equatable {
    /// Frames spliced on each side before the LDA.
    public var spliceContext = 3
    /// Dimensions the LDA keeps (fewer when the spliced frames have fewer).
    public var dimension = 40
    /// Iterations (of this stage) before which MLLT is re-estimated (Kaldi's `mllt_iters`,
    /// 2, 4, 6, 12 of 35).
    public var mlltIterations: [Int] = [2, 4, 6, 12]
    /// Speaker-adaptive training: per-speaker fMLLR transforms estimated before these
    /// iterations (empty: no SAT, a speaker-independent LDA+MLLT model).
    public var fmllrIterations: [Int] = [14, 16, 18, 20]
    public var fmllr = FMLLROptions()

    public init() {}

    public var speakerAdaptive: Bool { !fmllrIterations.isEmpty }

    /// The schedule (given for 25 iterations) stretched or squeezed to `iterations`; a
    /// schedule that is not empty keeps at least its first step.
    public func scheduled(for iterations: Int) -> FeatureTransformOptions {
        func scale(_ steps: [Int]) -> [Int] {
            guard !steps.isEmpty else { return [] }
            let scaled = steps.map { min(iterations, max(1, Int((Double($0) * Double(iterations) / 25).rounded()))) }
            return Array(Set(scaled)).sorted()
        }
        var options = self
        options.mlltIterations = scale(mlltIterations)
        options.fmllrIterations = scale(fmllrIterations)
        return options
    }
}

extension GMMHMMTrainer {
    /// LDA+MLLT (and with `transforms.fmllrIterations`, SAT) from `source`, a model of the
    /// same HMMs on `sourceData`'s features: the source's alignments give LDA's classes (silence
    /// left out, as Kaldi's `acc-lda` after `weight-silence-post 0`) on `baseData` (the same
    /// utterances' features without deltas, spliced ±context); one Gaussian per pdf from its
    /// aligned frames; then `options.iterations` of Baum-Welch with mixing up, MLLT re-estimated
    /// (its rotation folded into the feature transform and the means) and each speaker's fMLLR
    /// re-estimated before the chosen iterations. A speaker-adaptive model also gets its
    /// alignment mixtures: the last posteriors' statistics on unadapted features.
    /// `speakers[i]` is utterance i's speaker; `iterationOffset` numbers the progress messages'
    /// iterations after a first stage's.
    public func trainWithTransforms(from source: GMMHMM, sourceData: [TrainingUtterance], baseData: [TrainingUtterance], speakers: [String],
                                    baseConfig: FeatureConfig, transforms: FeatureTransformOptions, iterationOffset: Int = 0,
                                    progress: (String) -> Void = { _ in },
                                    onIteration: (GMMHMMIterationLog, GMMHMM) throws -> Void = { _, _ in }) throws -> (model: GMMHMM, log: [GMMHMMIterationLog]) {
        precondition(sourceData.count == baseData.count && baseData.count == speakers.count, "trainWithTransforms: data of different lengths")
        try checkLexicon(baseData, lexicon: source.lexicon)
        let graphs = try TranscriptAligner(model: source, data: baseData, jobs: jobs)
        progress("aligning with the source model for LDA")
        let sourceAlignments = graphs.align(source, sourceData)
        let silence = source.silencePDFs
        // LDA on spliced frames, classes the aligned pdfs.
        let context = transforms.spliceContext
        let spliced = baseData.map { SpliceTransform.splice($0.features, context: context) }
        let S = spliced.first?.dimension ?? 0
        // Over every rank's data: each shard's statistics enter exact sums.
        let classes = source.pdfCount
        let ldaTotals = try exactTotals(count: classes + classes * S + S * S, over: baseData,
                                        partial: { LDAStatistics(dimension: S, classes: classes) }, add: { lda, i in
            guard let pdfs = sourceAlignments[i] else { return }
            for (t, pdf) in pdfs.enumerated() where !silence.contains(Int(pdf)) {
                lda.accumulate(spliced[i].values[(t * S)..<((t + 1) * S)], class: Int(pdf))
            }
        }, flatten: { $0.counts + $0.sums + $0.scatter })
        let lda = LDAStatistics(dimension: S, counts: Array(ldaTotals[..<classes]), sums: Array(ldaTotals[classes..<(classes + classes * S)]),
                                scatter: Array(ldaTotals[(classes + classes * S)...]))
        let k = min(transforms.dimension, S)
        let projection: [Double]
        do { projection = try lda.transform(to: k) } catch { throw ModelError("LDA: \(error)") }
        var config = baseConfig
        config.transform = SpliceTransform(context: context, inputDimension: baseConfig.untransformedDimension, outputDimension: k,
                                           matrix: projection.map(Float.init))
        var features = spliced.map { project($0, matrix: projection, rows: k) }
        progress(String(format: "LDA: %d spliced dimensions → %d; one Gaussian per state from the source's alignments", S, k))

        // One Gaussian per pdf from its aligned frames (of every rank).
        let projected = features
        let pooledTotals = try exactTotals(count: classes * (1 + 2 * k), over: baseData,
                                           partial: { [GaussianAccumulator](repeating: GaussianAccumulator(dimension: k), count: classes) }, add: { pooled, i in
            guard let pdfs = sourceAlignments[i] else { return }
            projected[i].values.withUnsafeBufferPointer { x in
                for (t, pdf) in pdfs.enumerated() { pooled[Int(pdf)].add(x.baseAddress! + t * k) }
            }
        }, flatten: { $0.flatMap { [$0.count] + $0.sum + $0.sumSquares } })
        let pooled = (0..<classes).map { c in
            let start = c * (1 + 2 * k)
            var a = GaussianAccumulator(dimension: k)
            a.count = pooledTotals[start]
            a.sum = Array(pooledTotals[(start + 1)..<(start + 1 + k)])
            a.sumSquares = Array(pooledTotals[(start + 1 + k)..<(start + 1 + 2 * k)])
            return a
        }
        var trainingData = zip(baseData, features).map { TrainingUtterance(id: $0.id, features: $1, words: $0.words, shard: $0.shard) }
        let global = try globalVariance(trainingData)
        let floor = global.map { $0 * 0.01 }
        let mixtures = pooled.map { a in
            a.count > 0 ? a.gaussian(varianceFloor: floor) : DiagonalGMM(mean: [Double](repeating: 0, count: k), variance: global)
        }
        let model = GMMHMM(transitions: source.transitions, mixtures: mixtures, lexicon: source.lexicon, vocabulary: source.vocabulary,
                           features: config, tree: source.tree)
        var matrix = projection
        var speakerTransforms: [String: FMLLRTransform] = [:]
        let groups = TwoPassAdaptation.groups(speakers)
        func adapted() -> [TrainingUtterance] {
            zip(baseData, features).enumerated().map { i, pair in
                TrainingUtterance(id: pair.0.id, features: speakerTransforms[speakers[i]].map { $0.apply(pair.1) } ?? pair.1, words: pair.0.words,
                                  shard: pair.0.shard)
            }
        }
        var log: [GMMHMMIterationLog] = []
        try iterate(model, EStepCorpus(trainingData), triphoneGraphs: graphs.triphoneGraphs, varianceFloor: global, log: &log, prepare: { iteration in
            var changed = false
            var current = trainingData
            if transforms.mlltIterations.contains(iteration) {
                let alignments = graphs.align(model, current)
                let A = try self.estimateMLLT(model, current, alignments, silence: silence)
                features = features.map { project($0, matrix: A, rows: k) }
                matrix = multiply(A, matrix, rows: k, inner: k, columns: S)
                model.setMixtures(model.mixtures.map { $0.transformingMeans(A) })
                // Speaker transforms live in the old space: estimated afresh at their next iteration.
                speakerTransforms = [:]
                var newConfig = model.features
                newConfig.transform?.matrix = matrix.map(Float.init)
                model.features = newConfig
                changed = true
                current = adapted()
                progress("before iteration \(iterationOffset + iteration): MLLT re-estimated")
            }
            if transforms.fmllrIterations.contains(iteration) {
                let alignments = graphs.align(model, current)
                let unadapted = features
                let estimates = parallelMap(groups.count, workers: self.jobs) { g -> SpeakerTransform in
                    let members = groups[g].members.compactMap { i in alignments[i].map { (features: unadapted[i], pdfs: $0) } }
                    return model.estimateFMLLR(speaker: groups[g].speaker, members, options: transforms.fmllr)
                }
                for e in estimates { speakerTransforms[e.speaker] = e.transform }
                // Speakers are whole on a rank (its shards): the count is over every rank.
                var kinds = FMLLRTransform.Kind.allCases.map { kind in Int64(estimates.filter { $0.transform.kind == kind }.count) }
                try self.communicator.sum(&kinds)
                progress("before iteration \(iterationOffset + iteration): fMLLR for \(kinds.reduce(0, +)) speakers ("
                    + zip(FMLLRTransform.Kind.allCases, kinds).compactMap { kind, n in n > 0 ? "\(n) \(kind.rawValue)" : nil }.joined(separator: ", ") + ")")
                changed = true
            }
            guard changed else { return nil }
            trainingData = transforms.fmllrIterations.contains(iteration) ? adapted() : current
            return (EStepCorpus(trainingData), try self.globalVariance(trainingData))
        }, onIteration: onIteration)
        if transforms.speakerAdaptive {
            progress("alignment mixtures: statistics of the last posteriors on unadapted features")
            let unadapted = zip(baseData, features).map { TrainingUtterance(id: $0.id, features: $1, words: $0.words, shard: $0.shard) }
            let statistics = try accumulate(model, EStepCorpus(adapted()), triphoneGraphs: graphs.triphoneGraphs, statisticsFrom: EStepCorpus(unadapted))
            var alignment = model.mixtures
            let unadaptedFloor = try globalVariance(unadapted)
            for s in alignment.indices { alignment[s].update(from: statistics.mixtures[s], varianceFloor: unadaptedFloor, options: options.update) }
            model.alignmentMixtures = alignment
            model.speakerAdaptation = transforms.fmllr
        }
        return (model, log)
    }

    /// MLLT from the Gaussians' full scatter around their means, each frame shared among its
    /// aligned pdf's Gaussians by posterior (silence left out): the square transform A.
    func estimateMLLT(_ model: GMMHMM, _ data: [TrainingUtterance], _ alignments: [[Int32]?], silence: Set<Int>) throws -> [Double] {
        let D = model.dimension
        var componentOffsets = [0]
        for gmm in model.mixtures { componentOffsets.append(componentOffsets.last! + gmm.componentCount) }
        let offsets = componentOffsets, K = componentOffsets.last!
        // Each Gaussian's occupancy and scatter Σ γ (x − μ)(x − μ)ᵀ (lower triangle),
        // `[K | K, D, D]`, over every rank's frames (exact sums of each shard's).
        let totals = try exactTotals(count: K + K * D * D, over: data) { partial, i in
            guard let pdfs = alignments[i] else { return }
            var centred = [Double](repeating: 0, count: D), x = centred
            var posteriors: [Double] = []
            partial.withUnsafeMutableBufferPointer { partial in
                data[i].features.values.withUnsafeBufferPointer { f in
                    for (t, p) in pdfs.enumerated() where !silence.contains(Int(p)) {
                        let pdf = Int(p), gmm = model.mixtures[pdf]
                        for d in 0..<D { x[d] = Double(f[t * D + d]) }
                        gmm.componentPosteriors(x, into: &posteriors)
                        for m in 0..<gmm.componentCount {
                            let gamma = posteriors[m]
                            guard gamma > 1e-3 else { continue }
                            let key = offsets[pdf] + m
                            for d in 0..<D { centred[d] = x[d] - gmm.means[m * D + d] }
                            partial[key] += gamma
                            let base = partial.baseAddress! + K + key * D * D
                            for r in 0..<D {
                                let scaled = gamma * centred[r]
                                for c in 0...r { base[r * D + c] += scaled * centred[c] }
                            }
                        }
                    }
                }
            }
        }
        var total = MLLTStatistics(dimension: D)
        var full = [Double](repeating: 0, count: D * D)
        for (pdf, gmm) in model.mixtures.enumerated() {
            for m in 0..<gmm.componentCount where totals[offsets[pdf] + m] > 0 {
                let key = offsets[pdf] + m, base = K + key * D * D
                for r in 0..<D {
                    for c in 0...r { (full[r * D + c], full[c * D + r]) = (totals[base + r * D + c], totals[base + r * D + c]) }
                }
                total.add(scatter: full, occupancy: totals[key], variances: gmm.variances[(m * D)..<((m + 1) * D)])
            }
        }
        do { return try total.estimate() } catch { throw ModelError("MLLT: \(error)") }
    }
}

/// Forced alignment of a training corpus against its transcripts, the graphs built once per
/// distinct transcript (a triphone model's by OpenFst) and given the model's transition
/// probabilities at each call.
struct TranscriptAligner {
    let transcripts: [[String]]
    /// Each utterance's transcript index.
    let index: [Int]
    /// Triphone models: each transcript's topology (nil when it cannot be built).
    let triphoneGraphs: [TranscriptFst?]?
    let jobs: Int

    init(model: GMMHMM, data: [TrainingUtterance], jobs: Int) throws {
        var lookup: [[String]: Int] = [:], transcripts: [[String]] = []
        index = data.map { u in
            if let k = lookup[u.words] { return k }
            lookup[u.words] = transcripts.count
            transcripts.append(u.words)
            return transcripts.count - 1
        }
        self.transcripts = transcripts
        self.jobs = jobs
        let all = transcripts
        triphoneGraphs = model.tree.map { tree in
            parallelMap(all.count, workers: jobs) { k in try? model.transitions.triphoneTranscript(all[k], lexicon: model.lexicon, tree: tree) }
        }
    }

    /// Each utterance's pdf per frame on the best path of its transcript (nil when it has none).
    func align(_ model: GMMHMM, _ data: [TrainingUtterance]) -> [[Int32]?] {
        let graphs: [DecodingGraph?] = transcripts.indices.map { k in
            if let triphoneGraphs { return triphoneGraphs[k]?.decodingGraph(model.transitions) }
            guard !transcripts[k].isEmpty else { return nil }
            return try? model.transitions.transcriptGraph(transcripts[k], lexicon: model.lexicon, tree: nil)
        }
        let index = self.index
        return parallelMap(data.count, workers: jobs) { i -> [Int32]? in
            guard let graph = graphs[index[i]] else { return nil }
            let f = data[i].features
            let ll = model.logLikelihoods(frames: f.values, count: f.frames)
            let path = Viterbi.search(graph, logLikelihoods: ll, frames: f.frames, pdfCount: model.pdfCount, options: SearchOptions(beam: 300))
                ?? Viterbi.search(graph, logLikelihoods: ll, frames: f.frames, pdfCount: model.pdfCount, options: SearchOptions(beam: .infinity))
            return path.map { $0.states.map { graph.pdf[Int($0)] } }
        }
    }
}

/// Each frame of `features` multiplied by `matrix` (`[rows, features.dimension]`): one GEMM.
func project(_ features: FeatureMatrix, matrix: [Double], rows: Int) -> FeatureMatrix {
    let D = features.dimension, T = features.frames
    var out = [Float](repeating: 0, count: T * rows)
    guard T > 0 else { return FeatureMatrix(frames: 0, dimension: rows, values: []) }
    let m = matrix.map(Float.init)
    features.values.withUnsafeBufferPointer { x in
        m.withUnsafeBufferPointer { m in
            out.withUnsafeMutableBufferPointer { y in
                Float.gemm(transposeA: false, transposeB: true, m: T, n: rows, k: D, alpha: 1, a: x.baseAddress!, lda: D,
                           b: m.baseAddress!, ldb: D, beta: 0, c: y.baseAddress!, ldc: rows)
            }
        }
    }
    return FeatureMatrix(frames: T, dimension: rows, values: out)
}

/// A `[rows, inner]` times B `[inner, columns]`.
func multiply(_ A: [Double], _ B: [Double], rows: Int, inner: Int, columns: Int) -> [Double] {
    var C = [Double](repeating: 0, count: rows * columns)
    for i in 0..<rows { for k in 0..<inner where A[i * inner + k] != 0 { for j in 0..<columns { C[i * columns + j] += A[i * inner + k] * B[k * columns + j] } } }
    return C
}
