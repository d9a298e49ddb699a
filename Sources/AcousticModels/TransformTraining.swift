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
        var lda = LDAStatistics(dimension: S, classes: source.pdfCount)
        for (u, pdfs) in zip(spliced, sourceAlignments) {
            guard let pdfs else { continue }
            for (t, pdf) in pdfs.enumerated() where !silence.contains(Int(pdf)) {
                lda.accumulate(u.values[(t * S)..<((t + 1) * S)], class: Int(pdf))
            }
        }
        let k = min(transforms.dimension, S)
        let projection: [Double]
        do { projection = try lda.transform(to: k) } catch { throw ModelError("LDA: \(error)") }
        var config = baseConfig
        config.transform = SpliceTransform(context: context, inputDimension: baseConfig.untransformedDimension, outputDimension: k,
                                           matrix: projection.map(Float.init))
        var features = spliced.map { project($0, matrix: projection, rows: k) }
        progress(String(format: "LDA: %d spliced dimensions → %d; one Gaussian per state from the source's alignments", S, k))

        // One Gaussian per pdf from its aligned frames.
        var pooled = [GaussianAccumulator](repeating: GaussianAccumulator(dimension: k), count: source.pdfCount)
        for (f, pdfs) in zip(features, sourceAlignments) {
            guard let pdfs else { continue }
            f.values.withUnsafeBufferPointer { x in
                for (t, pdf) in pdfs.enumerated() { pooled[Int(pdf)].add(x.baseAddress! + t * k) }
            }
        }
        var trainingData = zip(baseData, features).map { TrainingUtterance(id: $0.id, features: $1, words: $0.words) }
        let global = globalVariance(trainingData)
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
                TrainingUtterance(id: pair.0.id, features: speakerTransforms[speakers[i]].map { $0.apply(pair.1) } ?? pair.1, words: pair.0.words)
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
                let kinds = Dictionary(grouping: estimates, by: \.transform.kind).mapValues(\.count)
                progress("before iteration \(iterationOffset + iteration): fMLLR for \(estimates.count) speakers ("
                    + FMLLRTransform.Kind.allCases.compactMap { kind in kinds[kind].map { "\($0) \(kind.rawValue)" } }.joined(separator: ", ") + ")")
                changed = true
            }
            guard changed else { return nil }
            trainingData = transforms.fmllrIterations.contains(iteration) ? adapted() : current
            return (EStepCorpus(trainingData), self.globalVariance(trainingData))
        }, onIteration: onIteration)
        if transforms.speakerAdaptive {
            progress("alignment mixtures: statistics of the last posteriors on unadapted features")
            let unadapted = zip(baseData, features).map { TrainingUtterance(id: $0.id, features: $1, words: $0.words) }
            let statistics = accumulate(model, EStepCorpus(adapted()), triphoneGraphs: graphs.triphoneGraphs, statisticsFrom: EStepCorpus(unadapted))
            var alignment = model.mixtures
            let unadaptedFloor = globalVariance(unadapted)
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
        let offsets = componentOffsets
        let partial = parallelMap(jobs, workers: jobs) { w -> MLLTStatistics in
            // Each Gaussian's occupancy and scatter Σ γ (x − μ)(x − μ)ᵀ, `[Gaussians, D, D]`.
            let K = offsets.last!
            var occupancy = [Double](repeating: 0, count: K), scatter = [Double](repeating: 0, count: K * D * D)
            var centred = [Double](repeating: 0, count: D), x = centred
            var posteriors: [Double] = []
            occupancy.withUnsafeMutableBufferPointer { occupancy in
            scatter.withUnsafeMutableBufferPointer { scatter in
                for i in stride(from: w, to: data.count, by: self.jobs) {
                    guard let pdfs = alignments[i] else { continue }
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
                                occupancy[key] += gamma
                                let base = scatter.baseAddress! + key * D * D
                                for r in 0..<D {
                                    let scaled = gamma * centred[r]
                                    for c in 0...r { base[r * D + c] += scaled * centred[c] }
                                }
                            }
                        }
                    }
                }
            }}
            var statistics = MLLTStatistics(dimension: D)
            var full = [Double](repeating: 0, count: D * D)
            for (pdf, gmm) in model.mixtures.enumerated() {
                for m in 0..<gmm.componentCount where occupancy[offsets[pdf] + m] > 0 {
                    let key = offsets[pdf] + m
                    for r in 0..<D {
                        for c in 0...r { (full[r * D + c], full[c * D + r]) = (scatter[key * D * D + r * D + c], scatter[key * D * D + r * D + c]) }
                    }
                    statistics.add(scatter: full, occupancy: occupancy[key], variances: gmm.variances[(m * D)..<((m + 1) * D)])
                }
            }
            return statistics
        }
        var total = MLLTStatistics(dimension: D)
        for p in partial { total.add(p) }
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
