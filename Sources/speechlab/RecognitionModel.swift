import AcousticModels
import FeatureExtraction
import HiddenMarkov

/// An HMM-based model directory (GMM-HMM or hybrid), as the decoder and the aligner need it:
/// the decoder only ever sees its ``AcousticScorer``.
struct LoadedModel {
    var transitions: TransitionModel
    var lexicon: Lexicon
    var vocabulary: [String]
    var features: FeatureConfig
    var search: SearchOptions
    var scorer: any AcousticScorer & Sendable
    var parameters: Int
    var architecture: String

    static func load(_ path: String) throws -> LoadedModel {
        let header = try ModelDirectory.header(path)
        switch header.kind {
        case .gmmHMM:
            let (model, search) = try GMMHMM.load(path)
            // Weights, means and variances of every Gaussian, and the transition probabilities.
            let parameters = model.gaussianCount * (2 * model.dimension + 1) + model.transitions.transitionCount
            return LoadedModel(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary,
                               features: model.features, search: search, scorer: model, parameters: parameters,
                               architecture: "GMM-HMM, \(model.pdfCount) states, \(model.gaussianCount) Gaussians")
        case .hybrid:
            let (model, search) = try HybridModel.load(path)
            let a = model.architecture
            return LoadedModel(transitions: try model.hmm.transitionModel(), lexicon: model.hmm.lexicon, vocabulary: model.hmm.vocabulary,
                               features: model.hmm.features, search: search, scorer: model, parameters: model.network.parameterCount,
                               architecture: "hybrid \(a.cell.rawValue.uppercased()) \(a.layers)×\(a.hiddenSize)\(a.bidirectional ? " bidirectional" : ""), \(a.outputs) states")
        case .classifier:
            throw ModelError("\(path): models of kind '\(header.kind)' have no HMM (decode them with 'speechlab decode', which classifies)")
        }
    }
}

/// A model directory of any family, ready to recognize utterances: what `decode` and
/// `compare` share.
struct RecognitionModel: Sendable {
    enum Engine: Sendable {
        /// Viterbi search of a grammar's graph with an HMM model's scorer.
        case search(Recognizer, any AcousticScorer & Sendable)
        /// One word per utterance from a whole-utterance classifier.
        case classifier(UtteranceClassifier)
    }

    var kind: ModelKind
    var features: FeatureConfig
    var vocabulary: [String]
    var parameters: Int
    var architecture: String
    var engine: Engine

    /// Loads the model at `path`; `adjust` may change an HMM model's search options.
    static func load(_ path: String, adjust: (inout SearchOptions) -> Void = { _ in }) throws -> RecognitionModel {
        let kind = try ModelDirectory.header(path).kind
        if kind == .classifier {
            let c = try UtteranceClassifier.load(path)
            let a = c.architecture
            return RecognitionModel(kind: kind, features: c.features, vocabulary: a.words, parameters: c.parameterCount,
                                    architecture: "classifier \(a.cell.rawValue.uppercased()) \(a.layers)×\(a.hiddenSize)\(a.bidirectional ? " bidirectional" : ""), \(a.pooling.rawValue) pooling",
                                    engine: .classifier(c))
        }
        let loaded = try LoadedModel.load(path)
        var search = loaded.search
        adjust(&search)
        let recognizer = try Recognizer(transitions: loaded.transitions, lexicon: loaded.lexicon, vocabulary: loaded.vocabulary, options: search)
        return RecognitionModel(kind: kind, features: loaded.features, vocabulary: loaded.vocabulary, parameters: loaded.parameters,
                                architecture: loaded.architecture, engine: .search(recognizer, loaded.scorer))
    }

    /// The words of one utterance with their frames, or nil when no path of the grammar fits
    /// (a classifier ignores the grammar and names one word for the whole utterance).
    func recognize(_ features: FeatureMatrix, grammar: Grammar) -> [TimedWord]? {
        switch engine {
        case .search(let recognizer, let scorer):
            return recognizer.decode(features, scorer: scorer, grammar: grammar)?.words
        case .classifier(let classifier):
            return [TimedWord(word: classifier.classify(features).word, start: 0, end: features.frames)]
        }
    }
}
