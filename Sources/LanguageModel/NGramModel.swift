import Foundation

/// A back-off n-gram language model as an ARPA file holds it: for every listed n-gram its
/// log10 probability and, when it is the history of a longer n-gram, its log10 back-off weight.
///
/// A query for word w after history h (the last `order − 1` words) takes the longest listed
/// n-gram h'w with h' a suffix of h, and adds the back-off weights of the histories it skipped
/// (Katz's scheme, which SRILM, KenLM and Kaldi share):
///
///     log p(w | h) = log p(w | h)                      when hw is listed
///                  = bow(h) + log p(w | h minus its first word)   otherwise
public struct NGramModel: Sendable {
    /// The longest n-gram's length.
    public let order: Int
    /// Every word the model knows (`<s>`, `</s>` and `<unk>` included when listed); ids index it.
    public private(set) var words: [String]
    private var ids: [String: Int32]
    /// `grams[n − 1]`: each listed n-gram (word ids) → its entry.
    private var grams: [[[Int32]: NGramEntry]]

    public static let sentenceStart = "<s>", sentenceEnd = "</s>", unknown = "<unk>"

    /// An empty model of `order` (1...); `intern` and `set` fill it.
    public init(order: Int) {
        precondition(order >= 1, "an n-gram model needs order ≥ 1")
        self.order = order
        words = []
        ids = [:]
        grams = Array(repeating: [:], count: order)
    }

    /// The id of `word`, or nil when the model does not know it.
    public func id(of word: String) -> Int32? { ids[word] }

    /// The id of `word`, added to the vocabulary when new.
    @discardableResult
    public mutating func intern(_ word: String) -> Int32 {
        if let id = ids[word] { return id }
        let id = Int32(words.count)
        words.append(word)
        ids[word] = id
        return id
    }

    /// Lists `gram` (1 to `order` words, already interned) with its log10 probability and back-off.
    public mutating func set(_ gram: [Int32], logProbability: Float, backoff: Float = 0) {
        precondition((1...order).contains(gram.count), "an n-gram of \(gram.count) words in a model of order \(order)")
        grams[gram.count - 1][gram] = NGramEntry(logProbability: logProbability, backoff: backoff)
    }

    /// The entry of a listed n-gram.
    public func entry(_ gram: [Int32]) -> NGramEntry? {
        guard (1...order).contains(gram.count) else { return nil }
        return grams[gram.count - 1][gram]
    }

    /// Number of listed n-grams of each length, 1 to `order`.
    public var counts: [Int] { grams.map(\.count) }

    /// The listed n-grams of length `n`, in a stable order (by word ids).
    public func grams(ofLength n: Int) -> [(gram: [Int32], entry: NGramEntry)] {
        grams[n - 1].map { ($0.key, $0.value) }.sorted { $0.gram.lexicographicallyPrecedes($1.gram) }
    }

    /// log10 p(word | history); only the last `order − 1` words of `history` matter. A word
    /// the model does not list as a unigram scores as `<unk>` (−∞ without one).
    public func logProbability(of word: Int32, after history: ArraySlice<Int32>) -> Float {
        var word = word
        if grams[0][[word]] == nil {
            guard let unk = ids[Self.unknown], grams[0][[unk]] != nil else { return -.infinity }
            word = unk
        }
        var context = history.suffix(order - 1), backoff: Float = 0
        while true {
            if let entry = grams[context.count][Array(context) + [word]] { return backoff + entry.logProbability }
            // Unigrams always match (above), so the context is never empty here.
            backoff += grams[context.count - 1][Array(context)]?.backoff ?? 0
            context = context.dropFirst()
        }
    }

    /// log10 p(word | history) by spelling.
    public func logProbability(of word: String, after history: [String]) -> Float {
        let unk = ids[Self.unknown] ?? -1
        return logProbability(of: ids[word] ?? unk, after: ArraySlice(history.map { ids[$0] ?? unk }))
    }

    /// log10 probability of a sentence, `</s>` included and `<s>` as the first history, and
    /// how many of its words the model does not know.
    public func score(sentence: [String]) -> (logProbability: Double, unknownWords: Int) {
        let unk = ids[Self.unknown] ?? -1
        var history: [Int32] = [ids[Self.sentenceStart] ?? unk]
        var total = 0.0, unknown = 0
        for word in sentence + [Self.sentenceEnd] {
            let id = ids[word] ?? unk
            if ids[word] == nil { unknown += 1 }
            total += Double(logProbability(of: id, after: history[...]))
            history.append(id)
        }
        return (total, unknown)
    }

    /// Perplexity over `sentences` (every word and each `</s>` predicted).
    public func perplexity(_ sentences: [[String]]) -> Double {
        var total = 0.0, predicted = 0
        for sentence in sentences {
            total += score(sentence: sentence).logProbability
            predicted += sentence.count + 1
        }
        return predicted == 0 ? 1 : pow(10, -total / Double(predicted))
    }
}

/// An n-gram's log10 probability and log10 back-off weight (0 when it backs off to nothing).
public struct NGramEntry: Sendable, Equatable {
    public var logProbability: Float
    public var backoff: Float

    public init(logProbability: Float, backoff: Float = 0) {
        self.logProbability = logProbability
        self.backoff = backoff
    }
}

/// A language model could not be read, estimated or written; the description says where and why.
public struct LanguageModelError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
