import Foundation
import GaussianMixture
import SpeechBase
import TensorCore
import Testing

/// Frames drawn from N(mean, std²) per dimension.
func gaussianFrames(_ count: Int, mean: [Double], std: [Double], seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    var out: [Float] = []
    for _ in 0..<count { for d in mean.indices { out.append(Float(mean[d] + std[d] * g.nextGaussian())) } }
    return out
}

@Suite struct GaussianMixtureTests {
    @Test func gemmLikelihoodsMatchTheDirectFormula() {
        let a = DiagonalGMM(dimension: 3, weights: [0.3, 0.7], means: [0, 1, 2, -1, 0.5, 3], variances: [1, 2, 0.5, 0.3, 1.5, 4])
        let b = DiagonalGMM(mean: [5, -2, 0], variance: [2, 2, 2])
        let likelihoods = GMMLikelihoods([a, b])
        let frames = gaussianFrames(7, mean: [0, 0, 1], std: [2, 2, 2], seed: 1)
        let ll = likelihoods.logLikelihoods(frames, count: 7)
        for t in 0..<7 {
            let x = (0..<3).map { Double(frames[t * 3 + $0]) }
            for (s, gmm) in [a, b].enumerated() {
                let reference = gmm.logLikelihood(x)
                #expect(abs(Double(ll[t * 2 + s]) - reference) < 1e-3 * max(1, abs(reference)), "t \(t) s \(s)")
            }
        }
    }

    @Test func updateRecoversTheDataAndFloorsVariances() {
        let frames = gaussianFrames(20_000, mean: [2, -3], std: [0.5, 2], seed: 2)
        var statistics = GaussianStatistics(dimension: 2, components: 1)
        frames.withUnsafeBufferPointer { x in
            for t in 0..<20_000 { statistics.accumulate(component: 0, frame: x.baseAddress! + 2 * t, weight: 1) }
        }
        var gmm = DiagonalGMM(mean: [0, 0], variance: [1, 1])
        gmm.update(from: statistics, varianceFloor: [1, 1])
        #expect(abs(gmm.means[0] - 2) < 0.02 && abs(gmm.means[1] + 3) < 0.05)
        #expect(abs(gmm.variances[0] - 0.25) < 0.02 && abs(gmm.variances[1] - 4) < 0.15)
        // Constant data: zero variance is floored, never a NaN.
        var constant = GaussianStatistics(dimension: 2, components: 1)
        let same: [Float] = [1, 1]
        same.withUnsafeBufferPointer { x in for _ in 0..<50 { constant.accumulate(component: 0, frame: x.baseAddress!, weight: 1) } }
        var degenerate = DiagonalGMM(mean: [0, 0], variance: [1, 1])
        degenerate.update(from: constant, varianceFloor: [2, 2], options: GMMUpdateOptions())
        #expect(degenerate.isValid && degenerate.variances == [0.02, 0.02])
    }

    @Test func starvedComponentsAreRemovedAndSplittingPerturbsByASigmaFraction() {
        var gmm = DiagonalGMM(mean: [1, 2], variance: [4, 9])
        gmm.splitHeaviestComponent(perturbation: 0.2)
        #expect(gmm.componentCount == 2 && gmm.weights == [0.5, 0.5])
        #expect(gmm.means == [1.4, 2.6, 0.6, 1.4])
        var statistics = GaussianStatistics(dimension: 2, components: 2)
        let x: [Float] = [1, 2]
        x.withUnsafeBufferPointer { p in
            for _ in 0..<100 { statistics.accumulate(component: 0, frame: p.baseAddress!, weight: 1) }
            statistics.accumulate(component: 1, frame: p.baseAddress!, weight: 0.5)
        }
        let removed = gmm.update(from: statistics, varianceFloor: [1, 1])
        #expect(removed == 1 && gmm.componentCount == 1 && gmm.weights == [1])
    }

    @Test func statisticsOfShardsAddUpToTheWhole() throws {
        let frames = gaussianFrames(100, mean: [0, 1, 2], std: [1, 1, 1], seed: 3)
        var whole = GaussianStatistics(dimension: 3, components: 2), a = whole, b = whole
        frames.withUnsafeBufferPointer { x in
            for t in 0..<100 {
                whole.accumulate(component: t % 2, frame: x.baseAddress! + 3 * t, weight: 0.5)
                if t < 40 { a.accumulate(component: t % 2, frame: x.baseAddress! + 3 * t, weight: 0.5) } else {
                    b.accumulate(component: t % 2, frame: x.baseAddress! + 3 * t, weight: 0.5)
                }
            }
        }
        a.add(b)
        #expect(zip(a.firstOrder, whole.firstOrder).allSatisfy { abs($0 - $1) < 1e-9 })
        let saved = try JSONEncoder().encode(a)
        #expect(try JSONDecoder().decode(GaussianStatistics.self, from: saved) == a)
    }
}

@Suite struct MLLRTests {
    /// Statistics of data whose means are exactly A μ + b: each kind recovers what it can model.
    func statistics(of mixtures: [DiagonalGMM], A: [[Double]], b: [Double]) -> [GaussianStatistics] {
        mixtures.map { gmm in
            var s = GaussianStatistics(dimension: gmm.dimension, components: gmm.componentCount)
            for m in 0..<gmm.componentCount {
                let gamma = Double(5 + m)
                s.occupancy[m] = gamma
                for i in 0..<gmm.dimension {
                    let mean = b[i] + (0..<gmm.dimension).reduce(0.0) { $0 + A[i][$1] * gmm.means[m * gmm.dimension + $1] }
                    s.firstOrder[m * gmm.dimension + i] = gamma * mean
                }
            }
            return s
        }
    }

    func mixtures() -> [DiagonalGMM] {
        var g = SeededGenerator(seed: 9)
        return (0..<4).map { _ in
            DiagonalGMM(dimension: 3, weights: [0.5, 0.5], means: (0..<6).map { _ in 3 * g.nextGaussian() },
                        variances: (0..<6).map { _ in 0.5 + g.nextUnit() })
        }
    }

    @Test func aKnownAffineDistortionOfTheMeansIsRecovered() {
        let gmms = mixtures()
        let A = [[1.2, 0.3, 0], [-0.1, 0.9, 0.2], [0, 0.4, 1.1]], b = [0.5, -1, 2]
        let full = MLLRTransform.estimate(.full, mixtures: gmms, statistics: statistics(of: gmms, A: A, b: b))
        for i in 0..<3 {
            #expect(abs(full.rows[i * 4] - b[i]) < 1e-8)
            for j in 0..<3 { #expect(abs(full.rows[i * 4 + 1 + j] - A[i][j]) < 1e-8) }
        }
        let adapted = full.apply(to: gmms[0])
        #expect(abs(adapted.means[0] - (b[0] + 1.2 * gmms[0].means[0] + 0.3 * gmms[0].means[1])) < 1e-8)
        // A scale and a bias per dimension, and a bias alone, are found exactly when that is the distortion.
        let scaled = MLLRTransform.estimate(.diagonal, mixtures: gmms, statistics: statistics(of: gmms, A: [[2, 0, 0], [0, 0.5, 0], [0, 0, 1]], b: b))
        #expect(zip(scaled.rows, [0.5, 2, 0, 0, -1, 0, 0.5, 0, 2, 0, 0, 1]).allSatisfy { abs($0 - $1) < 1e-8 })
        let shifted = MLLRTransform.estimate(.bias, mixtures: gmms, statistics: statistics(of: gmms, A: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], b: b))
        #expect(zip(shifted.rows, [0.5, 1, 0, 0, -1, 0, 1, 0, 2, 0, 0, 1]).allSatisfy { abs($0 - $1) < 1e-8 })
    }

    @Test func rowsWithoutDataStayTheIdentity() {
        let gmms = mixtures()
        let none = gmms.map { GaussianStatistics(dimension: $0.dimension, components: $0.componentCount) }
        #expect(MLLRTransform.estimate(.full, mixtures: gmms, statistics: none) == MLLRTransform(dimension: 3))
    }
}
