import Foundation

/// One series of a training curve: (x, y) points, e.g. validation loss per epoch.
public struct CurveSeries: Codable, Sendable, Equatable {
    public var name: String
    public var points: [[Double]]
    public init(name: String, points: [[Double]]) {
        self.name = name
        self.points = points
    }
}

/// A training curve read from a model's training log.
public struct TrainingCurve: Codable, Sendable, Equatable {
    public var title: String
    public var xLabel: String
    public var series: [CurveSeries]
    public init(title: String, xLabel: String, series: [CurveSeries]) {
        self.title = title
        self.xLabel = xLabel
        self.series = series
    }
}

/// What decoding one model on the test set produced, and what the model says about itself:
/// the input of a ``ComparisonReport``.
public struct ModelDecoding: Sendable {
    /// A short unique name (the model directory's name).
    public var name: String
    public var path: String
    /// The model's family, as its model directory names it (shown, never interpreted).
    public var kind: String
    /// The architecture in a few words, e.g. `hybrid LSTM 2×128`.
    public var architecture: String
    /// The model's feature configuration in a line (each model computes its own features).
    public var features: String
    public var parameters: Int
    public var trainingSeconds: Double?
    /// Wall time of feature extraction and search over the test set.
    public var decodingSeconds: Double
    public var threads: Int
    /// Utterance id → recognized words (absent: the model found no path).
    public var hypotheses: [String: [String]]
    /// Every word the model can output.
    public var vocabulary: Set<String>
    public var curves: [TrainingCurve]
    /// What the report should say about models like this one (said once however many there are).
    public var notes: [String]
    /// One word per utterance whatever the grammar (a whole-utterance classifier).
    public var outputsOneWordPerUtterance: Bool

    public init(name: String, path: String, kind: String, architecture: String, features: String, parameters: Int,
                trainingSeconds: Double?, decodingSeconds: Double, threads: Int, hypotheses: [String: [String]],
                vocabulary: Set<String>, curves: [TrainingCurve], notes: [String] = [], outputsOneWordPerUtterance: Bool = false) {
        self.name = name
        self.path = path
        self.kind = kind
        self.architecture = architecture
        self.features = features
        self.parameters = parameters
        self.trainingSeconds = trainingSeconds
        self.decodingSeconds = decodingSeconds
        self.threads = threads
        self.hypotheses = hypotheses
        self.vocabulary = vocabulary
        self.curves = curves
        self.notes = notes
        self.outputsOneWordPerUtterance = outputsOneWordPerUtterance
    }
}

/// One test utterance.
public struct TestUtterance: Codable, Sendable, Equatable {
    public var id: String
    public var speaker: String?
    public var words: [String]
    public var seconds: Double
    public init(id: String, speaker: String?, words: [String], seconds: Double) {
        self.id = id
        self.speaker = speaker
        self.words = words
        self.seconds = seconds
    }
}

/// Error rates of one model on one speaker's utterances.
public struct SpeakerScore: Codable, Sendable, Equatable {
    public var utterances: Int
    public var wordErrorRate: Double
    public var sentenceErrorRate: Double
    public var accuracy: Double { 1 - sentenceErrorRate }
}

/// Everything the comparison says about one model.
public struct ModelComparison: Codable, Sendable, Equatable {
    public var name: String
    public var path: String
    public var kind: String
    public var architecture: String
    public var features: String
    public var parameters: Int
    public var trainingSeconds: Double?
    public var decodingSeconds: Double
    public var threads: Int
    /// Decoding seconds per second of test audio.
    public var realTimeFactor: Double
    public var wordErrorRate: Double
    public var wordErrorRateInterval: ConfidenceInterval
    public var sentenceErrorRate: Double
    public var sentenceErrorRateInterval: ConfidenceInterval
    /// 1 − sentence error rate: isolated-word accuracy on single-word test sets.
    public var accuracy: Double
    public var accuracyInterval: ConfidenceInterval
    public var substitutions: Int
    public var deletions: Int
    public var insertions: Int
    /// Utterances for which the model found no path (scored as all deletions).
    public var withoutHypothesis: [String]
    /// Test-set words this model cannot output (each occurrence is necessarily an error).
    public var unknownWords: [String]
    /// `confusion[reference][hypothesis]` over aligned words; `<del>` and `<ins>` mark deletions
    /// and insertions.
    public var confusion: [String: [String: Int]]
    public var speakers: [String: SpeakerScore]
    public var curves: [TrainingCurve]

    /// The errors of `confusion` (substitutions, deletions as `<del>`, insertions as `<ins>`),
    /// most frequent first, at most `limit`: what a report shows when the vocabulary is too large
    /// for a matrix.
    public func mostFrequentConfusions(limit: Int) -> [(reference: String, hypothesis: String, count: Int)] {
        var errors: [(reference: String, hypothesis: String, count: Int)] = []
        for (reference, row) in confusion {
            for (hypothesis, count) in row where hypothesis != reference { errors.append((reference, hypothesis, count)) }
        }
        errors.sort { ($0.count, $1.reference, $1.hypothesis) > ($1.count, $0.reference, $0.hypothesis) }
        return Array(errors.prefix(limit))
    }
}

/// A significance test between two models.
public struct PairwiseComparison: Codable, Sendable, Equatable {
    public var first: String
    public var second: String
    public var test: SignificanceTest
    /// p < 0.05.
    public var significant: Bool
}

/// An utterance on which the models do not all agree.
public struct Disagreement: Codable, Sendable, Equatable {
    public var id: String
    public var reference: [String]
    /// Model name → recognized words ("<none>" when it found no path).
    public var hypotheses: [String: [String]]
}

/// The comparison of several models on one test set: the numbers behind `report.json`,
/// `report.md` and `report.html`. Every rate is computed here from the hypotheses.
public struct ComparisonReport: Codable, Sendable, Equatable {
    public var testSet: String
    public var grammar: String
    public var created: String
    public var utterances: Int
    public var referenceWords: Int
    public var audioSeconds: Double
    /// True when every reference is one word (accuracy and McNemar apply).
    public var isolatedWords: Bool
    public var models: [ModelComparison]
    public var pairwise: [PairwiseComparison]
    public var disagreements: [Disagreement]
    /// Things a reader must know, e.g. that the models use different features.
    public var notes: [String]
    /// Each utterance with its reference and every model's hypothesis.
    public var results: [UtteranceResult]

    public struct UtteranceResult: Codable, Sendable, Equatable {
        public var id: String
        public var speaker: String?
        public var reference: [String]
        public var hypotheses: [String: [String]]
    }

    /// Scores every decoding against `test` and compares the models pairwise.
    public init(testSet: String, grammar: String, test: [TestUtterance], decodings: [ModelDecoding], created: Date = Date()) {
        self.testSet = testSet
        self.grammar = grammar
        self.created = ISO8601DateFormatter().string(from: created)
        utterances = test.count
        referenceWords = test.reduce(0) { $0 + $1.words.count }
        audioSeconds = test.reduce(0) { $0 + $1.seconds }
        isolatedWords = !test.isEmpty && test.allSatisfy { $0.words.count == 1 }

        let seconds = audioSeconds
        let scored = decodings.map { Self.score($0, on: test, audioSeconds: seconds) }
        models = scored.map(\.comparison)
        let perUtteranceErrors = scored.map(\.errors), perUtteranceCorrect = scored.map(\.correct)

        pairwise = []
        for a in decodings.indices {
            for b in decodings.indices where b > a {
                let test = isolatedWords
                    ? mcNemarTest(firstCorrect: perUtteranceCorrect[a], secondCorrect: perUtteranceCorrect[b])
                    : matchedPairsTest(firstErrors: perUtteranceErrors[a], secondErrors: perUtteranceErrors[b])
                pairwise.append(PairwiseComparison(first: decodings[a].name, second: decodings[b].name, test: test, significant: test.pValue < 0.05))
            }
        }

        results = test.map { u in
            UtteranceResult(id: u.id, speaker: u.speaker, reference: u.words,
                            hypotheses: Dictionary(uniqueKeysWithValues: decodings.map { ($0.name, $0.hypotheses[u.id] ?? ["<none>"]) }))
        }
        disagreements = results.filter { Set($0.hypotheses.values).count > 1 }
            .map { Disagreement(id: $0.id, reference: $0.reference, hypotheses: $0.hypotheses) }

        notes = Self.notes(decodings, models, isolatedWords: isolatedWords)
    }

    /// One model's scores: word errors from the edit-distance alignment of every utterance,
    /// sentence errors, intervals, confusions and per-speaker results, with each utterance's word
    /// errors and correctness for the pairwise tests.
    static func score(_ decoding: ModelDecoding, on test: [TestUtterance], audioSeconds: Double)
        -> (comparison: ModelComparison, errors: [Int], correct: [Bool]) {
        let referenceWords = test.reduce(0) { $0 + $1.words.count }
        var errors: [Int] = [], correct: [Bool] = [], sentenceErrors: [Int] = []
        var confusion: [String: [String: Int]] = [:]
        var speakerCounts: [String: (utterances: Int, words: Int, errors: Int, sentences: Int)] = [:]
        var s = 0, d = 0, i = 0
        for u in test {
            let hypothesis = decoding.hypotheses[u.id] ?? []
            var e = 0
            for step in align(reference: u.words, hypothesis: hypothesis) {
                switch step {
                case .match(let w): confusion[w, default: [:]][w, default: 0] += 1
                case .substitution(let r, let h): confusion[r, default: [:]][h, default: 0] += 1; s += 1; e += 1
                case .deletion(let r): confusion[r, default: [:]]["<del>", default: 0] += 1; d += 1; e += 1
                case .insertion(let h): confusion["<ins>", default: [:]][h, default: 0] += 1; i += 1; e += 1
                }
            }
            let right = hypothesis == u.words && decoding.hypotheses[u.id] != nil
            errors.append(e)
            correct.append(right)
            sentenceErrors.append(right ? 0 : 1)
            let speaker = u.speaker ?? "(unknown)"
            var c = speakerCounts[speaker] ?? (0, 0, 0, 0)
            c.utterances += 1; c.words += u.words.count; c.errors += e; c.sentences += right ? 0 : 1
            speakerCounts[speaker] = c
        }
        let ser = sentenceErrors.isEmpty ? 0 : Double(sentenceErrors.reduce(0, +)) / Double(sentenceErrors.count)
        let serInterval = bootstrapInterval(errors: sentenceErrors, counts: [Int](repeating: 1, count: test.count))
        let comparison = ModelComparison(
            name: decoding.name, path: decoding.path, kind: decoding.kind, architecture: decoding.architecture,
            features: decoding.features, parameters: decoding.parameters, trainingSeconds: decoding.trainingSeconds,
            decodingSeconds: decoding.decodingSeconds, threads: decoding.threads,
            realTimeFactor: audioSeconds > 0 ? decoding.decodingSeconds / audioSeconds : 0,
            wordErrorRate: referenceWords == 0 ? 0 : Double(s + d + i) / Double(referenceWords),
            wordErrorRateInterval: bootstrapInterval(errors: errors, counts: test.map(\.words.count)),
            sentenceErrorRate: ser, sentenceErrorRateInterval: serInterval,
            accuracy: 1 - ser, accuracyInterval: ConfidenceInterval(low: 1 - serInterval.high, high: 1 - serInterval.low),
            substitutions: s, deletions: d, insertions: i,
            withoutHypothesis: test.map(\.id).filter { decoding.hypotheses[$0] == nil },
            unknownWords: Set(test.flatMap(\.words)).subtracting(decoding.vocabulary).sorted(),
            confusion: confusion,
            speakers: speakerCounts.mapValues {
                SpeakerScore(utterances: $0.utterances, wordErrorRate: $0.words == 0 ? 0 : Double($0.errors) / Double($0.words),
                             sentenceErrorRate: Double($0.sentences) / Double($0.utterances))
            },
            curves: decoding.curves)
        return (comparison, errors, correct)
    }

    /// What the report says besides the numbers: differing feature configurations, words a model
    /// cannot output, utterances without a path, and what the models say about themselves.
    static func notes(_ decodings: [ModelDecoding], _ models: [ModelComparison], isolatedWords: Bool) -> [String] {
        var notes: [String] = []
        let featureSets = Set(decodings.map(\.features))
        if featureSets.count > 1 {
            notes.append("The models use different feature configurations (each computed its own features from the audio): "
                + decodings.map { "\($0.name): \($0.features)" }.joined(separator: "; ") + ".")
        }
        for model in models where !model.unknownWords.isEmpty {
            notes.append("\(model.name) cannot output \(model.unknownWords.count) word(s) of the test set (\(model.unknownWords.prefix(10).joined(separator: ", "))\(model.unknownWords.count > 10 ? ", ..." : "")): every occurrence counts as an error.")
        }
        for model in models where !model.withoutHypothesis.isEmpty {
            notes.append("\(model.name) found no path for \(model.withoutHypothesis.count) utterance(s) (scored as deletions): \(model.withoutHypothesis.prefix(5).joined(separator: ", "))\(model.withoutHypothesis.count > 5 ? ", ..." : "").")
        }
        for note in decodings.flatMap(\.notes) where !notes.contains(note) { notes.append(note) }
        if decodings.contains(where: \.outputsOneWordPerUtterance) && !isolatedWords {
            notes.append("Whole-utterance classifiers output one word per utterance; on multi-word references they cannot be right.")
        }
        return notes
    }

    /// Speakers of the test set, sorted.
    public var speakers: [String] { Set(results.map { $0.speaker ?? "(unknown)" }).sorted() }
}
