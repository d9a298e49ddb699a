import Foundation
import SpeechBase

/// A 95% (or other) confidence interval of an error rate, from resampling utterances.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    public var low: Double
    public var high: Double
    public init(low: Double, high: Double) {
        self.low = low
        self.high = high
    }
}

/// Percentile bootstrap over utterances (Bisani & Ney, 2004): the test set is resampled with
/// replacement `replicates` times and the rate Σ errors / Σ counts recomputed on each sample.
/// The same `seed` gives the same interval, so reports are reproducible.
public func bootstrapInterval(errors: [Int], counts: [Int], level: Double = 0.95, replicates: Int = 1000,
                              seed: UInt64 = 20_041) -> ConfidenceInterval {
    precondition(errors.count == counts.count)
    let n = errors.count
    guard n > 0 else { return ConfidenceInterval(low: 0, high: 0) }
    var generator = SeededGenerator(seed: seed)
    var rates: [Double] = []
    rates.reserveCapacity(replicates)
    for _ in 0..<replicates {
        var e = 0, c = 0
        for _ in 0..<n {
            let i = Int(generator.next() % UInt64(n))
            e += errors[i]
            c += counts[i]
        }
        rates.append(c == 0 ? 0 : Double(e) / Double(c))
    }
    rates.sort()
    let tail = (1 - level) / 2
    let lowIndex = min(replicates - 1, max(0, Int((tail * Double(replicates)).rounded(.down))))
    let highIndex = min(replicates - 1, max(0, Int(((1 - tail) * Double(replicates)).rounded(.up)) - 1))
    return ConfidenceInterval(low: rates[lowIndex], high: rates[highIndex])
}

/// The result of a two-sided significance test between two systems on the same utterances.
public struct SignificanceTest: Codable, Sendable, Equatable {
    /// `mcnemar` (exact, on utterance correctness) or `matched-pairs` (per-utterance word errors).
    public var method: String
    public var pValue: Double
    /// McNemar: utterances only the first / only the second system got right.
    /// Matched pairs: utterances where the first / the second system made fewer errors.
    public var firstBetter: Int
    public var secondBetter: Int
}

/// McNemar's test with the exact binomial distribution: under the null hypothesis each
/// utterance that exactly one system gets right is equally likely to favour either.
public func mcNemarTest(firstCorrect: [Bool], secondCorrect: [Bool]) -> SignificanceTest {
    precondition(firstCorrect.count == secondCorrect.count)
    var b = 0, c = 0
    for (x, y) in zip(firstCorrect, secondCorrect) where x != y {
        if x { b += 1 } else { c += 1 }
    }
    let n = b + c
    var p = 1.0
    if n > 0 {
        // 2 · P(X ≤ min(b, c)) for X ~ Binomial(n, ½), summed in the log domain.
        let k = min(b, c)
        var tail = 0.0
        for i in 0...k {
            tail += exp(lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) - Double(n) * log(2.0))
        }
        p = min(1, 2 * tail)
    }
    return SignificanceTest(method: "mcnemar", pValue: p, firstBetter: b, secondBetter: c)
}

/// The matched-pairs test of Gillick & Cox (1989) with utterances as segments: the mean of the
/// per-utterance differences in word errors against its standard error (normal approximation).
public func matchedPairsTest(firstErrors: [Int], secondErrors: [Int]) -> SignificanceTest {
    precondition(firstErrors.count == secondErrors.count)
    let d = zip(firstErrors, secondErrors).map { Double($0 - $1) }
    let n = Double(d.count)
    let better = zip(firstErrors, secondErrors).reduce(into: (0, 0)) { r, pair in
        if pair.0 < pair.1 { r.0 += 1 } else if pair.1 < pair.0 { r.1 += 1 }
    }
    guard d.count > 1 else { return SignificanceTest(method: "matched-pairs", pValue: 1, firstBetter: better.0, secondBetter: better.1) }
    let mean = d.reduce(0, +) / n
    let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
    let p: Double
    if variance == 0 {
        p = mean == 0 ? 1 : 0
    } else {
        let z = mean / (variance / n).squareRoot()
        p = erfc(abs(z) / 2.0.squareRoot())
    }
    return SignificanceTest(method: "matched-pairs", pValue: p, firstBetter: better.0, secondBetter: better.1)
}
