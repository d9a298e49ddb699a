import Foundation
import HiddenMarkov
import SpeechBase

/// The one owner of a decoding-graph directory's format, which `speechlab graph` writes and
/// `speechlab decode --graph` reads (Kaldi's `exp/.../graph` in spirit):
/// - `HCLG.fst`: the graph in OpenFst's binary format (`fstinfo`, `fstprint` read it); input
///   labels are frame labels, output labels words;
/// - `words.txt`: the output symbols (OpenFst/Kaldi text form);
/// - `labels.txt`: `label pdf transition` for every frame label;
/// - `graph.json`: how it was built (``GraphInfo``), and the sizes of the model it fits.
/// The files are written as one directory (``DirectoryReplacement``), so they always agree.
public enum GraphDirectory {
    /// How a graph was built, and what model it fits.
    public struct Info: Codable, Sendable, Equatable {
        public var formatVersion = 1
        /// The model's pdf and transition counts (a graph fits only a model with the same HMMs).
        public var pdfCount: Int
        public var transitionCount: Int
        /// The language model it was built from (as given), and its order.
        public var languageModel: String
        public var order: Int
        public var silenceProbability: Double
        public var selfLoopScale: Float
        public var transitionScale: Float
        public var states: Int
        public var arcs: Int

        public init(pdfCount: Int, transitionCount: Int, languageModel: String, order: Int, options: GraphCompiler.Options, states: Int, arcs: Int) {
            self.pdfCount = pdfCount
            self.transitionCount = transitionCount
            self.languageModel = languageModel
            self.order = order
            silenceProbability = options.silenceProbability
            selfLoopScale = options.selfLoopScale
            transitionScale = options.transitionScale
            self.states = states
            self.arcs = arcs
        }
    }

    public static func write(_ graph: GraphCompiler.Graph, info: Info, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let labels = graph.labels.enumerated().map { "\($0.offset + 1) \($0.element.pdf) \($0.element.transition)\n" }.joined()
        let files: [String: Data] = [
            "HCLG.fst": try graph.fst.serialized(),
            "words.txt": Data(graph.words.text.utf8),
            "labels.txt": Data(labels.utf8),
            "graph.json": try encoder.encode(info),
        ]
        do { try DirectoryReplacement.write(files, to: path) } catch { throw GraphError(FileError.reason(error)) }
    }

    /// Reads the graph at `path` in the decoder's layout, checked; errors name the file. With
    /// `model` (its pdf and transition counts), a graph built for other HMMs is refused first.
    public static func read(_ path: String, model: (pdfCount: Int, transitionCount: Int)? = nil) throws -> (graph: StaticGraph, info: Info) {
        let folder = path as NSString
        let infoPath = folder.appendingPathComponent("graph.json")
        guard FileKind.of(infoPath) != .missing else { throw GraphError("\(path): has no graph.json (make the graph with 'speechlab graph')") }
        let info: Info
        do {
            try requireRegularFile(infoPath)
            info = try JSONDecoder().decode(Info.self, from: Data(contentsOf: URL(fileURLWithPath: infoPath)))
        } catch let error as FileError {
            throw GraphError(error.description)
        } catch {
            throw GraphError("\(infoPath): is not a graph description: \(describe(error))")
        }
        guard info.formatVersion == 1 else { throw GraphError("\(infoPath): format version \(info.formatVersion) is not one this speechlab reads (1)") }
        if let model, model.pdfCount != info.pdfCount || model.transitionCount != info.transitionCount {
            throw GraphError("\(path): was built for a model with \(info.pdfCount) pdfs and \(info.transitionCount) transitions, "
                + "not this one's \(model.pdfCount) and \(model.transitionCount); build it again with 'speechlab graph'")
        }
        let words = try SymbolTable.read(folder.appendingPathComponent("words.txt"))
        let labelsPath = folder.appendingPathComponent("labels.txt")
        let lines: [Substring]
        do { lines = try TextFile.lines(of: labelsPath) } catch { throw GraphError("\(error)") }
        var labels: [HMMFst.FrameLabel] = []
        for (n, line) in lines.enumerated() {
            let f = TextFile.fields(line)
            guard !f.isEmpty else { continue }
            guard f.count == 3, Int(f[0]) == labels.count + 1, let pdf = Int32(f[1]), let transition = Int32(f[2]),
                  (0..<Int32(info.pdfCount)).contains(pdf), (0..<Int32(info.transitionCount)).contains(transition) else {
                throw GraphError("\(labelsPath):\(n + 1): expected 'label pdf transition' with labels in order and pdfs, transitions of the model")
            }
            labels.append(HMMFst.FrameLabel(pdf: pdf, transition: transition))
        }
        let fst = try Fst.read(folder.appendingPathComponent("HCLG.fst"))
        let graph = try GraphCompiler.Graph(fst: fst, labels: labels, words: words).staticGraph()
        return (graph, info)
    }
}
