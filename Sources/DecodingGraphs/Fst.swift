import CFstShim
import Foundation
import SpeechBase

/// A weighted finite-state transducer in OpenFst's memory (`StdVectorFst`: tropical weights,
/// costs = −log probabilities), built arc by arc and transformed by the library's own
/// algorithms through a small C shim. Label 0 is epsilon.
public final class Fst: @unchecked Sendable {
    let handle: OpaquePointer

    /// An empty FST (no states).
    public init() { handle = sl_fst_new() }

    init(taking handle: OpaquePointer) { self.handle = handle }

    deinit { sl_fst_free(handle) }

    /// An independent copy.
    public func copy() -> Fst { Fst(taking: sl_fst_copy(handle)) }

    @discardableResult
    public func addState() -> Int { Int(sl_fst_add_state(handle)) }
    public func setStart(_ state: Int) { sl_fst_set_start(handle, Int32(state)) }
    /// Makes `state` final with `cost` (+∞: not final).
    public func setFinal(_ state: Int, cost: Float = 0) { sl_fst_set_final(handle, Int32(state), cost) }
    public func addArc(from state: Int, input: Int, output: Int, cost: Float = 0, to next: Int) {
        sl_fst_add_arc(handle, Int32(state), Int32(input), Int32(output), cost, Int32(next))
    }

    /// The start state, or nil when there is none (an empty FST).
    public var start: Int? { let s = sl_fst_start(handle); return s < 0 ? nil : Int(s) }
    public var stateCount: Int { Int(sl_fst_state_count(handle)) }
    public var arcCount: Int { Int(sl_fst_arc_count(handle)) }
    /// The final cost of `state` (+∞ when it is not final).
    public func finalCost(_ state: Int) -> Float { sl_fst_final(handle, Int32(state)) }

    /// One arc.
    public struct Arc: Sendable, Equatable {
        public var input: Int32, output: Int32
        public var cost: Float
        public var next: Int32
    }

    /// The arcs leaving `state`.
    public func arcs(_ state: Int) -> [Arc] {
        let n = Int(sl_fst_state_arc_count(handle, Int32(state)))
        var inputs = [Int32](repeating: 0, count: n), outputs = inputs, nexts = inputs
        var costs = [Float](repeating: 0, count: n)
        if n > 0 { sl_fst_arcs(handle, Int32(state), &inputs, &outputs, &costs, &nexts) }
        return (0..<n).map { Arc(input: inputs[$0], output: outputs[$0], cost: costs[$0], next: nexts[$0]) }
    }

    /// self ∘ other.
    public func composed(with other: Fst) throws -> Fst {
        try Self.result { sl_fst_compose(handle, other.handle, $0, $1) }
    }

    /// The equivalent input-deterministic FST (the input must be determinizable: a functional
    /// transducer, which disambiguation symbols make of a lexicon or grammar).
    public func determinized(delta: Float = 1.0 / 1024) throws -> Fst {
        try Self.result { sl_fst_determinize(handle, delta, $0, $1) }
    }

    /// Minimizes in place (for transducers with labels and weights encoded together).
    public func minimize(delta: Float = 1.0 / 1024) throws {
        try Self.check { sl_fst_minimize(handle, delta, $0, $1) }
    }

    /// Removes arcs whose labels are both epsilon, in place.
    public func removeEpsilons() throws {
        try Self.check { sl_fst_remove_epsilons(handle, $0, $1) }
    }

    public func sortArcs(byOutput: Bool = false) { sl_fst_sort_arcs(handle, byOutput ? 1 : 0) }

    /// Replaces the given input labels (disambiguation symbols by epsilon, say).
    public func relabelInputs(_ mapping: [(from: Int, to: Int)]) {
        let from = mapping.map { Int32($0.from) }, to = mapping.map { Int32($0.to) }
        sl_fst_relabel_inputs(handle, from, to, Int32(mapping.count))
    }

    /// Keeps the input labels only (an acceptor).
    public func projectInputs() { sl_fst_project_inputs(handle) }

    /// Keeps only states on a path from the start to a final state.
    public func connect() { sl_fst_connect(handle) }

    public var isInputDeterministic: Bool { sl_fst_is_input_deterministic(handle) == 1 }
    public var hasInputEpsilons: Bool { sl_fst_has_input_epsilons(handle) == 1 }

    /// OpenFst's binary format (`fstinfo`, `fstprint` and Kaldi read it).
    public func serialized() throws -> Data {
        var size: Int64 = 0
        var message = [CChar](repeating: 0, count: 512)
        guard let bytes = sl_fst_serialize(handle, &size, &message, Int32(message.count)) else { throw GraphError(Self.text(message)) }
        return Data(bytesNoCopy: bytes, count: Int(size), deallocator: .free)
    }

    /// The C shim's NUL-terminated message.
    static func text(_ message: [CChar]) -> String {
        String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes OpenFst's binary format to `path` whole (``AtomicFile``).
    public func write(to path: String) throws {
        do { try AtomicFile.write(serialized(), to: path) } catch let error as GraphError { throw error } catch { throw GraphError(FileError.reason(error)) }
    }

    /// Reads OpenFst's binary format (a `StdVectorFst` or any FST with standard arcs).
    public static func read(_ path: String) throws -> Fst {
        guard FileManager.default.fileExists(atPath: path) else { throw GraphError("\(path): does not exist") }
        return try result { sl_fst_read(path, $0, $1) }
    }

    private static func result(_ body: (UnsafeMutablePointer<CChar>, Int32) -> OpaquePointer?) throws -> Fst {
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = body(&message, Int32(message.count)) else { throw GraphError(Self.text(message)) }
        return Fst(taking: handle)
    }

    private static func check(_ body: (UnsafeMutablePointer<CChar>, Int32) -> Int32) throws {
        var message = [CChar](repeating: 0, count: 512)
        guard body(&message, Int32(message.count)) == 0 else { throw GraphError(Self.text(message)) }
    }
}

/// A graph could not be built, read or written; the description says which and why.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
