import CMPI
import Foundation

/// The processes of one job and the collective operations speechlab needs among them: sums
/// before every M-step and optimizer step, the model broadcast, a barrier. Ranks are numbered
/// from 0; rank 0 writes the outputs. Every rank must call the same collectives in the same
/// order (MPI's rule): a rank that cannot go on ends the whole job (``abort(_:code:)``).
public protocol Communicator: AnyObject, Sendable {
    /// This process's rank, `0..<size`.
    var rank: Int { get }
    var size: Int { get }
    /// Sums each element over the ranks, in place (every rank gets the sums).
    func sum(_ values: inout [Float]) throws
    func sum(_ values: inout [Double]) throws
    func sum(_ values: inout [Int64]) throws
    /// Exact sums of fixed-point values (``ExactSums``): the same on every rank and for every
    /// order of the ranks.
    func sum(_ values: inout ExactSums) throws
    /// The largest of each element over the ranks, in place.
    func maximum(_ values: inout [Int64]) throws
    /// `bytes` of rank `root`, on every rank.
    func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8]
    /// Every rank's `bytes`, in rank order.
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    func barrier() throws
    /// Ends every rank of the job with `code` after this rank's `message` (on standard error).
    func abort(_ message: String, code: Int32) -> Never
}

extension Communicator {
    /// True on the rank that writes outputs (rank 0).
    public var isWriter: Bool { rank == 0 }

    /// Every rank's `value`, in rank order.
    public func allGather<T: Codable>(_ value: T) throws -> [T] {
        try allGather(JSONEncoder().encode(value).map { $0 }).map { try JSONDecoder().decode(T.self, from: Data($0)) }
    }

    /// Rank `root`'s value on every rank (`value` is used only on `root`).
    public func broadcast<T: Codable>(_ value: T?, from root: Int = 0) throws -> T {
        let bytes = try rank == root ? JSONEncoder().encode(value).map { $0 } : []
        let received = try broadcast(bytes, from: root)
        guard let decoded = try JSONDecoder().decode(T?.self, from: Data(received)) else {
            throw DistributedError("broadcast: rank \(root) had no value to send")
        }
        return decoded
    }

    /// The sum of `value` over the ranks.
    public func sum(_ value: Int) throws -> Int {
        var buffer = [Int64(value)]
        try sum(&buffer)
        return Int(buffer[0])
    }

    /// Whether `condition` holds on every rank (a collective: every rank must call it).
    public func all(_ condition: Bool) throws -> Bool {
        var flag: [Int64] = [condition ? 0 : 1]
        try maximum(&flag)
        return flag[0] == 0
    }
}

/// A failed collective operation, naming it and the library's reason.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One process alone (not launched by `mpirun` or `srun`): every collective is the identity,
/// and MPI is never initialized, so a single run behaves and performs as without MPI.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func sum(_ values: inout [Float]) throws {}
    public func sum(_ values: inout [Double]) throws {}
    public func sum(_ values: inout [Int64]) throws {}
    public func sum(_ values: inout ExactSums) throws {}
    public func maximum(_ values: inout [Int64]) throws {}
    public func broadcast(_ bytes: [UInt8], from root: Int) throws -> [UInt8] { bytes }
    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
    public func barrier() throws {}
    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(code)
    }
}

/// An error every rank meets at the same point from the same (gathered) data, such as a
/// corpus in which too many utterances failed: rank 0 alone reports it, and every rank ends
/// with the same status without aborting the job.
public protocol ErrorOnEveryRank: Error {}

/// Any error marked as met by every rank alike (see ``ErrorOnEveryRank``).
public struct OnEveryRank: ErrorOnEveryRank, CustomStringConvertible {
    public var error: any Error
    public init(_ error: any Error) { self.error = error }
    public var description: String { "\(error)" }
}
