import Foundation

/// Interpolated modified Kneser-Ney estimation (Chen & Goodman 1998), as KenLM's `lmplz` and
/// SRILM's `ngram-count -kndiscount -interpolate` estimate it, with no pruning.
///
/// For an n-gram g = hw with adjusted count a(g) (the raw count at the highest order and for
/// n-grams that start with `<s>`; otherwise the number of distinct words seen before g):
///
///     p(w | h) = (a(hw) − D_n(a(hw))) / Σ_v a(hv)  +  γ(h) · p(w | h minus its first word)
///     γ(h)     = (D_n1 · N1(h•) + D_n2 · N2(h•) + D_n3+ · N3+(h•)) / Σ_v a(hv)
///
/// with three discounts per order from the counts of counts t_k (k = 1…4) of adjusted counts:
/// Y = t1 / (t1 + 2 t2), D_k = k − (k + 1) · Y · t_{k+1} / t_k; when the data are too few for
/// them (a t_k of zero, or a D_k outside (0, k]) KenLM's fallback 0.5, 1, 1.5 is used. The
/// unigrams interpolate with the uniform distribution over the vocabulary (`<s>` excepted), so
/// a word the text never has (`<unk>`, or a lexicon word passed in `vocabulary`) keeps the
/// mass γ(ε)/|V|. In the model written, γ(h) is h's back-off weight: the back-off formula then
/// gives exactly the interpolated probability of every n-gram the model does not list.
public struct KneserNeyEstimator: Sendable {
    /// The longest n-gram.
    public var order: Int
    /// Words the model must know even when the text never has them.
    public var vocabulary: [String]

    /// Discounts D1, D2, D3+ of one order, and whether they are the fallback.
    public struct Discounts: Sendable, Equatable {
        public var d1: Double, d2: Double, d3: Double
        public var isFallback: Bool

        /// KenLM's `--discount_fallback` values.
        public static let fallback = Discounts(d1: 0.5, d2: 1, d3: 1.5, isFallback: true)

        /// The discount of an n-gram with adjusted count `count` (≥ 1).
        func callAsFunction(_ count: Int) -> Double { count == 1 ? d1 : count == 2 ? d2 : d3 }
    }

    public init(order: Int = 3, vocabulary: [String] = []) {
        self.order = order
        self.vocabulary = vocabulary
    }

    /// The model of `sentences` (words without `<s>`/`</s>`; those at the ends are dropped)
    /// and the discounts of each order.
    public func estimate(_ sentences: [[String]]) throws -> (model: NGramModel, discounts: [Discounts]) {
        guard order >= 1 && order <= 10 else { throw LanguageModelError("an n-gram order must be 1 to 10, not \(order)") }
        var model = NGramModel(order: order)
        let start = model.intern(NGramModel.sentenceStart), end = model.intern(NGramModel.sentenceEnd)
        model.intern(NGramModel.unknown)
        var padded: [[Int32]] = []
        for sentence in sentences {
            var words = sentence[...]
            if words.first == NGramModel.sentenceStart { words = words.dropFirst() }
            if words.last == NGramModel.sentenceEnd { words = words.dropLast() }
            guard !words.isEmpty else { continue }
            if let marker = words.first(where: { $0 == NGramModel.sentenceStart || $0 == NGramModel.sentenceEnd }) {
                throw LanguageModelError("'\(words.joined(separator: " "))': \(marker) inside a sentence")
            }
            padded.append([start] + words.map { model.intern($0) } + [end])
        }
        guard !padded.isEmpty else { throw LanguageModelError("no sentence to estimate a language model from") }
        for word in vocabulary { model.intern(word) }

        let adjusted = adjustedCounts(padded, sentenceStart: start)
        let discounts = adjusted.map(Self.discounts(of:))
        var probabilities: [[[Int32]: Double]] = []
        var backoffs: [[[Int32]: Double]] = []
        for n in 1...order {
            let (p, gamma) = interpolate(adjusted[n - 1], discounts: discounts[n - 1], lower: probabilities.last,
                                         vocabularySize: model.words.count - 1, vocabulary: n == 1 ? Array(0..<Int32(model.words.count)) : [],
                                         sentenceStart: start)
            probabilities.append(p)
            backoffs.append(gamma)
        }
        for n in 1...order {
            for (gram, p) in probabilities[n - 1] {
                let gamma = n < order ? backoffs[n][gram] : nil
                model.set(gram, logProbability: Float(log10(p)), backoff: gamma.map { Float(log10($0)) } ?? 0)
            }
        }
        // <s> is never predicted (log 0) but is the first history of every sentence.
        model.set([start], logProbability: -.infinity, backoff: order > 1 ? Float(log10(backoffs[1][[start]] ?? 1)) : 0)
        return (model, discounts)
    }

    /// Adjusted counts of every order: raw counts at the highest order and for n-grams that
    /// start with `<s>`, continuation counts (distinct left neighbours) otherwise.
    func adjustedCounts(_ sentences: [[Int32]], sentenceStart: Int32) -> [[[Int32]: Int]] {
        var raw = [[[Int32]: Int]](repeating: [:], count: order)
        for s in sentences {
            for j in 1..<s.count {
                for n in 1...Swift.min(order, j + 1) { raw[n - 1][Array(s[(j - n + 1)...j]), default: 0] += 1 }
            }
        }
        var adjusted = raw
        for n in stride(from: order - 1, through: 1, by: -1) {
            var continuation: [[Int32]: Int] = [:]
            for gram in raw[n].keys { continuation[Array(gram.dropFirst()), default: 0] += 1 }
            for gram in raw[n - 1].keys where gram[0] != sentenceStart { adjusted[n - 1][gram] = continuation[gram] ?? 0 }
        }
        return adjusted
    }

    /// D1, D2, D3+ from the counts of counts, or the fallback when the data do not support them.
    static func discounts(of counts: [[Int32]: Int]) -> Discounts {
        var t = [Double](repeating: 0, count: 5)
        for count in counts.values where count <= 4 { t[count] += 1 }
        guard t[1] > 0, t[2] > 0, t[3] > 0, t[4] > 0 else { return .fallback }
        let y = t[1] / (t[1] + 2 * t[2])
        let d = (1...3).map { k in Double(k) - Double(k + 1) * y * t[k + 1] / t[k] }
        guard zip(d, 1...3).allSatisfy({ $0 > 0 && $0 <= Double($1) }) else { return .fallback }
        return Discounts(d1: d[0], d2: d[1], d3: d[2], isFallback: false)
    }

    /// One order's interpolated probabilities (every listed n-gram; for unigrams every word of
    /// `vocabulary` but `<s>`) and each history's γ.
    func interpolate(_ counts: [[Int32]: Int], discounts: Discounts, lower: [[Int32]: Double]?, vocabularySize: Int,
                     vocabulary: [Int32], sentenceStart: Int32) -> (probabilities: [[Int32]: Double], gamma: [[Int32]: Double]) {
        var total: [[Int32]: Double] = [:], discounted: [[Int32]: Double] = [:]
        for (gram, count) in counts where count > 0 {
            let history = Array(gram.dropLast())
            total[history, default: 0] += Double(count)
            discounted[history, default: 0] += discounts(count)
        }
        var gamma: [[Int32]: Double] = [:]
        for (history, sum) in total { gamma[history] = discounted[history]! / sum }
        var probabilities: [[Int32]: Double] = [:]
        for (gram, count) in counts where count > 0 {
            let history = Array(gram.dropLast())
            let backoff = lower.map { $0[Array(gram.dropFirst())] ?? 0 } ?? 1 / Double(vocabularySize)
            probabilities[gram] = (Double(count) - discounts(count)) / total[history]! + gamma[history]! * backoff
        }
        // Unigrams: words the text never has keep the uniform share of the discounted mass.
        for word in vocabulary where word != sentenceStart && probabilities[[word]] == nil {
            probabilities[[word]] = (gamma[[]] ?? 1) / Double(vocabularySize)
        }
        return (probabilities, gamma)
    }
}
