import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

/// Maps words to units. By default every word is its own unit (whole-word models); a
/// lexicon spells words out in units (phones), with alternative pronunciations.
public struct Lexicon: Sendable, Equatable {
    /// Word → its pronunciations (each a sequence of units), for words a lexicon spells out;
    /// other words are their own unit.
    public var alternatives: [String: [[String]]]

    public init(alternatives: [String: [[String]]] = [:]) {
        self.alternatives = alternatives.filter { !$0.value.isEmpty }
    }

    /// One pronunciation per word.
    public init(pronunciations: [String: [String]]) {
        self.init(alternatives: pronunciations.mapValues { [$0] })
    }

    /// Whether the lexicon spells any word out (false: whole-word units).
    public var isEmpty: Bool { alternatives.isEmpty }

    /// Whether `word` has a pronunciation here.
    public func contains(_ word: String) -> Bool { alternatives[word] != nil }

    /// The first pronunciation of `word` (the word itself when the lexicon does not spell it).
    public func units(of word: String) -> [String] { alternatives[word]?.first ?? [word] }

    /// Every pronunciation of `word`.
    public func pronunciations(of word: String) -> [[String]] { alternatives[word] ?? [[word]] }

    /// Reads `WORD unit unit ...` lines; a word on several lines has several pronunciations.
    /// Errors name file and line.
    public static func read(_ path: String) throws -> Lexicon {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw ModelError("\(error)") }
        var alternatives: [String: [[String]]] = [:]
        for (n, line) in lines.enumerated() {
            let fields = TextFile.fields(line).map(String.init)
            guard let word = fields.first else { continue }
            guard fields.count >= 2 else { throw ModelError("\(path):\(n + 1): word '\(word)' has no units") }
            let units = Array(fields.dropFirst())
            if alternatives[word]?.contains(units) != true { alternatives[word, default: []].append(units) }
        }
        return Lexicon(alternatives: alternatives)
    }
}

extension Lexicon: Codable {
    private enum CodingKeys: String, CodingKey { case pronunciations }

    /// `model.json` keeps the field name `pronunciations`: each word's value is its list of
    /// pronunciations, or (models written before alternatives) one pronunciation.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let many = try? c.decode([String: [[String]]].self, forKey: .pronunciations) {
            self.init(alternatives: many)
        } else {
            self.init(pronunciations: try c.decode([String: [String]].self, forKey: .pronunciations))
        }
        if let (word, _) = alternatives.first(where: { $0.value.contains { $0.isEmpty } }) {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "word '\(word)' has an empty pronunciation"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(alternatives, forKey: .pronunciations)
    }
}

/// A model could not be trained, saved, loaded or used; the description says which and why.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The name of the silence unit.
public let silenceUnit = "<sil>"

/// A GMM-HMM acoustic model: an HMM per unit (left-to-right for words, Kaldi's topology for
/// silence), a diagonal GMM per emitting state, trained transition probabilities, the
/// lexicon, and the feature configuration it was trained with.
public final class GMMHMM: AcousticScorer, @unchecked Sendable {
    public var transitions: TransitionModel
    /// One mixture per pdf.
    public private(set) var mixtures: [DiagonalGMM]
    public let lexicon: Lexicon
    /// The words the model can recognize, sorted.
    public let vocabulary: [String]
    public internal(set) var features: FeatureConfig
    /// For context-dependent (triphone) models: the tree that ties each phone state in context
    /// to a pdf (its leaf); nil for context-independent units, whose pdfs the transition model numbers.
    public let tree: ContextTree?
    /// A speaker-adaptively trained model: how each speaker's fMLLR transform is estimated
    /// when decoding (nil: the model takes features as they come).
    public var speakerAdaptation: FMLLROptions?
    /// With `speakerAdaptation`: the mixtures re-estimated on unadapted features (Kaldi's
    /// `final.alimdl`), which score the first pass before any transform is known.
    public var alignmentMixtures: [DiagonalGMM]? {
        didSet { precondition(alignmentMixtures.map { $0.count == mixtures.count } ?? true, "GMMHMM: alignment mixtures for other pdfs") }
    }
    private(set) var likelihoods: GMMLikelihoods

    public init(transitions: TransitionModel, mixtures: [DiagonalGMM], lexicon: Lexicon, vocabulary: [String], features: FeatureConfig,
                tree: ContextTree? = nil) {
        let pdfs = tree?.leafCount ?? transitions.pdfCount
        precondition(mixtures.count == pdfs, "GMMHMM: \(mixtures.count) mixtures for \(pdfs) pdfs")
        self.transitions = transitions
        self.mixtures = mixtures
        self.lexicon = lexicon
        self.vocabulary = vocabulary
        self.features = features
        self.tree = tree
        likelihoods = GMMLikelihoods(mixtures)
    }

    /// Replaces the mixtures (after an M-step), refreshing the precomputed likelihood tables.
    public func setMixtures(_ new: [DiagonalGMM]) {
        precondition(new.count == mixtures.count)
        mixtures = new
        likelihoods = GMMLikelihoods(new)
    }

    public var pdfCount: Int { mixtures.count }
    public var gaussianCount: Int { mixtures.reduce(0) { $0 + $1.componentCount } }
    public var dimension: Int { mixtures.first?.dimension ?? 0 }
    public var silence: Int? { transitions.unitIndex(silenceUnit) }

    /// The pdfs of the silence unit (its states, or the leaves of its tree).
    public var silencePDFs: Set<Int> {
        guard let s = silence else { return [] }
        if let tree { return Set(tree.leafRoots().enumerated().filter { $0.element.center == s }.map(\.offset)) }
        return Set(transitions.pdfOffsets[s]..<transitions.pdfOffsets[s + 1])
    }

    /// The model for a first pass on unadapted features: the alignment mixtures under the
    /// same HMMs (the model itself when it has none).
    public var firstPassModel: GMMHMM {
        guard let alignmentMixtures else { return self }
        return GMMHMM(transitions: transitions, mixtures: alignmentMixtures, lexicon: lexicon, vocabulary: vocabulary, features: features, tree: tree)
    }

    public func logLikelihoods(frames: [Float], count: Int) -> [Float] {
        likelihoods.logLikelihoods(frames, count: count)
    }

    /// Units of each word (its first pronunciation), as unit indices.
    public func wordUnits(_ words: [String]) throws -> [(word: String, units: [Int])] {
        try transitions.wordAlternatives(words, lexicon: lexicon).map { ($0.word, $0.alternatives[0]) }
    }
}

extension TransitionModel {
    /// Every pronunciation of each word in `lexicon`, as indices of this model's units; a unit
    /// the model lacks is an error naming the word.
    public func wordAlternatives(_ words: [String], lexicon: Lexicon) throws -> [(word: String, alternatives: [[Int]])] {
        try words.map { word in
            let alternatives = try lexicon.pronunciations(of: word).map { names in
                try names.map { name -> Int in
                    guard let u = unitIndex(name) else { throw ModelError("word '\(word)': unit '\(name)' is not in the model") }
                    return u
                }
            }
            return (word, alternatives)
        }
    }
}
