import Distributed
import FeatureExtraction
import Foundation
import SpeechBase
import NeuralNet
import TensorCore

/// How a classifier turns frame outputs into one vector per utterance.
public enum Pooling: String, Codable, Sendable, CaseIterable {
    /// Learned query, masked softmax over frames.
    case attention
    /// Mean of the frames.
    case mean
    /// The last frame (of a bidirectional stack: both directions' ends are in it).
    case last
}

/// The architecture of a whole-utterance classifier.
public struct ClassifierArchitecture: Codable, Sendable, Equatable {
    public var cell: RecurrentCell
    public var inputSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var bidirectional: Bool
    public var dropout: Float
    public var pooling: Pooling
    public var words: [String]

    public init(cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layers: Int, bidirectional: Bool, dropout: Float, pooling: Pooling, words: [String]) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.words = words
    }
}

/// The spoken-digit-tutorial model: LSTM or GRU layers, pooling over time, a linear layer and a
/// softmax over words. Parameter names: `rnn.*` (PyTorch's), `pooling.query`, `output.*`.
public final class UtteranceClassifier: Layer, @unchecked Sendable {
    public let architecture: ClassifierArchitecture
    public let rnn: RecurrentStack<Float>
    public let attention: AttentionPooling<Float>?
    public let output: Linear<Float>
    public var normalization: InputNormalization
    public var features: FeatureConfig
    public var isTraining: Bool {
        get { rnn.isTraining }
        set { rnn.isTraining = newValue }
    }

    public init(architecture a: ClassifierArchitecture, normalization: InputNormalization, features: FeatureConfig, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        architecture = a
        rnn = RecurrentStack(cell: a.cell, inputSize: a.inputSize, hiddenSize: a.hiddenSize, layerCount: a.layers,
                             bidirectional: a.bidirectional, batchFirst: true, dropout: a.dropout, generator: &g)
        let width = a.hiddenSize * (a.bidirectional ? 2 : 1)
        attention = a.pooling == .attention ? AttentionPooling(features: width, generator: &g) : nil
        output = Linear(inputSize: width, outputSize: a.words.count, generator: &g)
        self.normalization = normalization
        self.features = features
    }

    public var parameters: [(name: String, tensor: Tensor<Float>)] {
        prefixed("rnn", rnn.parameters) + (attention.map { prefixed("pooling", $0.parameters) } ?? []) + prefixed("output", output.parameters)
    }

    /// Word logits `[B, W]` for padded inputs `[B, T, D]`.
    public func logits(_ x: Tensor<Float>, lengths: [Int]) -> Tensor<Float> {
        let frames = rnn.run(x, lengths: lengths).output
        let pooled: Tensor<Float>
        switch architecture.pooling {
        case .attention: pooled = attention!(frames, lengths: lengths).pooled
        case .mean: pooled = meanPooling(frames, lengths: lengths)
        case .last: pooled = lastStep(frames, lengths: lengths)
        }
        return output(pooled)
    }

    /// The most likely word of one utterance's features, and the log probabilities of all words.
    public func classify(_ features: FeatureMatrix) -> (word: String, logProbabilities: [Float]) {
        GradMode.withoutGradients {
            let x = Tensor<Float>(shape: [1, features.frames, architecture.inputSize], values: normalization.apply(features))
            let scores = logits(x, lengths: [features.frames]).logSoftmax(axis: -1).values
            let best = scores.indices.max { scores[$0] < scores[$1] }!
            return (architecture.words[best], scores)
        }
    }
}

/// One utterance for classifier training.
public struct LabelledUtterance: Sendable {
    public var features: [Float]
    public var frames: Int
    public var label: Int
    /// The recording it was made from (nil: its own): copies of one recording stay on one side
    /// of the validation split.
    public var group: String?
    public init(features: [Float], frames: Int, label: Int, group: String? = nil) {
        self.features = features
        self.frames = frames
        self.label = label
        self.group = group
    }
}

/// `model.json` of a classifier.
struct ClassifierDescription: Codable {
    var kind = ModelKind.classifier
    var formatVersion = ModelDirectory.formatVersion
    var architecture: ClassifierArchitecture
    var normalization: InputNormalization
    var features: FeatureConfig
    var training: TrainingOptions?
    var parameterNames: [String]
    /// Set when training ends (``ModelDirectory/recordTraining(seconds:log:in:)``).
    var trainingSeconds: Double?
}

extension UtteranceClassifier {
    public func save(to path: String, training: TrainingOptions? = nil, log: [EpochLog] = []) throws {
        let d = ClassifierDescription(architecture: architecture, normalization: normalization, features: features, training: training,
                                      parameterNames: parameters.map(\.name))
        try ModelDirectory.save(to: path, description: try ModelDirectory.encoder().encode(d),
                                weights: Safetensors.encode(stateDictionary(), metadata: ["kind": ModelKind.classifier.rawValue]),
                                log: try ModelDirectory.logData(log))
    }

    public static func load(_ path: String) throws -> UtteranceClassifier {
        let snapshot = try ModelDirectory.read(path)
        guard snapshot.header.kind == .classifier else { throw ModelError("\(path): is a \(snapshot.header.kind) model, not a classifier") }
        let jsonPath = snapshot.descriptionPath
        let d = try snapshot.decode(ClassifierDescription.self)
        try snapshot.checkFeatures(d.features)
        let a = d.architecture
        let shape = RecurrentShape(cell: a.cell, inputSize: a.inputSize, hiddenSize: a.hiddenSize, layers: a.layers,
                                   bidirectional: a.bidirectional, outputs: a.words.count)
        try shape.validate(in: jsonPath)
        guard a.dropout >= 0 && a.dropout < 1 else { throw ModelError("\(jsonPath): dropout \(a.dropout) is not in [0, 1)") }
        guard d.normalization.mean.count == d.architecture.inputSize, d.features.dimension == d.architecture.inputSize else {
            throw ModelError("\(jsonPath): the architecture, words, normalization and features do not fit together")
        }
        try d.normalization.validate(in: jsonPath)
        guard (snapshot.weights?.count ?? 0) >= 4 * shape.parameterCount else {
            throw ModelError("\(snapshot.weightsPath): is missing or smaller than the \(shape.parameterCount) recurrent parameters model.json describes")
        }
        let model = UtteranceClassifier(architecture: d.architecture, normalization: d.normalization, features: d.features, seed: 0)
        let weights = try snapshot.tensors(as: Float.self)
        do { try model.loadStateDictionary(weights) } catch { throw ModelError("\(snapshot.weightsPath): \(error)") }
        guard weights.values.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
            throw ModelError("\(snapshot.weightsPath): holds a weight that is NaN or infinite (a diverged training?)")
        }
        model.isTraining = false
        return model
    }
}

/// Trains an ``UtteranceClassifier``: the same loop as the hybrid trainer (batching, optimizer,
/// schedule, validation, early stopping, checkpoints and resume) with sequence-level cross-entropy.
public struct ClassifierTrainer: Sendable {
    public var options: TrainingOptions
    /// The ranks that share every batch (``EpochLoop``); one process alone by default.
    public var communicator: any Communicator
    public init(options: TrainingOptions, communicator: any Communicator = SingleProcess()) {
        self.options = options
        self.communicator = communicator
    }

    public func train(_ model: UtteranceClassifier, data: [LabelledUtterance], checkpoint: String? = nil, resume: Bool = false,
                      onBatch: ((Int, Int, Double, Double) -> Void)? = nil,
                      onEpoch: (EpochLog, Bool) throws -> Void, onAverage: ((EpochAverage) throws -> Void)? = nil) throws -> [EpochLog] {
        let D = model.architecture.inputSize
        var loop = EpochLoop<UtteranceClassifier, LabelledUtterance, ClassifierArchitecture>(
            options: options, architecture: model.architecture,
            dataFingerprint: trainingDataFingerprint(data.enumerated().map { ("u\($0.offset)", $0.element.frames, [String($0.element.label)]) }),
            length: { $0.frames }, units: { _ in 1 },
            group: data.allSatisfy { $0.group != nil } ? { $0.group! } : nil
        ) { [specAugment = options.specAugment] replica, shard in
            var (x, lengths) = padUtterances(shard, dimension: D)
            if let specAugment, replica.isTraining { x = masked(x, lengths: lengths, by: specAugment, model: replica) }
            let logits = replica.logits(x, lengths: lengths)
            return (crossEntropy(logits, targets: shard.map(\.label)), zip(shard, argmaxRows(logits)).filter { $0.0.label == $0.1 }.count)
        }
        loop.communicator = communicator
        return try loop.run(model, makeReplica: {
            UtteranceClassifier(architecture: model.architecture, normalization: model.normalization, features: model.features, seed: 0)
        }, data: data, checkpoint: checkpoint, resume: resume, onBatch: onBatch, onEpoch: onEpoch, onAverage: onAverage)
    }
}

extension UtteranceClassifier: RandomizedModel {
    /// The recurrent stack's generator draws the dropout masks.
    public var randomGenerator: SeededGenerator {
        get { rnn.generator }
        set { rnn.generator = newValue }
    }
}

func padUtterances(_ batch: [LabelledUtterance], dimension D: Int) -> (Tensor<Float>, [Int]) {
    let T = batch.map(\.frames).max() ?? 0
    var values = [Float](repeating: 0, count: batch.count * T * D)
    for (b, u) in batch.enumerated() { for i in 0..<(u.frames * D) { values[b * T * D + i] = u.features[i] } }
    return (Tensor(shape: [batch.count, T, D], values: values), batch.map(\.frames))
}

func argmaxRows(_ logits: Tensor<Float>) -> [Int] {
    let W = logits.shape[1]
    return (0..<logits.shape[0]).map { b in (0..<W).max { logits.values[b * W + $0] < logits.values[b * W + $1] }! }
}
