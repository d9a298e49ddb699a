import Distributed
import Foundation
import XCTest

final class ExactSumsTests: XCTestCase {
    /// Terms of very different sizes and signs, where Double sums depend on the order.
    func terms(_ count: Int, seed: UInt64) -> [Double] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Double(state >> 11) / Double(1 << 53)
            let magnitude = Foundation.pow(10, Double(Int(state % 13)) - 4)
            return (u - 0.4) * magnitude
        }
    }

    func testSumsAreTheSameBitsInAnyOrderAndAnySplit() {
        let x = terms(5000, seed: 7)
        var forward = ExactSums(count: 1), backward = ExactSums(count: 1)
        for v in x { forward.add(v, at: 0) }
        for v in x.reversed() { backward.add(v, at: 0) }
        XCTAssertEqual(forward, backward)
        // Three "ranks" with uneven shares, merged in two orders.
        var parts = [ExactSums](repeating: ExactSums(count: 1), count: 3)
        for (i, v) in x.enumerated() { parts[i % 7 == 0 ? 0 : i % 2 + 1].add(v, at: 0) }
        var merged = parts[2]
        merged.add(parts[0])
        merged.add(parts[1])
        XCTAssertEqual(merged, forward)
        // Plain Double sums of the same terms differ with the order (the reason for the type).
        XCTAssertNotEqual(x.reduce(0, +), x.reversed().reduce(0, +))
    }

    func testValueIsTheSumWithinTheResolution() {
        let x = terms(2000, seed: 3)
        var sums = ExactSums(count: 2)
        for v in x { sums.add([v, -v], at: 0) }
        // A compensated reference sum.
        var s = 0.0, c = 0.0
        for v in x { let y = v - c; let t = s + y; c = (t - s) - y; s = t }
        XCTAssertEqual(sums.value(at: 0), s, accuracy: 2000 * 0x1p-40 + abs(s) * 1e-15)
        XCTAssertEqual(sums.value(at: 1), -s, accuracy: 2000 * 0x1p-40 + abs(s) * 1e-15)
        var one = ExactSums(count: 3)
        one.add([1.5, -2.25, 1e20], at: 0)
        XCTAssertEqual(one.doubles(0..<3), [1.5, -2.25, 1e20])
    }

    func testSingleProcessCollectivesAreTheIdentity() throws {
        let world = SingleProcess()
        XCTAssertEqual(world.rank, 0)
        XCTAssertEqual(world.size, 1)
        var values: [Float] = [1, 2, 3]
        try world.sum(&values)
        XCTAssertEqual(values, [1, 2, 3])
        XCTAssertEqual(try world.allGather(["a": 1]), [["a": 1]])
        XCTAssertEqual(try world.broadcast("model", from: 0), "model")
        XCTAssertEqual(try world.sum(5), 5)
        XCTAssertTrue(try world.all(true))
    }

    func testLaunchIsReadFromTheLaunchersEnvironment() {
        XCTAssertNil(Distributed.launch(environment: [:]))
        XCTAssertEqual(Distributed.launch(environment: ["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4"])?.rank, 1)
        XCTAssertEqual(Distributed.launch(environment: ["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4"])?.size, 4)
        XCTAssertEqual(Distributed.launch(environment: ["SLURM_PROCID": "2", "SLURM_NTASKS": "3", "SLURM_STEP_ID": "0"])?.size, 3)
        // A batch script (no job step) is not a task of an MPI job.
        XCTAssertNil(Distributed.launch(environment: ["SLURM_PROCID": "0", "SLURM_NTASKS": "2", "SLURM_JOB_ID": "7"]))
    }
}
