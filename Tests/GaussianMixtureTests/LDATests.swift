@testable import GaussianMixture
import SpeechBase
import Testing

@Suite struct LDATests {
    @Test func jacobiEigenvectorsRebuildTheMatrix() {
        var g = SeededGenerator(seed: 4)
        let n = 6
        var S = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0...i { let v = g.nextGaussian(); (S[i * n + j], S[j * n + i]) = (v, v) } }
        let (values, V) = DenseMatrix.eigen(S, n: n)
        for i in 0..<n {
            for j in 0..<n {
                let rebuilt = (0..<n).reduce(0.0) { $0 + V[i * n + $1] * values[$1] * V[j * n + $1] }
                #expect(abs(rebuilt - S[i * n + j]) < 1e-9)
            }
        }
    }

    /// Three classes apart along x only, with much wider noise along y: the best direction is x,
    /// and projected frames have unit within-class variance.
    @Test func theDiscriminatingDirectionIsFoundAndWhitened() throws {
        var g = SeededGenerator(seed: 11)
        var statistics = LDAStatistics(dimension: 3, classes: 3)
        var frames: [(x: [Float], c: Int)] = []
        for c in 0..<3 {
            for _ in 0..<2000 {
                let x = [Float(3 * Double(c) + g.nextGaussian()), Float(5 * g.nextGaussian()), Float(0.5 * g.nextGaussian())]
                statistics.accumulate(x[...], class: c)
                frames.append((x, c))
            }
        }
        let projection = try statistics.transform(to: 2)
        let first = Array(projection[0..<3])
        #expect(abs(first[0]) > 20 * max(abs(first[1]), abs(first[2])), "\(first)")
        // Within-class variance of the first projected coordinate: 1.
        var perClass = [[Double]](repeating: [], count: 3)
        for (x, c) in frames { perClass[c].append((0..<3).reduce(0.0) { $0 + first[$1] * Double(x[$1]) }) }
        let variance = perClass.map { v in let m = v.reduce(0, +) / Double(v.count); return v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(v.count) }
        #expect(abs(variance.reduce(0, +) / 3 - 1) < 0.02, "\(variance)")
    }

    @Test func aSingularWithinClassScatterIsNamed() {
        var statistics = LDAStatistics(dimension: 3, classes: 2)
        var g = SeededGenerator(seed: 2)
        for c in 0..<2 { for _ in 0..<50 { statistics.accumulate([Float(c) + Float(g.nextGaussian()), Float(g.nextGaussian()), 7][...], class: c) } }
        let error = #expect(throws: FeatureTransformError.self) { try statistics.transform(to: 2) }
        #expect(error?.description.contains("dimension 2") == true, "\(String(describing: error))")
        #expect(throws: FeatureTransformError.self) { try LDAStatistics(dimension: 3, classes: 2).transform(to: 2) }
    }
}
