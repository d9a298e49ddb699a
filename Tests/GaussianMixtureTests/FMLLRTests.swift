import Foundation
@testable import GaussianMixture
import SpeechBase
import Testing

@Suite struct FMLLRTests {
    /// Frames drawn from a three-Gaussian model in 3-D, then distorted by y = M x + c: the
    /// statistics of the distorted frames (posteriors from the true component) give back
    /// W ≈ [M⁻¹, −M⁻¹ c], which undoes the distortion.
    static func distorted(_ M: [Double], _ c: [Double], frames: Int, seed: UInt64)
        -> (statistics: FMLLRStatistics, model: [(mean: [Double], variance: [Double])]) {
        let model: [(mean: [Double], variance: [Double])] = [([2, 0, -1], [1, 0.5, 2]), ([-2, 1, 0], [0.5, 1, 1]), ([0, -2, 2], [2, 1, 0.5])]
        var g = SeededGenerator(seed: seed)
        var statistics = FMLLRStatistics(dimension: 3)
        for t in 0..<frames {
            let (mean, variance) = model[t % 3]
            let x = (0..<3).map { mean[$0] + variance[$0].squareRoot() * g.nextGaussian() }
            var y = [Float](repeating: 0, count: 3)
            for i in 0..<3 {
                var sum = c[i]
                for j in 0..<3 { sum += M[i * 3 + j] * x[j] }
                y[i] = Float(sum)
            }
            y.withUnsafeBufferPointer { statistics.accumulate($0, gaussians: [(mean[...], variance[...], 1)]) }
        }
        return (statistics, model)
    }

    @Test func aFullTransformUndoesAKnownAffineDistortion() throws {
        let M = [1.2, 0.3, 0, -0.2, 0.9, 0.1, 0.1, 0, 1.5], c = [0.5, -1, 2]
        let (statistics, _) = Self.distorted(M, c, frames: 30000, seed: 1)
        let W = try FMLLRTransform.estimate(.full, from: statistics, iterations: 20)
        // W applied after the distortion is the identity: A M = I and A c + b = 0.
        for i in 0..<3 {
            for j in 0..<3 {
                let product = (0..<3).reduce(0.0) { $0 + W.matrix[i * 4 + $1] * M[$1 * 3 + j] }
                #expect(abs(product - (i == j ? 1 : 0)) < 0.03, "(A M)[\(i),\(j)] = \(product)")
            }
            let offset = W.matrix[i * 4 + 3] + (0..<3).reduce(0.0) { $0 + W.matrix[i * 4 + $1] * c[$1] }
            #expect(abs(offset) < 0.05, "(A c + b)[\(i)] = \(offset)")
        }
    }

    @Test func theAuxiliaryFunctionNeverDecreases() throws {
        let (statistics, _) = Self.distorted([1.2, 0.3, 0, -0.2, 0.9, 0.1, 0.1, 0, 1.5], [0.5, -1, 2], frames: 3000, seed: 2)
        var previous = statistics.auxiliary(FMLLRTransform(dimension: 3))
        for sweeps in 1...6 {
            let q = statistics.auxiliary(try FMLLRTransform.estimate(.full, from: statistics, iterations: sweeps))
            #expect(q >= previous - 1e-6, "\(sweeps) sweeps: \(q) < \(previous)")
            previous = q
        }
        // The simpler kinds are constrained versions of the full one: never better than it.
        for kind in [FMLLRTransform.Kind.diagonal, .bias] {
            let q = statistics.auxiliary(try FMLLRTransform.estimate(kind, from: statistics))
            #expect(q <= previous + 1e-6 && q > statistics.auxiliary(FMLLRTransform(dimension: 3)))
        }
    }

    @Test func aDiagonalTransformUndoesAScaleAndOffset() throws {
        let (statistics, _) = Self.distorted([2, 0, 0, 0, 0.5, 0, 0, 0, 1.5], [1, -2, 0.5], frames: 20000, seed: 3)
        let W = try FMLLRTransform.estimate(.diagonal, from: statistics)
        for (i, (scale, offset)) in [(2.0, 1.0), (0.5, -2.0), (1.5, 0.5)].enumerated() {
            #expect(abs(W.matrix[i * 4 + i] * scale - 1) < 0.03)
            #expect(abs(W.matrix[i * 4 + i] * offset + W.matrix[i * 4 + 3]) < 0.05)
            for j in 0..<3 where j != i { #expect(W.matrix[i * 4 + j] == 0) }
        }
    }

    @Test func anOffsetAloneUndoesAShift() throws {
        let (statistics, _) = Self.distorted([1, 0, 0, 0, 1, 0, 0, 0, 1], [1, -2, 0.5], frames: 20000, seed: 4)
        let W = try FMLLRTransform.estimate(.bias, from: statistics)
        #expect(W.linearPart == [1, 0, 0, 0, 1, 0, 0, 0, 1])
        for (i, shift) in [1.0, -2, 0.5].enumerated() { #expect(abs(W.matrix[i * 4 + 3] + shift) < 0.03) }
        let shifted = W.apply([1, -2, 0.5])
        #expect(shifted.allSatisfy { abs($0) < 0.03 })
    }

    @Test func statisticsWithoutFramesAreRefused() throws {
        #expect(throws: FeatureTransformError.self) { try FMLLRTransform.estimate(.full, from: FMLLRStatistics(dimension: 2)) }
        #expect(try FMLLRTransform.estimate(.none, from: FMLLRStatistics(dimension: 2)) == FMLLRTransform(dimension: 2))
    }

    /// Statistics added in two halves equal those accumulated at once.
    @Test func statisticsAddUp() {
        let M = [1.0, 0.2, 0, 0, 1, 0, 0, 0, 1]
        var a = Self.distorted(M, [0, 0, 0], frames: 1500, seed: 5).statistics
        let b = Self.distorted(M, [0, 0, 0], frames: 1500, seed: 6).statistics
        let single = a.auxiliary(FMLLRTransform(dimension: 3)) + b.auxiliary(FMLLRTransform(dimension: 3))
        a.add(b)
        #expect(abs(a.auxiliary(FMLLRTransform(dimension: 3)) - single) < 1e-6 * abs(single))
        #expect(a.count == 3000)
    }

    /// Gaussians' scatters Σ γ ξ ξᵀ added in blocks give the statistics of their frames added
    /// one by one with the same posteriors.
    @Test func scattersOfGaussiansGiveTheStatisticsOfTheirFrames() {
        let D = 3, E = D + 1
        let model: [(mean: [Double], variance: [Double])] = [([2, 0, -1], [1, 0.5, 2]), ([-2, 1, 0], [0.5, 1, 1]), ([0, -2, 2], [2, 1, 0.5])]
        var g = SeededGenerator(seed: 11)
        var byFrame = FMLLRStatistics(dimension: D)
        var scatters = [Double](repeating: 0, count: model.count * E * E)
        for _ in 0..<500 {
            let x = (0..<D).map { _ in Float(2 * g.nextGaussian()) }
            let posteriors = (0..<model.count).map { _ in g.nextUnit() }
            x.withUnsafeBufferPointer { byFrame.accumulate($0, gaussians: zip(model, posteriors).map { ($0.mean[...], $0.variance[...], $1) }) }
            let xi = x.map(Double.init) + [1]
            for (j, p) in posteriors.enumerated() { for r in 0..<E { for c in 0..<E { scatters[j * E * E + r * E + c] += p * xi[r] * xi[c] } } }
        }
        var byGaussian = FMLLRStatistics(dimension: D)
        let means = model.flatMap(\.mean), variances = model.flatMap(\.variance)
        // Blocks of two and one Gaussian: the sums must not depend on the split.
        for range in [0..<2, 2..<3] {
            scatters[(range.lowerBound * E * E)..<(range.upperBound * E * E)].withUnsafeBufferPointer { s in
                means[(range.lowerBound * D)..<(range.upperBound * D)].withUnsafeBufferPointer { m in
                    variances[(range.lowerBound * D)..<(range.upperBound * D)].withUnsafeBufferPointer { v in
                        byGaussian.add(scatters: s, means: m, variances: v, count: range.count)
                    }
                }
            }
        }
        let (a, b) = (byFrame.folded, byGaussian.folded)
        #expect(abs(a.count - b.count) < 1e-9 * a.count)
        #expect(zip(a.linear, b.linear).allSatisfy { abs($0 - $1) < 1e-9 * max(1, abs($0)) }, "k: \(a.linear) against \(b.linear)")
        for i in 0..<D {
            #expect(zip(a.quadratic[i], b.quadratic[i]).allSatisfy { abs($0 - $1) < 1e-9 * max(1, abs($0)) }, "G_\(i)")
        }
    }
}

@Suite struct ComponentPosteriorTests {
    @Test func posteriorsAreTheComponentsSharesOfTheLikelihood() {
        let gmm = DiagonalGMM(dimension: 2, weights: [0.25, 0.75], means: [0, 0, 3, 1], variances: [1, 2, 0.5, 1])
        var posteriors: [Double] = []
        let x = [1.0, 0.5]
        gmm.componentPosteriors(x, into: &posteriors)
        let p = (0..<2).map { exp(gmm.componentLogLikelihood($0, x)) }
        #expect(abs(posteriors[0] - p[0] / (p[0] + p[1])) < 1e-12 && abs(posteriors.reduce(0, +) - 1) < 1e-12)
        gmm.componentPosteriors([300, -200], into: &posteriors)  // far from both: no underflow to 0/0
        #expect(posteriors.allSatisfy(\.isFinite) && abs(posteriors.reduce(0, +) - 1) < 1e-12)
    }
}
