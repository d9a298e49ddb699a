import DecodingGraphs
import FeatureExtraction
import HiddenMarkov

/// Which word sequences the decoder considers.
public enum Grammar: String, Codable, Sendable, CaseIterable {
    /// Optional silence, one word, optional silence.
    case isolated
    /// Any sequence of words, with optional silence between them.
    case loop
}

/// Decoding and forced alignment with any acoustic model that scores pdfs of a transition
/// model: the GMM-HMM, or a hybrid network over the same HMMs.
public struct Recognizer: Sendable {
    public let transitions: TransitionModel
    public let lexicon: Lexicon
    public let vocabulary: [String]
    public let options: SearchOptions
    /// Triphone models: the tree tying phone states in context to pdfs. Their grammars are
    /// compiled graphs (`speechlab graph`), not the isolated and loop graphs built here.
    public let tree: ContextTree?
    let isolatedGraph: DecodingGraph?
    let loopGraph: DecodingGraph?

    public init(transitions: TransitionModel, lexicon: Lexicon, vocabulary: [String], options: SearchOptions = SearchOptions(),
                tree: ContextTree? = nil) throws {
        self.transitions = transitions
        self.lexicon = lexicon
        self.vocabulary = vocabulary
        self.options = options
        self.tree = tree
        let silence = transitions.unitIndex(silenceUnit)
        let words = try transitions.wordAlternatives(vocabulary, lexicon: lexicon)
        isolatedGraph = tree == nil ? GraphBuilder.isolatedWords(model: transitions, words: words, silence: silence) : nil
        loopGraph = tree == nil ? GraphBuilder.wordLoop(model: transitions, words: words, silence: silence, wordPenalty: options.wordPenalty) : nil
    }

    /// Whether the isolated and loop grammars can decode (not for triphone models).
    public var hasGrammars: Bool { isolatedGraph != nil }

    /// The best word sequence for frames scored by `scorer`, or nil when no path fits (or the
    /// model has no grammar graphs: see ``hasGrammars``).
    /// When the beam prunes every path that can end in time (a short utterance whose best early
    /// paths lead nowhere), the search is repeated without a beam.
    public func decode(_ features: FeatureMatrix, scorer: some AcousticScorer, grammar: Grammar) -> ViterbiPath? {
        guard let graph = grammar == .isolated ? isolatedGraph : loopGraph else { return nil }
        return search(graph, features, scorer: scorer)
    }

    /// Viterbi with the beam, and without it when the beam left no path that ends in time.
    func search(_ graph: DecodingGraph, _ features: FeatureMatrix, scorer: some AcousticScorer) -> ViterbiPath? {
        let ll = scorer.logLikelihoods(frames: features.values, count: features.frames)
        var unpruned = options
        unpruned.beam = .infinity
        return Viterbi.search(graph, logLikelihoods: ll, frames: features.frames, pdfCount: scorer.pdfCount, options: options)
            ?? Viterbi.search(graph, logLikelihoods: ll, frames: features.frames, pdfCount: scorer.pdfCount, options: unpruned)
    }

    /// The pdf of every frame along the best path for the known `words` (optional silence at
    /// both ends and between words).
    public func align(_ features: FeatureMatrix, words: [String], scorer: some AcousticScorer) throws -> [Int32] {
        guard !words.isEmpty else { throw ModelError("the transcript is empty") }
        if !lexicon.isEmpty, let missing = words.first(where: { !lexicon.contains($0) }) {
            throw ModelError("word '\(missing)' is not in the model's lexicon")
        }
        let graph = try transitions.transcriptGraph(words, lexicon: lexicon, tree: tree)
        guard let path = search(graph, features, scorer: scorer) else {
            throw ModelError("\(features.frames) frames are too few for the transcript's states")
        }
        return path.states.map { graph.pdf[Int($0)] }
    }
}

extension TransitionModel {
    /// The graph of a known transcript (training, alignment): its words with every
    /// pronunciation, optional silence around and between them. Context-independent units are
    /// chained by `GraphBuilder`; a triphone model's graph is composed by OpenFst.
    public func transcriptGraph(_ words: [String], lexicon: Lexicon, tree: ContextTree?) throws -> DecodingGraph {
        if let tree { return try triphoneTranscript(words, lexicon: lexicon, tree: tree).decodingGraph(self) }
        return GraphBuilder.transcript(model: self, words: try wordAlternatives(words, lexicon: lexicon), silence: unitIndex(silenceUnit))
    }

    /// A triphone transcript graph's topology, built once; ``TranscriptFst/decodingGraph(_:)``
    /// adds the transition probabilities of the moment.
    public func triphoneTranscript(_ words: [String], lexicon: Lexicon, tree: ContextTree) throws -> TranscriptFst {
        do {
            return try TranscriptFst.build(words: words.map { lexicon.pronunciations(of: $0) }, transitions: self, tree: tree,
                                           silencePhone: silenceUnit)
        } catch { throw ModelError("\(error)") }
    }
}
