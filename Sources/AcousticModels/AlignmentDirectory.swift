import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

/// The one owner of the alignment directory's format, which `speechlab align` writes and
/// `speechlab train rnn --kind hybrid` reads:
/// - `alignments.txt`: `utt-id pdf pdf ...`, one HMM state (pdf) per frame;
/// - `pdfs.txt`: `pdf unit state`, what each pdf is;
/// - `hmm.json`: the HMMs, lexicon, vocabulary and feature configuration the pdfs belong to.
/// The three are written as one directory (``DirectoryReplacement``), so they always agree.
public struct AlignmentDirectory: Sendable {
    public var hmm: HMMDescription
    /// The HMMs of `hmm`, checked.
    public var transitions: TransitionModel
    /// Utterance id → its pdf per frame.
    public var alignments: [String: [Int]]
    /// Aligned by a speaker-adaptively trained GMM-HMM: each speaker's fMLLR transform
    /// (`transforms.json`), under which the alignments were made; the GMM-HMM itself is
    /// kept beside them (``GMMHMM/embeddedFiles``) for a hybrid trained on the adapted features.
    public var speakerTransforms: [String: FMLLRTransform]?
    public var path: String

    /// Writes the directory at `path`; `alignments` in the order given.
    public static func write(hmm: HMMDescription, alignments: [(id: String, pdfs: [Int])], speakerTransforms: [String: FMLLRTransform]? = nil,
                             adaptationModel: GMMHMM? = nil, to path: String) throws {
        let transitions = try hmm.transitionModel()
        var pdfLines: [String] = []
        if let tree = hmm.tree {
            // A tied state belongs to one phone state (its tree's root): "pdf phone state".
            for (pdf, root) in tree.leafRoots().enumerated() { pdfLines.append("\(pdf) \(transitions.units[root.center]) \(root.state)") }
        } else {
            for (u, name) in transitions.units.enumerated() {
                for j in 0..<transitions.topologies[u].stateCount { pdfLines.append("\(transitions.pdfOffsets[u] + j) \(name) \(j)") }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        func text(_ lines: [String]) -> Data { Data(lines.map { $0 + "\n" }.joined().utf8) }
        var files = [
            "alignments.txt": text(alignments.map { ([$0.id] + $0.pdfs.map(String.init)).joined(separator: " ") }),
            "pdfs.txt": text(pdfLines),
            "hmm.json": try encoder.encode(hmm),
        ].merging(try adaptationModel?.embeddedFiles() ?? [:]) { a, _ in a }
        if let speakerTransforms { files["transforms.json"] = try encoder.encode(speakerTransforms) }
        do { try DirectoryReplacement.write(files, to: path) } catch { throw ModelError(FileError.reason(error)) }
    }

    /// Reads the directory at `path`; errors name the file (and line) and the reason.
    public static func read(_ path: String) throws -> AlignmentDirectory {
        let hmmPath = (path as NSString).appendingPathComponent("hmm.json")
        guard FileKind.of(hmmPath) != .missing else { throw ModelError("\(path): has no hmm.json (make it with 'speechlab align')") }
        let hmm: HMMDescription
        do {
            try requireRegularFile(hmmPath)
            hmm = try JSONDecoder().decode(HMMDescription.self, from: Data(contentsOf: URL(fileURLWithPath: hmmPath)))
        } catch let error as FileError {
            throw ModelError(error.description)
        } catch {
            throw ModelError("\(hmmPath): is not an HMM description: \(describe(error))")
        }
        let transitions: TransitionModel
        do { transitions = try hmm.transitionModel() } catch { throw ModelError("\(hmmPath): \(error)") }
        let alignments = try readAlignments((path as NSString).appendingPathComponent("alignments.txt"), pdfCount: hmm.pdfCount)
        let transformsPath = (path as NSString).appendingPathComponent("transforms.json")
        var transforms: [String: FMLLRTransform]?
        if FileKind.of(transformsPath) != .missing {
            do {
                try requireRegularFile(transformsPath)
                transforms = try JSONDecoder().decode([String: FMLLRTransform].self, from: Data(contentsOf: URL(fileURLWithPath: transformsPath)))
            } catch let error as FileError {
                throw ModelError(error.description)
            } catch {
                throw ModelError("\(transformsPath): is not a set of speaker transforms: \(describe(error))")
            }
            let D = hmm.features.dimension
            if let bad = transforms!.first(where: { $0.value.dimension != D || $0.value.matrix.count != D * (D + 1) || !$0.value.matrix.allSatisfy(\.isFinite) }) {
                throw ModelError("\(transformsPath): speaker '\(bad.key)': not a finite \(D) × \(D + 1) transform for these \(D)-dimensional features")
            }
        }
        return AlignmentDirectory(hmm: hmm, transitions: transitions, alignments: alignments, speakerTransforms: transforms, path: path)
    }
}
