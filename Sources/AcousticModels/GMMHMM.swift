import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

/// Maps words to units. By default every word is its own unit (whole-word models).
public struct Lexicon: Codable, Sendable, Equatable {
    /// Word → units, for words spelled out by a lexicon file; other words are their own unit.
    public var pronunciations: [String: [String]]

    public init(pronunciations: [String: [String]] = [:]) {
        self.pronunciations = pronunciations
    }

    /// The units of `word`.
    public func units(of word: String) -> [String] { pronunciations[word] ?? [word] }

    /// Reads `WORD unit unit ...` lines (one pronunciation per word); errors name file and line.
    public static func read(_ path: String) throws -> Lexicon {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw ModelError("\(error)") }
        var pronunciations: [String: [String]] = [:]
        for (n, line) in lines.enumerated() {
            let fields = TextFile.fields(line).map(String.init)
            guard let word = fields.first else { continue }
            guard fields.count >= 2 else { throw ModelError("\(path):\(n + 1): word '\(word)' has no units") }
            guard pronunciations[word] == nil else { throw ModelError("\(path):\(n + 1): word '\(word)' is listed twice") }
            pronunciations[word] = Array(fields.dropFirst())
        }
        return Lexicon(pronunciations: pronunciations)
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
    public let features: FeatureConfig
    private(set) var likelihoods: GMMLikelihoods

    public init(transitions: TransitionModel, mixtures: [DiagonalGMM], lexicon: Lexicon, vocabulary: [String], features: FeatureConfig) {
        precondition(mixtures.count == transitions.pdfCount, "GMMHMM: \(mixtures.count) mixtures for \(transitions.pdfCount) pdfs")
        self.transitions = transitions
        self.mixtures = mixtures
        self.lexicon = lexicon
        self.vocabulary = vocabulary
        self.features = features
        likelihoods = GMMLikelihoods(mixtures)
    }

    /// Replaces the mixtures (after an M-step), refreshing the precomputed likelihood tables.
    public func setMixtures(_ new: [DiagonalGMM]) {
        precondition(new.count == mixtures.count)
        mixtures = new
        likelihoods = GMMLikelihoods(new)
    }

    public var pdfCount: Int { transitions.pdfCount }
    public var gaussianCount: Int { mixtures.reduce(0) { $0 + $1.componentCount } }
    public var dimension: Int { mixtures.first?.dimension ?? 0 }
    public var silence: Int? { transitions.unitIndex(silenceUnit) }

    public func logLikelihoods(frames: [Float], count: Int) -> [Float] {
        likelihoods.logLikelihoods(frames, count: count)
    }

    /// Units of each word of the vocabulary, as unit indices.
    public func wordUnits(_ words: [String]) throws -> [(word: String, units: [Int])] {
        try words.map { word in
            let names = lexicon.units(of: word)
            let units = try names.map { name -> Int in
                guard let u = transitions.unitIndex(name) else { throw ModelError("word '\(word)': unit '\(name)' is not in the model") }
                return u
            }
            return (word, units)
        }
    }
}
