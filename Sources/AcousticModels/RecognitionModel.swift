import Evaluation
import FeatureExtraction
import Foundation
import HiddenMarkov
import NeuralNet

/// What a model says about itself in a report. Each family fills it in
/// (``GMMHMM/summary(at:)``, ``HybridModel/summary(at:)``, ``UtteranceClassifier/summary(at:)``),
/// so that reports read descriptions, never family names.
public struct ModelSummary: Sendable {
    public var kind: ModelKind
    /// The architecture in a few words, e.g. `hybrid LSTM 2×128 bidirectional, 105 states`.
    public var architecture: String
    public var parameters: Int
    /// `model.json`'s training time, else the sum of the training log's entries.
    public var trainingSeconds: Double?
    /// Curves from the training log.
    public var curves: [TrainingCurve]
    /// What a report should say about models like this one.
    public var notes: [String]
    /// One word per utterance whatever the grammar (a whole-utterance classifier).
    public var outputsOneWordPerUtterance: Bool
}

/// The HMM side of a model that decodes by search: what forced alignment needs too.
public struct HMMSide: Sendable {
    public var transitions: TransitionModel
    public var lexicon: Lexicon
    public var vocabulary: [String]
    public var search: SearchOptions
    public var scorer: any AcousticScorer & Sendable
    /// Triphone models: the tree tying phone states in context to pdfs.
    public var tree: ContextTree? = nil

    /// The pdfs the scorer scores: the tree's leaves, or the transition model's states.
    public var pdfCount: Int { tree?.leafCount ?? transitions.pdfCount }
}

/// A model directory of any family, loaded and ready to recognize utterances: the one loader
/// that `decode`, `compare`, `align`, `posteriors` and `features --like` share.
public struct RecognitionModel: Sendable {
    public enum Engine: Sendable {
        /// Viterbi search of a grammar's graph with an HMM model's scorer.
        case search(Recognizer, any AcousticScorer & Sendable)
        /// One word per utterance from a whole-utterance classifier.
        case classifier(UtteranceClassifier)
    }

    public var features: FeatureConfig
    public var vocabulary: [String]
    public var summary: ModelSummary
    public var engine: Engine
    /// The HMMs, lexicon and scorer (nil for a classifier, which has no HMM).
    public var hmm: HMMSide?
    /// The GMM-HMM that estimates a speaker's fMLLR transform: the model itself, or the one a
    /// hybrid trained on fMLLR-adapted features keeps (nil for other models).
    public var gmm: GMMHMM?
    public var kind: ModelKind { summary.kind }

    /// For a speaker-adaptively trained GMM-HMM, the same HMMs scored by its alignment
    /// mixtures (the model for unadapted features); any other model as it is.
    public var unadapted: RecognitionModel {
        guard kind == .gmmHMM, let gmm, gmm.alignmentMixtures != nil, case .search(let recognizer, _) = engine else { return self }
        var copy = self
        let first = gmm.firstPassModel
        copy.engine = .search(recognizer, first)
        copy.hmm?.scorer = first
        copy.gmm = first
        return copy
    }

    /// Two-pass fMLLR adaptation for this model: for a speaker-adaptively trained GMM-HMM
    /// (unless `enabled` is false), or for any GMM-HMM when `enabled` is true; nil otherwise.
    public func twoPassAdaptation(enabled: Bool?) -> TwoPassAdaptation? {
        guard let gmm, case .search(let recognizer, _) = engine, enabled ?? (gmm.speakerAdaptation != nil), enabled != false else { return nil }
        return TwoPassAdaptation(model: gmm, recognizer: recognizer, options: gmm.speakerAdaptation ?? FMLLROptions())
    }

    /// This model with `gmm` (the same HMMs, other Gaussians: a speaker's MAP-adapted copy) in
    /// place of its GMM-HMM: a GMM-HMM scores with it, a hybrid estimates fMLLR and mixes it in
    /// with it. Mix a hybrid after the replacement (``mixingGMMHMM(weight:adapted:)``).
    public func replacingGMMHMM(_ gmm: GMMHMM) throws -> RecognitionModel {
        guard let old = self.gmm, gmm.pdfCount == old.pdfCount, gmm.dimension == old.dimension else {
            throw ModelError("a GMM-HMM replaces another of the same states and dimension in a model that has one")
        }
        var copy = self
        copy.gmm = gmm
        if kind == .gmmHMM, case .search(let recognizer, _) = engine {
            copy.engine = .search(recognizer, gmm)
            copy.hmm?.scorer = gmm
        }
        return copy
    }

    /// The GMM-HMM's share in a hybrid's scores when the hybrid keeps one (the default of
    /// `decode` and `compare`). Chosen on validation speakers (leave-one-speaker-out on FSDD,
    /// with and without supervised adaptation): 0.4 made the fewest errors of 0 to 0.7.
    public static let defaultGMMWeight: Float = 0.4

    /// Whether this is a hybrid that keeps a GMM-HMM (one trained on its fMLLR features), the
    /// only kind of model ``mixingGMMHMM(weight:adapted:)`` mixes.
    public var keepsGMMHMM: Bool { kind == .hybrid && gmm != nil }

    /// This model's default GMM-HMM weight: ``defaultGMMWeight`` for a hybrid that keeps a
    /// GMM-HMM, 0 (the model's own scores) for any other model.
    public var defaultGMMWeight: Float { keepsGMMHMM ? Self.defaultGMMWeight : 0 }

    /// This hybrid with its scores mixed frame by frame with those of the GMM-HMM it keeps:
    /// (1 − w)·network + w·GMM-HMM (system combination). `adapted`: the frames it will score are
    /// fMLLR-adapted (the GMM-HMM's own mixtures score them), else as they are (its first-pass
    /// mixtures). w = 0 leaves the model as it is; a model without a GMM-HMM refuses w > 0.
    public func mixingGMMHMM(weight: Float, adapted: Bool) throws -> RecognitionModel {
        guard weight > 0 else { return self }
        guard (0...1).contains(weight) else { throw ModelError("the GMM-HMM weight must be in 0...1, not \(weight)") }
        guard kind == .hybrid, let gmm, var side = hmm, case .search(let recognizer, _) = engine else {
            throw ModelError("a GMM-HMM weight combines a hybrid with the GMM-HMM it keeps; this \(kind) model has none")
        }
        let mixed = InterpolatedScorer(side.scorer, adapted ? gmm : gmm.firstPassModel, weight: weight)
        side.scorer = mixed
        var copy = self
        copy.hmm = side
        copy.engine = .search(recognizer, mixed)
        return copy
    }

    /// Opens the model directory at `path`, whatever its family; `adjustSearch` may change an
    /// HMM model's search options (beam, acoustic scale, word penalty).
    public static func open(_ path: String, adjustSearch: (inout SearchOptions) -> Void = { _ in }) throws -> RecognitionModel {
        var side: HMMSide
        var gmm: GMMHMM?
        let summary: ModelSummary, features: FeatureConfig
        switch try ModelDirectory.header(path).kind {
        case .classifier:
            let classifier = try UtteranceClassifier.load(path)
            return RecognitionModel(features: classifier.features, vocabulary: classifier.architecture.words,
                                    summary: try classifier.summary(at: path), engine: .classifier(classifier), hmm: nil)
        case .gmmHMM:
            let (model, search) = try GMMHMM.load(path)
            side = HMMSide(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary, search: search, scorer: model,
                           tree: model.tree)
            (summary, features) = (try model.summary(at: path), model.features)
            gmm = model
        case .hybrid:
            let (model, search) = try HybridModel.load(path)
            side = HMMSide(transitions: try model.hmm.transitionModel(), lexicon: model.hmm.lexicon, vocabulary: model.hmm.vocabulary,
                           search: search, scorer: model, tree: model.hmm.tree)
            (summary, features) = (try model.summary(at: path), model.hmm.features)
            gmm = try GMMHMM.loadEmbedded(path)
            if let gmm, gmm.features != features || gmm.pdfCount != model.hmm.pdfCount {
                throw ModelError("\(path)/\(GMMHMM.embeddedFiles.description): its features or states are not the hybrid's")
            }
        }
        adjustSearch(&side.search)
        let recognizer = try Recognizer(transitions: side.transitions, lexicon: side.lexicon, vocabulary: side.vocabulary, options: side.search,
                                        tree: side.tree)
        return RecognitionModel(features: features, vocabulary: side.vocabulary, summary: summary,
                                engine: .search(recognizer, side.scorer), hmm: side, gmm: gmm)
    }

    /// The words of one utterance scored by `scorer` instead of the model's own (a first pass
    /// with alignment mixtures); a classifier ignores the scorer.
    public func recognize(_ features: FeatureMatrix, grammar: Grammar, scorer: any AcousticScorer & Sendable) -> [TimedWord]? {
        guard case .search(let recognizer, _) = engine else { return recognize(features, grammar: grammar) }
        return recognizer.decode(features, scorer: scorer, grammar: grammar)?.words
    }

    /// The words of one utterance with their frames, or nil when no path of the grammar fits
    /// (a classifier ignores the grammar and names one word for the whole utterance).
    public func recognize(_ features: FeatureMatrix, grammar: Grammar) -> [TimedWord]? {
        switch engine {
        case .search(let recognizer, let scorer):
            return recognizer.decode(features, scorer: scorer, grammar: grammar)?.words
        case .classifier(let classifier):
            return [TimedWord(word: classifier.classify(features).word, start: 0, end: features.frames)]
        }
    }
}

extension GMMHMM {
    /// The GMM-HMM of the directory at `path` in a report: log-likelihood per EM iteration.
    public func summary(at path: String) throws -> ModelSummary {
        let log = try ModelDirectory.trainingLog(path, as: GMMHMMIterationLog.self)
        let curves = log.isEmpty ? [] : [TrainingCurve(title: "log-likelihood per frame", xLabel: "iteration", series: [
            CurveSeries(name: "training data", points: log.map { [Double($0.iteration), $0.logLikelihoodPerFrame] }),
        ])]
        // Weights, means and variances of every Gaussian, and the transition probabilities.
        let states = tree == nil ? "\(pdfCount) states" : "tied triphones, \(pdfCount) states"
        return ModelSummary(kind: .gmmHMM, architecture: "GMM-HMM, \(states), \(gaussianCount) Gaussians",
                            parameters: gaussianCount * (2 * dimension + 1) + transitions.transitionCount,
                            trainingSeconds: ModelDirectory.trainingSeconds(path) ?? log.totalSeconds, curves: curves,
                            notes: [], outputsOneWordPerUtterance: false)
    }
}

extension HybridModel {
    /// The hybrid model of the directory at `path` in a report: losses and frame accuracies per epoch.
    public func summary(at path: String) throws -> ModelSummary {
        let a = architecture
        return try neuralSummary(.hybrid, "hybrid \(a.cell.rawValue.uppercased()) \(a.layers)×\(a.hiddenSize)\(a.bidirectional ? " bidirectional" : ""), \(a.outputs) \(hmm.tree == nil ? "" : "tied ")states",
                                 parameters: network.parameterCount, at: path, accuracy: "frame accuracy",
                                 notes: ["Training time of hybrid models counts the network's training only, not the GMM-HMM that aligned their targets."])
    }
}

extension UtteranceClassifier {
    /// The classifier of the directory at `path` in a report: losses and accuracies per epoch.
    public func summary(at path: String) throws -> ModelSummary {
        let a = architecture
        var summary = try neuralSummary(.classifier, "classifier \(a.cell.rawValue.uppercased()) \(a.layers)×\(a.hiddenSize)\(a.bidirectional ? " bidirectional" : ""), \(a.pooling.rawValue) pooling",
                                        parameters: parameterCount, at: path, accuracy: "accuracy", notes: [])
        summary.outputsOneWordPerUtterance = true
        return summary
    }
}

/// A neural model's summary: its training time and loss and accuracy curves from `training.log`.
func neuralSummary(_ kind: ModelKind, _ architecture: String, parameters: Int, at path: String, accuracy: String,
                   notes: [String]) throws -> ModelSummary {
    let log = try ModelDirectory.trainingLog(path, as: EpochLog.self)
    return ModelSummary(kind: kind, architecture: architecture, parameters: parameters,
                        trainingSeconds: ModelDirectory.trainingSeconds(path) ?? log.totalSeconds,
                        curves: log.curves(accuracy: accuracy), notes: notes, outputsOneWordPerUtterance: false)
}

extension Array where Element == GMMHMMIterationLog {
    /// The iterations' seconds added up, nil for an empty log.
    var totalSeconds: Double? { isEmpty ? nil : reduce(0) { $0 + $1.seconds } }
}

extension Array where Element == EpochLog {
    /// The epochs' seconds added up, nil for an empty log.
    var totalSeconds: Double? { isEmpty ? nil : reduce(0) { $0 + $1.seconds } }

    /// Loss and accuracy curves, training beside validation.
    func curves(accuracy: String) -> [TrainingCurve] {
        guard !isEmpty else { return [] }
        return [
            TrainingCurve(title: "cross-entropy loss", xLabel: "epoch", series: [
                CurveSeries(name: "training", points: map { [Double($0.epoch), $0.trainLoss] }),
                CurveSeries(name: "validation", points: map { [Double($0.epoch), $0.validationLoss] }),
            ]),
            TrainingCurve(title: accuracy, xLabel: "epoch", series: [
                CurveSeries(name: "training", points: map { [Double($0.epoch), $0.trainAccuracy] }),
                CurveSeries(name: "validation", points: map { [Double($0.epoch), $0.validationAccuracy] }),
            ]),
        ]
    }
}
