import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

extension GaussianAccumulator {
    /// The maximum-likelihood Gaussian of the frames, variances floored at `varianceFloor`
    /// (no frames: mean 0 at the floor).
    func gaussian(varianceFloor floor: [Double]) -> DiagonalGMM {
        let mean = sum.map { $0 / Swift.max(count, 1) }
        let variance = (0..<mean.count).map { Swift.max(sumSquares[$0] / Swift.max(count, 1) - mean[$0] * mean[$0], floor[$0]) }
        return DiagonalGMM(mean: mean, variance: variance)
    }
}

/// What a triphone stage needs besides the Baum-Welch options (Kaldi's `train_deltas.sh`).
public struct TriphoneOptions: Codable, Sendable, Equatable {
    /// Most leaves of the trees (tied states, pdfs).
    public var leaves = 500
    /// Fewest frames a leaf may have.
    public var minimumCount = 100.0
    /// Smallest log-likelihood gain of a split (Kaldi's `build-tree --thresh`); 0: grow to `leaves`.
    public var minimumGain = 0.0
    public init() {}
}

extension GMMHMMTrainer {
    /// Tied triphones from `source` (a model of the same units: the monophones, or triphones for
    /// a second pass on their own alignments, as Kaldi's tri2): the triphone statistics of its alignments, questions clustered from them, the trees grown to
    /// `triphones.leaves`, one Gaussian per leaf from its frames, then Baum-Welch over triphone
    /// transcript graphs (OpenFst) with mixing up, as `train` does for monophones. Silence stays
    /// context-independent. `progress` hears each stage. `data` holds the source's features
    /// unadapted: a speaker-adaptive source aligns them with its alignment mixtures
    /// (``GMMHMM/firstPassModel``), and the triphones it gives are not speaker-adaptive.
    public func trainTriphones(from source: GMMHMM, _ data: [TrainingUtterance], triphones: TriphoneOptions,
                               progress: (String) -> Void = { _ in },
                               onIteration: (GMMHMMIterationLog, GMMHMM) throws -> Void = { _, _ in }) throws -> (model: GMMHMM, log: [GMMHMMIterationLog]) {
        try checkLexicon(data, lexicon: source.lexicon)
        progress("aligning the training data and gathering triphone statistics")
        var statistics = try TriphoneStatistics.accumulate(source.firstPassModel, data, jobs: jobs, communicator: communicator)
        guard !statistics.isEmpty else { throw ModelError("the source model aligned no training utterance") }
        // Silence does not depend on its neighbours: its contexts are pooled (in a fixed order,
        // as every sum over the dictionary below: its own order differs from process to process).
        if let silence = source.silence {
            for key in statistics.keys.sorted() where key.center == silence && (key.left != silence || key.right != silence) {
                let a = statistics.removeValue(forKey: key)!
                statistics[TriphoneState(left: silence, center: silence, right: silence, state: key.state), default: GaussianAccumulator(dimension: source.dimension)].add(a)
            }
        }
        let global = try globalVariance(data)
        let floor = global.map { $0 * 0.01 }
        let questions = TriphoneStatistics.questions(statistics, units: source.transitions.units, silence: source.silence, varianceFloor: floor)
        progress("growing the trees (\(statistics.count) triphone states seen, \(questions.count) questions)")
        let tree = ContextTree.build(statistics: statistics, questions: questions, varianceFloor: floor, maximumLeaves: triphones.leaves,
                                     minimumGain: triphones.minimumGain, minimumCount: triphones.minimumCount)
        // One Gaussian per leaf, from the frames of its triphone states.
        var pooled = [GaussianAccumulator](repeating: GaussianAccumulator(dimension: source.dimension), count: tree.leafCount)
        for key in statistics.keys.sorted() { pooled[tree.pdf(key)!].add(statistics[key]!) }
        let mixtures = pooled.map { $0.gaussian(varianceFloor: floor) }
        let model = GMMHMM(transitions: source.transitions, mixtures: mixtures, lexicon: source.lexicon, vocabulary: source.vocabulary,
                           features: source.features, tree: tree)
        progress("\(tree.leafCount) tied states; building the triphone graphs of the transcripts")
        let corpus = EStepCorpus(data)
        let lexicon = source.lexicon, transitions = source.transitions
        let graphs = parallelMap(corpus.transcripts.count, workers: jobs) { k in
            try? transitions.triphoneTranscript(corpus.transcripts[k], lexicon: lexicon, tree: tree)
        }
        var log: [GMMHMMIterationLog] = []
        try iterate(model, corpus, triphoneGraphs: graphs, varianceFloor: global, log: &log, onIteration: onIteration)
        return (model, log)
    }
}
