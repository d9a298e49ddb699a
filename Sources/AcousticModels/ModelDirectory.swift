import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase
import TensorCore

/// The families of model a model directory can hold: `model.json`'s `kind`, the one place
/// where a family is named by a string.
public enum ModelKind: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case gmmHMM = "gmm-hmm"
    case hybrid
    case classifier

    public var description: String { rawValue }
}

/// The header every model directory's `model.json` starts with, read first to refuse a
/// model of another family or a newer format with a clear message.
public struct ModelHeader: Codable, Sendable {
    public var kind: ModelKind
    public var formatVersion: Int
}

/// A model directory: `model.json` (kind, topology, lexicon, feature configuration, training
/// settings), `weights.safetensors` and `training.log` (one JSON object per line).
///
/// A directory is written whole (``DirectoryReplacement``: the new version is made beside the
/// old one and swapped in) and read as one snapshot (``DirectorySnapshot``), so that a run
/// killed while saving, or a reader during a save, finds the old model or the new one, never
/// a mixture.
public enum ModelDirectory {
    public static let formatVersion = 1

    /// The files of one model directory, read together.
    public struct Snapshot {
        public var path: String
        /// `model.json`.
        public var description: Data
        /// `weights.safetensors`, when present.
        public var weights: Data?
        public var header: ModelHeader
        /// The two files' names (another model embedded in a directory has its own).
        public var descriptionName = "model.json", weightsName = "weights.safetensors"

        public var descriptionPath: String { (path as NSString).appendingPathComponent(descriptionName) }
        public var weightsPath: String { (path as NSString).appendingPathComponent(weightsName) }

        /// `model.json` decoded as `type`; errors name the file and the key.
        public func decode<T: Decodable>(_ type: T.Type) throws -> T {
            do { return try JSONDecoder().decode(type, from: description) } catch {
                throw ModelError("\(descriptionPath): is not a valid \(header.kind) model description: \(describe(error))")
            }
        }

        /// Checks a feature configuration read from `model.json` (its errors name Kaldi's option
        /// names, which here are fields of the file, not flags the user gave).
        public func checkFeatures(_ config: FeatureConfig) throws {
            do { try config.validate() } catch {
                throw ModelError("\(descriptionPath): the feature configuration ('features') is invalid: \(error)")
            }
        }

        /// The weights, decoded; a missing file is an error naming it.
        public func tensors<Scalar: TensorScalar>(as: Scalar.Type) throws -> [String: Tensor<Scalar>] {
            guard let weights else { throw ModelError("\(weightsPath): does not exist (the model directory is incomplete)") }
            do { return try Safetensors.decode(weights, path: weightsPath, as: Scalar.self).tensors } catch { throw ModelError("\(error)") }
        }
    }

    /// Reads `model.json` and `weights.safetensors` of `path` as one snapshot and checks the
    /// header (a JSON object with `kind` and a `formatVersion` this speechlab reads).
    public static func read(_ path: String, descriptionName: String = "model.json", weightsName: String = "weights.safetensors") throws -> Snapshot {
        let files: [String: Data]
        do { files = try DirectorySnapshot.read(path, files: [descriptionName, weightsName]) } catch {
            throw ModelError("\(path): is not a model directory (\(FileError.reason(error)))")
        }
        let file = (path as NSString).appendingPathComponent(descriptionName)
        guard let description = files[descriptionName] else { throw ModelError("\(path): is not a model directory (it has no \(descriptionName))") }
        guard (try? JSONSerialization.jsonObject(with: description)) is [String: Any] else {
            throw ModelError("\(file): is not a JSON object (a damaged or truncated file?)")
        }
        struct RawHeader: Decodable { var kind: String; var formatVersion: Int }
        let raw: RawHeader
        do { raw = try JSONDecoder().decode(RawHeader.self, from: description) } catch {
            throw ModelError("\(file): is not a speechlab model description: \(describe(error))")
        }
        guard let kind = ModelKind(rawValue: raw.kind) else {
            throw ModelError("\(file): kind '\(raw.kind)' is not a model family this speechlab knows (\(ModelKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let header = ModelHeader(kind: kind, formatVersion: raw.formatVersion)
        guard header.formatVersion <= formatVersion else {
            throw ModelError("\(file): format version \(header.formatVersion) is newer than this speechlab reads (\(formatVersion)); update speechlab")
        }
        return Snapshot(path: path, description: description, weights: files[weightsName], header: header, descriptionName: descriptionName,
                        weightsName: weightsName)
    }

    /// The kind of model at `path`, after checking the format version.
    public static func header(_ path: String) throws -> ModelHeader {
        try read(path).header
    }

    /// Saves a model directory whole: `model.json`, `weights.safetensors` and `training.log`
    /// (when `log` has entries), swapped in for the old version in one step. Other entries of
    /// the old directory (a training checkpoint) are kept.
    static func save(to path: String, description: Data, weights: Data, log: Data?) throws {
        var files = ["model.json": description, "weights.safetensors": weights]
        if let log { files["training.log"] = log }
        do { try DirectoryReplacement.write(files, to: path) } catch { throw ModelError("\(FileError.reason(error))") }
    }

    /// `entries` as `training.log` lines, one JSON object per line (nil when empty).
    static func logData<Entry: Encodable>(_ entries: [Entry]) throws -> Data? {
        guard !entries.isEmpty else { return nil }
        let lines = try entries.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        return Data(lines.utf8)
    }

    /// Records the end of a neural model's training: the whole `training.log` (past the best
    /// epoch, whose weights the directory holds) and the training time in `model.json`.
    public static func recordTraining<Entry: Encodable>(seconds: Double, log: [Entry], in path: String) throws {
        let snapshot = try read(path)
        guard var object = try? JSONSerialization.jsonObject(with: snapshot.description) as? [String: Any], let weights = snapshot.weights else {
            throw ModelError("\(snapshot.descriptionPath): cannot be read back to record the training time")
        }
        object["trainingSeconds"] = seconds
        try save(to: path, description: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
                 weights: weights, log: try logData(log))
    }

    /// The training time `model.json` records, if any.
    public static func trainingSeconds(_ path: String) -> Double? {
        struct Seconds: Decodable { var trainingSeconds: Double? }
        return (try? read(path)).flatMap { try? JSONDecoder().decode(Seconds.self, from: $0.description) }?.trainingSeconds
    }

    /// The training log of the model at `path`, one decoded entry per line; an unreadable
    /// line names the file and line.
    public static func trainingLog<Entry: Decodable>(_ path: String, as: Entry.Type) throws -> [Entry] {
        let logPath = (path as NSString).appendingPathComponent("training.log")
        guard FileKind.of(logPath) != .missing else { return [] }
        let lines: [Substring]
        do { lines = try TextFile.lines(of: logPath) } catch { throw ModelError("\(error)") }
        return try lines.enumerated().compactMap { n, line in
            guard !line.allSatisfy(\.isWhitespace) else { return nil }
            do { return try JSONDecoder().decode(Entry.self, from: Data(line.utf8)) } catch {
                throw ModelError("\(logPath):\(n + 1): not a training log entry (\(describe(error)))")
            }
        }
    }

    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ModelError("\(path): cannot be created: \(FileError.reason(error))")
        }
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }
}

/// `model.json` of a GMM-HMM.
struct GMMHMMDescription: Codable {
    var kind = ModelKind.gmmHMM
    var formatVersion = ModelDirectory.formatVersion
    var units: [String]
    var topologies: [HMMTopology]
    var transitionProbabilities: [Double]
    var lexicon: Lexicon
    var vocabulary: [String]
    var features: FeatureConfig
    var dimension: Int
    var gaussiansPerPdf: [Int]
    /// Triphone models: the tree tying phone states in context to pdfs.
    var tree: ContextTree?
    /// A speaker-adaptively trained model's fMLLR settings; its weights then also hold the
    /// first-pass mixtures (`alignment.pdf.N.*`).
    var speakerAdaptation: FMLLROptions?
    var search: SearchOptions
    var training: GMMHMMTrainingOptions?
    var trainingSeconds: Double?
}

extension GMMHMM {
    /// Saves the model as a model directory at `path` (each file written atomically).
    public func save(to path: String, search: SearchOptions = SearchOptions(), training: GMMHMMTrainingOptions? = nil,
                     trainingSeconds: Double? = nil, log: [GMMHMMIterationLog] = []) throws {
        let encoded = try encode(search: search, training: training, trainingSeconds: trainingSeconds)
        try ModelDirectory.save(to: path, description: encoded.description, weights: encoded.weights, log: try ModelDirectory.logData(log))
    }

    /// `model.json` and `weights.safetensors` of the model.
    func encode(search: SearchOptions = SearchOptions(), training: GMMHMMTrainingOptions? = nil,
                trainingSeconds: Double? = nil) throws -> (description: Data, weights: Data) {
        var tensors: [String: Tensor<Double>] = [:]
        for (prefix, set) in [("pdf", mixtures), ("alignment.pdf", alignmentMixtures ?? [])] {
            for (i, gmm) in set.enumerated() {
                tensors["\(prefix).\(i).weights"] = Tensor(shape: [gmm.componentCount], values: gmm.weights)
                tensors["\(prefix).\(i).means"] = Tensor(shape: [gmm.componentCount, gmm.dimension], values: gmm.means)
                tensors["\(prefix).\(i).variances"] = Tensor(shape: [gmm.componentCount, gmm.dimension], values: gmm.variances)
            }
        }
        let description = GMMHMMDescription(units: transitions.units, topologies: transitions.topologies,
                                            transitionProbabilities: transitions.probabilities, lexicon: lexicon, vocabulary: vocabulary,
                                            features: features, dimension: dimension, gaussiansPerPdf: mixtures.map(\.componentCount),
                                            tree: tree, speakerAdaptation: alignmentMixtures == nil ? nil : speakerAdaptation,
                                            search: search, training: training, trainingSeconds: trainingSeconds)
        return (try ModelDirectory.encoder().encode(description), Safetensors.encode(tensors, metadata: ["kind": ModelKind.gmmHMM.rawValue]))
    }

    /// Loads a GMM-HMM model directory, validating it completely.
    public static func load(_ path: String) throws -> (model: GMMHMM, search: SearchOptions) {
        try load(ModelDirectory.read(path))
    }

    /// The files of a speaker-adaptive GMM-HMM embedded in another model's directory (a hybrid
    /// trained on its fMLLR-adapted features, which decodes with its help).
    public static let embeddedFiles = (description: "adaptation-model.json", weights: "adaptation-weights.safetensors")

    /// The GMM-HMM embedded in the model directory at `path`, nil when there is none.
    public static func loadEmbedded(_ path: String) throws -> GMMHMM? {
        let file = (path as NSString).appendingPathComponent(embeddedFiles.description)
        guard FileKind.of(file) != .missing else { return nil }
        return try load(ModelDirectory.read(path, descriptionName: embeddedFiles.description, weightsName: embeddedFiles.weights)).model
    }

    /// The model's two files under the embedded names, to write into another model's directory.
    public func embeddedFiles() throws -> [String: Data] {
        let encoded = try encode()
        return [Self.embeddedFiles.description: encoded.description, Self.embeddedFiles.weights: encoded.weights]
    }

    /// Loads a GMM-HMM from its files, validating it completely.
    static func load(_ snapshot: ModelDirectory.Snapshot) throws -> (model: GMMHMM, search: SearchOptions) {
        let path = snapshot.path
        guard snapshot.header.kind == .gmmHMM else { throw ModelError("\(path): is a \(snapshot.header.kind) model, not a gmm-hmm model") }
        let jsonPath = snapshot.descriptionPath
        let description = try snapshot.decode(GMMHMMDescription.self)
        try snapshot.checkFeatures(description.features)
        guard description.units.count == description.topologies.count else { throw ModelError("\(jsonPath): units and topologies differ in number") }
        var transitions = TransitionModel(units: description.units, topologies: description.topologies)
        guard description.transitionProbabilities.count == transitions.transitionCount,
              description.transitionProbabilities.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw ModelError("\(jsonPath): transition probabilities do not fit the topologies")
        }
        transitions.probabilities = description.transitionProbabilities
        if let tree = description.tree, let problem = tree.problem(units: transitions.units.count) { throw ModelError("\(jsonPath): tree: \(problem)") }
        let pdfs = description.tree?.leafCount ?? transitions.pdfCount
        guard description.gaussiansPerPdf.count == pdfs else {
            throw ModelError("\(jsonPath): \(description.gaussiansPerPdf.count) mixtures for \(pdfs) HMM states")
        }
        let weightsPath = snapshot.weightsPath
        let tensors = try snapshot.tensors(as: Double.self)
        let D = description.dimension
        func mixtures(_ prefix: String) throws -> [DiagonalGMM] {
            try description.gaussiansPerPdf.enumerated().map { i, m in
                guard let w = tensors["\(prefix).\(i).weights"], let mu = tensors["\(prefix).\(i).means"], let v = tensors["\(prefix).\(i).variances"],
                      w.shape == [m], mu.shape == [m, D], v.shape == [m, D] else {
                    throw ModelError("\(weightsPath): \(prefix) \(i) is missing or not \(m) Gaussians of dimension \(D)")
                }
                let gmm = DiagonalGMM(dimension: D, weights: w.values, means: mu.values, variances: v.values)
                guard gmm.isValid else { throw ModelError("\(weightsPath): \(prefix) \(i) has a non-finite value, a zero variance or a zero weight") }
                return gmm
            }
        }
        guard description.features.dimension == D else {
            throw ModelError("\(jsonPath): the feature configuration gives \(description.features.dimension) dimensions, the Gaussians \(D)")
        }
        let model = GMMHMM(transitions: transitions, mixtures: try mixtures("pdf"), lexicon: description.lexicon,
                           vocabulary: description.vocabulary, features: description.features, tree: description.tree)
        if let adaptation = description.speakerAdaptation {
            if let problem = adaptation.problem { throw ModelError("\(jsonPath): speakerAdaptation: \(problem)") }
            model.speakerAdaptation = adaptation
            model.alignmentMixtures = try mixtures("alignment.pdf")
        }
        return (model, description.search)
    }
}

extension GMMHMM {
    /// The training options `model.json` at `path` records (nil for models saved without them).
    public static func trainingOptions(_ path: String) throws -> GMMHMMTrainingOptions? {
        struct Recorded: Decodable { var training: GMMHMMTrainingOptions? }
        return try ModelDirectory.read(path).decode(Recorded.self).training
    }
}
