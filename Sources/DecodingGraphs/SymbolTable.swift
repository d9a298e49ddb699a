import Foundation
import SpeechBase

/// Names of an FST's labels: id 0 is `<eps>` (epsilon), the others numbered in the order they
/// were added. Written and read in OpenFst's text form (`name id` per line), which `fstprint
/// --isymbols` and Kaldi's `words.txt`/`phones.txt` use.
public struct SymbolTable: Sendable, Equatable {
    public private(set) var names: [String]
    private var ids: [String: Int]

    public static let epsilon = "<eps>"

    public init() {
        names = [Self.epsilon]
        ids = [Self.epsilon: 0]
    }

    public init(_ symbols: some Sequence<String>) {
        self.init()
        for symbol in symbols { add(symbol) }
    }

    /// The id of `name`, added when new.
    @discardableResult
    public mutating func add(_ name: String) -> Int {
        if let id = ids[name] { return id }
        names.append(name)
        ids[name] = names.count - 1
        return names.count - 1
    }

    public func id(_ name: String) -> Int? { ids[name] }
    public var count: Int { names.count }

    /// OpenFst's text form.
    public var text: String { names.enumerated().map { "\($1) \($0)\n" }.joined() }

    public func write(to path: String) throws {
        do { try AtomicFile.write(Data(text.utf8), to: path) } catch { throw GraphError("\(error)") }
    }

    /// Reads `name id` lines with ids 0, 1, 2, … in order (`<eps>` first).
    public static func read(_ path: String) throws -> SymbolTable {
        let lines: [Substring]
        do { lines = try TextFile.lines(of: path) } catch { throw GraphError("\(error)") }
        var table = SymbolTable()
        for (n, line) in lines.enumerated() {
            let fields = TextFile.fields(line)
            guard !fields.isEmpty else { continue }
            guard fields.count == 2, let id = Int(fields[1]) else { throw GraphError("\(path):\(n + 1): expected 'symbol id'") }
            if id == 0 {
                guard fields[0] == Self.epsilon else { throw GraphError("\(path):\(n + 1): id 0 must be \(Self.epsilon)") }
                continue
            }
            guard id == table.count, table.id(String(fields[0])) == nil else {
                throw GraphError("\(path):\(n + 1): symbol '\(fields[0])' has id \(id), expected \(table.count) (ids in order, each name once)")
            }
            table.add(String(fields[0]))
        }
        return table
    }
}
