import ArgumentParser
import Distributed
import Foundation

/// `speechlab ranks`: checks an MPI job before a long run on it.
struct Ranks: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        abstract: "Check the ranks of an MPI job: each reports its host, and the collectives speechlab uses are verified on known buffers.",
        discussion: """
            Run it the way training will run: 'mpirun -np 4 speechlab ranks', or under Slurm \
            'srun -n 4 --mpi=pmix speechlab ranks'. Rank 0 prints one line per rank and whether each \
            collective (all-reduce of Float, Double, Int64 and exact fixed-point sums, broadcast, \
            all-gather) gave the expected values on every rank. Without a launcher it reports one rank.
            """
    )

    func run() throws {
        let world = Distributed.world
        let r = world.rank, n = world.size
        // Known buffers: rank r contributes r+1 (and its rank-dependent pattern), so the sums
        // are n(n+1)/2 times the pattern, the same on every rank.
        var floats = (0..<1000).map { Float($0 % 7) * Float(r + 1) }
        var doubles = (0..<1000).map { Double($0) * 0.5 * Double(r + 1) }
        var integers = (0..<10).map { Int64($0) * Int64(r + 1) }
        var exact = ExactSums(count: 3)
        exact.add([0.1 * Double(r + 1), -1e12, 1e-9], at: 0)
        try world.sum(&floats)
        try world.sum(&doubles)
        try world.sum(&integers)
        try world.sum(&exact)
        let scale = Double(n * (n + 1) / 2)
        var failures: [String] = []
        if floats.enumerated().contains(where: { $0.element != Float($0.offset % 7) * Float(scale) }) { failures.append("all-reduce Float") }
        if doubles.enumerated().contains(where: { $0.element != Double($0.offset) * 0.5 * scale }) { failures.append("all-reduce Double") }
        if integers.enumerated().contains(where: { $0.element != Int64($0.offset) * Int64(scale) }) { failures.append("all-reduce Int64") }
        var expected = ExactSums(count: 3)
        for k in 0..<n { expected.add([0.1 * Double(k + 1), -1e12, 1e-9], at: 0) }
        if exact != expected { failures.append("exact sums") }
        let word = try world.broadcast(r == 0 ? "from rank 0" : nil, from: 0)
        if word != "from rank 0" { failures.append("broadcast") }
        let host = ProcessInfo.processInfo.hostName
        let reports = try world.allGather(RankReport(rank: r, host: host, process: Int(getpid()), failures: failures))
        if reports.map(\.rank) != Array(0..<n) { failures.append("all-gather") }
        try world.barrier()
        guard world.isWriter else { return }
        print("speechlab ranks: \(n) rank\(n == 1 ? "" : "s")\(n == 1 && Distributed.launch() == nil ? " (no launcher: one process, MPI not started)" : "")")
        for report in reports {
            print("rank \(report.rank): host \(report.host), process \(report.process): " + (report.failures.isEmpty ? "ok" : "FAILED " + report.failures.joined(separator: ", ")))
        }
        let failed = reports.filter { !$0.failures.isEmpty }.map(\.rank)
        guard failed.isEmpty else { throw CommandFailure("collectives gave wrong values on rank\(failed.count == 1 ? "" : "s") \(failed.map(String.init).joined(separator: ", "))") }
        print("all-reduce (Float, Double, Int64, exact sums), broadcast, all-gather: ok")
    }
}

struct RankReport: Codable {
    var rank: Int
    var host: String
    var process: Int
    var failures: [String]
}
