import Foundation
@testable import GaussianMixture
import Testing

@Suite struct MLLTTests {
    /// Two Gaussians whose covariances share a 30° rotation of diag(4, 0.25): MLLT finds the
    /// rotation back (the transformed covariances become diagonal), and its auxiliary function
    /// never decreases along the way. The variances are re-estimated in the new space between
    /// estimates, as training does.
    @Test func aSharedRotationOfTheCovariancesIsUndone() throws {
        let angle = Double.pi / 6, (c, s) = (cos(angle), sin(angle))
        let R = [c, -s, s, c]
        func rotated(_ d: [Double]) -> [Double] {  // R diag(d) Rᵀ
            [R[0] * R[0] * d[0] + R[1] * R[1] * d[1], R[0] * R[2] * d[0] + R[1] * R[3] * d[1],
             R[2] * R[0] * d[0] + R[3] * R[1] * d[1], R[2] * R[2] * d[0] + R[3] * R[3] * d[1]]
        }
        let covariances = [rotated([4, 0.25]), rotated([1, 0.1])], occupancy = 1000.0
        func transformed(_ A: [Double], _ S: [Double]) -> [Double] {  // A S Aᵀ
            var out = [Double](repeating: 0, count: 4)
            for i in 0..<2 { for j in 0..<2 { for k in 0..<2 { for l in 0..<2 { out[i * 2 + j] += A[i * 2 + k] * S[k * 2 + l] * A[j * 2 + l] } } } }
            return out
        }
        var A = [1.0, 0, 0, 1]
        let before = covariances.map { abs($0[1]) / ($0[0] * $0[3]).squareRoot() }
        for _ in 0..<30 {
            // Statistics in the current space, variances the diagonal of each transformed covariance.
            var statistics = MLLTStatistics(dimension: 2)
            for S in covariances {
                let T = transformed(A, S)
                statistics.add(scatter: T.map { $0 * occupancy }, occupancy: occupancy, variances: [T[0], T[3]][...])
            }
            let identity = [1.0, 0, 0, 1]
            let step = try statistics.estimate(iterations: 5)
            #expect(statistics.auxiliary(step) >= statistics.auxiliary(identity) - 1e-9)
            for sweeps in 1...4 {  // more sweeps never lower Q
                #expect(statistics.auxiliary(try statistics.estimate(iterations: sweeps + 1)) >= statistics.auxiliary(try statistics.estimate(iterations: sweeps)) - 1e-9)
            }
            A = [step[0] * A[0] + step[1] * A[2], step[0] * A[1] + step[1] * A[3], step[2] * A[0] + step[3] * A[2], step[2] * A[1] + step[3] * A[3]]
        }
        for S in covariances {
            let T = transformed(A, S)
            #expect(abs(T[1]) / (T[0] * T[3]).squareRoot() < 0.01, "\(T), correlation \(before) before")
        }
    }

    @Test func tooFewFramesAreRefused() {
        var statistics = MLLTStatistics(dimension: 3)
        statistics.add(scatter: [Double](repeating: 0, count: 9), occupancy: 2, variances: [1, 1, 1][...])
        #expect(throws: FeatureTransformError.self) { try statistics.estimate() }
    }
}
