import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import TensorCore

/// The header every model directory's `model.json` starts with, read first to refuse a
/// model of another family or a newer format with a clear message.
public struct ModelHeader: Codable, Sendable {
    /// `gmm-hmm`, `hybrid` or `classifier`.
    public var kind: String
    public var formatVersion: Int
}

/// A model directory: `model.json` (kind, topology, lexicon, feature configuration, training
/// settings), `weights.safetensors` and `training.log` (one JSON object per line).
public enum ModelDirectory {
    public static let formatVersion = 1

    /// The kind of model at `path`, after checking the format version.
    public static func header(_ path: String) throws -> ModelHeader {
        let file = (path as NSString).appendingPathComponent("model.json")
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ModelError("\(path): is not a model directory (no readable model.json)")
        }
        guard let header = try? JSONDecoder().decode(ModelHeader.self, from: data) else {
            throw ModelError("\(file): is not a speechlab model description (no kind and formatVersion)")
        }
        guard header.formatVersion <= formatVersion else {
            throw ModelError("\(file): format version \(header.formatVersion) is newer than this speechlab reads (\(formatVersion)); update speechlab")
        }
        return header
    }

    /// Writes `data` to `path` atomically.
    static func write(_ data: Data, to path: String) throws {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ModelError("\(path): cannot be written: \(error.localizedDescription)")
        }
    }

    /// Writes `entries` as `training.log` in `folder`, one JSON object per line (nothing when empty).
    static func writeLog<Entry: Encodable>(_ entries: [Entry], in folder: String) throws {
        guard !entries.isEmpty else { return }
        let lines = try entries.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        try write(Data(lines.utf8), to: (folder as NSString).appendingPathComponent("training.log"))
    }

    /// Records the end of a neural model's training: the whole `training.log` (past the best
    /// epoch, whose weights the directory holds) and the training time in `model.json`.
    public static func recordTraining<Entry: Encodable>(seconds: Double, log: [Entry], in path: String) throws {
        let jsonPath = (path as NSString).appendingPathComponent("model.json")
        guard let data = FileManager.default.contents(atPath: jsonPath),
              var object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelError("\(jsonPath): cannot be read back to record the training time")
        }
        object["trainingSeconds"] = seconds
        try write(try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), to: jsonPath)
        try writeLog(log, in: path)
    }

    /// The training time `model.json` records, if any.
    public static func trainingSeconds(_ path: String) -> Double? {
        struct Seconds: Decodable { var trainingSeconds: Double? }
        let jsonPath = (path as NSString).appendingPathComponent("model.json")
        return FileManager.default.contents(atPath: jsonPath).flatMap { try? JSONDecoder().decode(Seconds.self, from: $0) }?.trainingSeconds
    }

    /// The training log of the model at `path`, one decoded entry per line; an unreadable
    /// line names the file and line.
    public static func trainingLog<Entry: Decodable>(_ path: String, as: Entry.Type) throws -> [Entry] {
        let logPath = (path as NSString).appendingPathComponent("training.log")
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { n, line in
            do { return try JSONDecoder().decode(Entry.self, from: Data(line.utf8)) } catch {
                throw ModelError("\(logPath):\(n + 1): not a training log entry (\(error))")
            }
        }
    }

    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw ModelError("\(path): cannot be created: \(error.localizedDescription)")
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
    var kind = "gmm-hmm"
    var formatVersion = ModelDirectory.formatVersion
    var units: [String]
    var topologies: [HMMTopology]
    var transitionProbabilities: [Double]
    var lexicon: Lexicon
    var vocabulary: [String]
    var features: FeatureConfig
    var dimension: Int
    var gaussiansPerPdf: [Int]
    var search: SearchOptions
    var training: GMMHMMTrainingOptions?
    var trainingSeconds: Double?
}

extension GMMHMM {
    /// Saves the model as a model directory at `path` (each file written atomically).
    public func save(to path: String, search: SearchOptions = SearchOptions(), training: GMMHMMTrainingOptions? = nil,
                     trainingSeconds: Double? = nil, log: [GMMHMMIterationLog] = []) throws {
        try ModelDirectory.createDirectory(path)
        var tensors: [String: Tensor<Double>] = [:]
        for (i, gmm) in mixtures.enumerated() {
            tensors["pdf.\(i).weights"] = Tensor(shape: [gmm.componentCount], values: gmm.weights)
            tensors["pdf.\(i).means"] = Tensor(shape: [gmm.componentCount, gmm.dimension], values: gmm.means)
            tensors["pdf.\(i).variances"] = Tensor(shape: [gmm.componentCount, gmm.dimension], values: gmm.variances)
        }
        try Safetensors.write(tensors, metadata: ["kind": "gmm-hmm"], to: (path as NSString).appendingPathComponent("weights.safetensors"))
        let description = GMMHMMDescription(units: transitions.units, topologies: transitions.topologies,
                                            transitionProbabilities: transitions.probabilities, lexicon: lexicon, vocabulary: vocabulary,
                                            features: features, dimension: dimension, gaussiansPerPdf: mixtures.map(\.componentCount),
                                            search: search, training: training, trainingSeconds: trainingSeconds)
        try ModelDirectory.write(try ModelDirectory.encoder().encode(description), to: (path as NSString).appendingPathComponent("model.json"))
        try ModelDirectory.writeLog(log, in: path)
    }

    /// Loads a GMM-HMM model directory, validating it completely.
    public static func load(_ path: String) throws -> (model: GMMHMM, search: SearchOptions) {
        let header = try ModelDirectory.header(path)
        guard header.kind == "gmm-hmm" else { throw ModelError("\(path): is a \(header.kind) model, not a gmm-hmm model") }
        let jsonPath = (path as NSString).appendingPathComponent("model.json")
        let description: GMMHMMDescription
        do {
            description = try JSONDecoder().decode(GMMHMMDescription.self, from: Data(contentsOf: URL(fileURLWithPath: jsonPath)))
        } catch {
            throw ModelError("\(jsonPath): is not a valid gmm-hmm description (\(error))")
        }
        guard description.units.count == description.topologies.count else { throw ModelError("\(jsonPath): units and topologies differ in number") }
        var transitions = TransitionModel(units: description.units, topologies: description.topologies)
        guard description.transitionProbabilities.count == transitions.transitionCount,
              description.transitionProbabilities.allSatisfy({ $0 > 0 && $0 <= 1 }) else {
            throw ModelError("\(jsonPath): transition probabilities do not fit the topologies")
        }
        transitions.probabilities = description.transitionProbabilities
        guard description.gaussiansPerPdf.count == transitions.pdfCount else {
            throw ModelError("\(jsonPath): \(description.gaussiansPerPdf.count) mixtures for \(transitions.pdfCount) HMM states")
        }
        let weightsPath = (path as NSString).appendingPathComponent("weights.safetensors")
        let tensors: [String: Tensor<Double>]
        do { tensors = try Safetensors.read(weightsPath, as: Double.self).tensors } catch { throw ModelError("\(error)") }
        let D = description.dimension
        var mixtures: [DiagonalGMM] = []
        for (i, m) in description.gaussiansPerPdf.enumerated() {
            guard let w = tensors["pdf.\(i).weights"], let mu = tensors["pdf.\(i).means"], let v = tensors["pdf.\(i).variances"],
                  w.shape == [m], mu.shape == [m, D], v.shape == [m, D] else {
                throw ModelError("\(weightsPath): pdf \(i) is missing or not \(m) Gaussians of dimension \(D)")
            }
            let gmm = DiagonalGMM(dimension: D, weights: w.values, means: mu.values, variances: v.values)
            guard gmm.isValid else { throw ModelError("\(weightsPath): pdf \(i) has a non-finite value, a zero variance or a zero weight") }
            mixtures.append(gmm)
        }
        guard description.features.dimension == D else {
            throw ModelError("\(jsonPath): the feature configuration gives \(description.features.dimension) dimensions, the Gaussians \(D)")
        }
        let model = GMMHMM(transitions: transitions, mixtures: mixtures, lexicon: description.lexicon,
                           vocabulary: description.vocabulary, features: description.features)
        return (model, description.search)
    }
}
