import CMPI
import Foundation
import Synchronization

/// The ranks of `MPI_COMM_WORLD` (Open MPI), for a process started by `mpirun` or `srun`.
/// Collectives are called from one thread (the command's), never from the workers inside a rank.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int

    /// Initializes MPI; fails with the library's reason.
    init() throws {
        let status = speechlab_mpi_init()
        guard status == MPI_SUCCESS else { throw DistributedError("MPI_Init failed: \(Self.reason(status))") }
        rank = Int(speechlab_mpi_rank())
        size = Int(speechlab_mpi_size())
    }

    /// MPI counts are 32-bit: long buffers go in pieces.
    static let piece = 1 << 27

    private func check(_ status: Int32, _ operation: String) throws {
        guard status != MPI_SUCCESS else { return }
        throw DistributedError("rank \(rank): \(operation) failed: \(Self.reason(status))")
    }

    static func reason(_ status: Int32) -> String {
        var text = [CChar](repeating: 0, count: 512)
        speechlab_mpi_error_string(status, &text, Int32(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func inPieces<T>(_ values: inout [T], _ operation: String, _ call: (UnsafeMutablePointer<T>, Int32) -> Int32) throws {
        try values.withUnsafeMutableBufferPointer { buffer in
            for start in stride(from: 0, to: buffer.count, by: Self.piece) {
                try check(call(buffer.baseAddress! + start, Int32(min(Self.piece, buffer.count - start))), operation)
            }
        }
    }

    public func sum(_ values: inout [Float]) throws { try inPieces(&values, "all-reduce (Float)") { speechlab_mpi_sum_float($0, $1) } }
    public func sum(_ values: inout [Double]) throws { try inPieces(&values, "all-reduce (Double)") { speechlab_mpi_sum_double($0, $1) } }
    public func sum(_ values: inout [Int64]) throws { try inPieces(&values, "all-reduce (Int64)") { speechlab_mpi_sum_int64($0, $1) } }
    public func maximum(_ values: inout [Int64]) throws { try inPieces(&values, "all-reduce max") { speechlab_mpi_max_int64($0, $1) } }
    public func sum(_ values: inout ExactSums) throws {
        try inPieces(&values.values, "all-reduce (exact sums)") { speechlab_mpi_sum_int128($0, $1) }
    }

    public func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8] {
        var length: [Int64] = [rank == root ? Int64(bytes.count) : 0]
        try length.withUnsafeMutableBytes { try check(speechlab_mpi_broadcast($0.baseAddress, 8, Int32(root)), "broadcast") }
        var buffer = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try inPieces(&buffer, "broadcast") { speechlab_mpi_broadcast($0, $1, Int32(root)) }
        return buffer
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var lengths = [Int64](repeating: 0, count: size)
        try check(speechlab_mpi_allgather_int64(Int64(bytes.count), &lengths), "all-gather")
        var received = lengths.map { [UInt8](repeating: 0, count: Int($0)) }
        // In rounds of at most `gatherPiece` bytes from each rank: one call carries at most
        // 2 GB in all (32-bit counts and displacements).
        let piece = Int64(max(1, Int(Int32.max) / max(size, 1)))
        let rounds = Int(((lengths.max() ?? 0) + piece - 1) / piece)
        for round in 0..<rounds {
            let start = Int64(round) * piece
            let counts = lengths.map { Int32(max(0, min(piece, $0 - start))) }
            var displacements = [Int32](repeating: 0, count: size)
            for r in 1..<max(size, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
            var buffer = [UInt8](repeating: 0, count: Int(counts.reduce(0) { $0 + Int64($1) }))
            let mine = bytes.count > Int(start) ? Array(bytes[Int(start)..<min(bytes.count, Int(start + piece))]) : []
            try check(speechlab_mpi_allgatherv(mine, Int32(mine.count), &buffer, counts, displacements), "all-gather")
            for r in 0..<size where counts[r] > 0 {
                received[r].replaceSubrange(Int(start)..<(Int(start) + Int(counts[r])), with: buffer[Int(displacements[r])..<(Int(displacements[r]) + Int(counts[r]))])
            }
        }
        return received
    }

    public func barrier() throws { try check(speechlab_mpi_barrier(), "barrier") }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        speechlab_mpi_abort(code)
        exit(code)
    }

    /// Ends MPI at a normal exit (every rank must).
    func finalize() { _ = speechlab_mpi_finalize() }
}

/// The job this process belongs to: MPI's ranks when a launcher started it (`mpirun`,
/// `srun`), else one process alone, without initializing MPI.
public enum Distributed {
    /// The launcher's rank and size from the environment (Open MPI's `mpirun`, Slurm's `srun`,
    /// PMI/PMIx), or nil when no launcher started this process.
    public static func launch(environment: [String: String] = ProcessInfo.processInfo.environment) -> (rank: Int, size: Int)? {
        let pairs = [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMIX_RANK", "PMIX_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                     ("SLURM_PROCID", "SLURM_NTASKS")]
        for (rankKey, sizeKey) in pairs {
            if let r = environment[rankKey].flatMap(Int.init) {
                // srun sets SLURM_NTASKS; PMIx leaves the size to MPI: 0 means "ask MPI".
                let s = environment[sizeKey].flatMap(Int.init) ?? 0
                if rankKey == "SLURM_PROCID", environment["SLURM_STEP_ID"] == nil { continue }  // a batch script, not a task
                return (r, s)
            }
        }
        return nil
    }

    private static let state = Mutex<(any Communicator)?>(nil)

    /// The job's communicator, made on first use: MPI is initialized only then, and only
    /// under a launcher. An MPI that cannot start, or one that sees fewer ranks than the
    /// launcher started (srun without an MPI plugin), ends the process with the reason.
    public static var world: any Communicator {
        state.withLock { current in
            if let current { return current }
            let made: any Communicator
            if let launched = launch() {
                do {
                    let mpi = try MPICommunicator()
                    if launched.size > 1, mpi.size != launched.size {
                        mpi.abort("speechlab: the launcher started \(launched.size) tasks but MPI sees \(mpi.size): "
                            + "with srun, give --mpi=pmix (or pmi2) so that the tasks form one job", code: 1)
                    }
                    made = mpi
                } catch {
                    FileHandle.standardError.write(Data("speechlab: \(error)\n".utf8))
                    exit(1)
                }
            } else {
                made = SingleProcess()
            }
            current = made
            return made
        }
    }

    /// Whether MPI has been initialized in this process (collectives have been or may be used).
    public static var isInitialized: Bool { state.withLock { $0 is MPICommunicator } }

    /// The launcher's rank when MPI is not (yet) initialized, e.g. for an error in the
    /// arguments that every rank meets alike (only rank 0 then reports it).
    public static var launcherRank: Int? { launch()?.rank }

    /// Ends MPI at a normal exit; nothing without a launcher.
    public static func finish() {
        state.withLock { ($0 as? MPICommunicator)?.finalize() }
    }
}
