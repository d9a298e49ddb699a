import FeatureExtraction
import Foundation
import HiddenMarkov
import NeuralNet
import SpeechBase
import TensorCore

/// The HMM side a hybrid network is trained for: the units, topologies and transition
/// probabilities of the GMM-HMM that aligned its targets, its lexicon and vocabulary, and the
/// features it was aligned on. Written by `speechlab align` as `hmm.json`.
public struct HMMDescription: Codable, Sendable, Equatable {
    public var units: [String]
    public var topologies: [HMMTopology]
    public var transitionProbabilities: [Double]
    public var lexicon: Lexicon
    public var vocabulary: [String]
    public var features: FeatureConfig
    /// Triphone HMMs: the tree tying phone states in context to pdfs.
    public var tree: ContextTree?

    public init(transitions: TransitionModel, lexicon: Lexicon, vocabulary: [String], features: FeatureConfig, tree: ContextTree? = nil) {
        units = transitions.units
        topologies = transitions.topologies
        transitionProbabilities = transitions.probabilities
        self.lexicon = lexicon
        self.vocabulary = vocabulary
        self.features = features
        self.tree = tree
    }

    /// The pdfs (network outputs): the tree's leaves, or the HMM states.
    public var pdfCount: Int { tree?.leafCount ?? topologies.reduce(0) { $0 + $1.stateCount } }

    public func transitionModel() throws -> TransitionModel {
        guard units.count == topologies.count, !units.isEmpty else { throw ModelError("hmm.json: \(units.count) units but \(topologies.count) topologies") }
        guard transitionProbabilities.allSatisfy({ $0 > 0 && $0 <= 1 }) else { throw ModelError("hmm.json: a transition probability is not in (0, 1]") }
        var model = TransitionModel(units: units, topologies: topologies)
        guard transitionProbabilities.count == model.transitionCount else { throw ModelError("hmm.json: transition probabilities do not fit the topologies") }
        model.probabilities = transitionProbabilities
        if let tree, let problem = tree.problem(units: units.count) { throw ModelError("hmm.json: tree: \(problem)") }
        return model
    }
}

/// How a hybrid network's input is normalized: `(x − mean) / std` per dimension, after the
/// feature configuration's own CMVN. Stored in `model.json`, so that the same network rebuilt
/// elsewhere (PyTorch) from `model.json` and `weights.safetensors` gives the same posteriors.
public struct InputNormalization: Codable, Sendable, Equatable {
    public var mean: [Float]
    public var std: [Float]

    /// The per-dimension mean and standard deviation of `features` (floored at 1e-3).
    public init(_ features: [FeatureMatrix]) {
        let D = features.first?.dimension ?? 0
        var sum = [Double](repeating: 0, count: D), squares = sum, n = 0.0
        for f in features {
            for (i, v) in f.values.enumerated() {
                sum[i % D] += Double(v)
                squares[i % D] += Double(v) * Double(v)
            }
            n += Double(f.frames)
        }
        mean = (0..<D).map { Float(sum[$0] / max(n, 1)) }
        std = (0..<D).map { Float(max((squares[$0] / max(n, 1) - (sum[$0] / max(n, 1)) * (sum[$0] / max(n, 1))).squareRoot(), 1e-3)) }
    }

    /// Refuses a normalization that would divide by zero or spread NaN (a damaged model file).
    public func validate(in file: String) throws {
        guard mean.count == std.count, mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ModelError("\(file): the input normalization has a standard deviation ≤ 0 or a value that is not finite")
        }
    }

    public func apply(_ f: FeatureMatrix) -> [Float] {
        let D = mean.count
        var out = f.values
        for i in out.indices { out[i] = (out[i] - mean[i % D]) / std[i % D] }
        return out
    }
}

/// The network of a hybrid model: a stack of LSTM or GRU layers and a linear output layer over
/// the HMM's pdfs. Parameter names are PyTorch's, prefixed `rnn.` and `output.`.
public final class RecurrentTagger: Layer {
    public let rnn: RecurrentStack<Float>
    public let output: Linear<Float>
    public var isTraining: Bool {
        get { rnn.isTraining }
        set { rnn.isTraining = newValue; output.isTraining = newValue }
    }

    public init(cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layers: Int, bidirectional: Bool, dropout: Float,
                outputs: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        rnn = RecurrentStack(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layers,
                             bidirectional: bidirectional, batchFirst: true, dropout: dropout, generator: &g)
        output = Linear(inputSize: hiddenSize * (bidirectional ? 2 : 1), outputSize: outputs, generator: &g)
    }

    public var parameters: [(name: String, tensor: Tensor<Float>)] {
        prefixed("rnn", rnn.parameters) + prefixed("output", output.parameters)
    }

    /// Logits `[B, T, S]` for inputs `[B, T, D]`.
    public func logits(_ x: Tensor<Float>, lengths: [Int]) -> Tensor<Float> {
        output(rnn.run(x, lengths: lengths).output)
    }
}

/// The architecture of a hybrid network (saved in `model.json`).
public struct HybridArchitecture: Codable, Sendable, Equatable {
    public var cell: RecurrentCell
    public var inputSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var bidirectional: Bool
    public var dropout: Float
    public var outputs: Int

    public init(cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layers: Int, bidirectional: Bool, dropout: Float, outputs: Int) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.outputs = outputs
    }

    /// The recurrent part, for validation and sizes.
    public var recurrent: RecurrentShape {
        RecurrentShape(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layers: layers, bidirectional: bidirectional, outputs: outputs)
    }

    public func makeNetwork(seed: UInt64) -> RecurrentTagger {
        RecurrentTagger(cell: cell, inputSize: inputSize, hiddenSize: hiddenSize, layers: layers, bidirectional: bidirectional,
                        dropout: dropout, outputs: outputs, seed: seed)
    }
}

/// A hybrid NN-HMM: the network's log posteriors over the HMM's pdfs minus `priorScale` ×
/// log prior (pdf frequencies in the training alignments, floored), decoded by the same
/// graphs and search as the GMM-HMM.
public final class HybridModel: AcousticScorer, @unchecked Sendable {
    public let hmm: HMMDescription
    public let architecture: HybridArchitecture
    public let network: RecurrentTagger
    public let normalization: InputNormalization
    public let logPriors: [Float]
    public var priorScale: Float

    public init(hmm: HMMDescription, architecture: HybridArchitecture, network: RecurrentTagger, normalization: InputNormalization,
                logPriors: [Float], priorScale: Float = 1) {
        self.hmm = hmm
        self.architecture = architecture
        self.network = network
        self.normalization = normalization
        self.logPriors = logPriors
        self.priorScale = priorScale
        network.isTraining = false  // set once: decoding threads share the network read-only
    }

    public var pdfCount: Int { architecture.outputs }

    /// Log priors from pdf counts in alignments, floored at 1e-5 of the total.
    public static func logPriors(counts: [Int]) -> [Float] {
        let total = Double(max(counts.reduce(0, +), 1))
        return counts.map { Float(Foundation.log(max(Double($0) / total, 1e-5))) }
    }

    /// Log posteriors `[T, S]` of one utterance (what `speechlab posteriors` writes).
    public func logPosteriors(frames: [Float], count T: Int) -> [Float] {
        GradMode.withoutGradients {
            let x = Tensor<Float>(shape: [1, T, architecture.inputSize], values: frames)
            return network.logits(x, lengths: [T]).logSoftmax(axis: -1).values
        }
    }

    public func logLikelihoods(frames: [Float], count T: Int) -> [Float] {
        let normalized = normalization.apply(FeatureMatrix(frames: T, dimension: architecture.inputSize, values: frames))
        var out = logPosteriors(frames: normalized, count: T)
        let S = pdfCount
        for t in 0..<T { for s in 0..<S { out[t * S + s] -= priorScale * logPriors[s] } }
        return out
    }
}

/// `model.json` of a hybrid model.
struct HybridDescription: Codable {
    var kind = ModelKind.hybrid
    var formatVersion = ModelDirectory.formatVersion
    var hmm: HMMDescription
    var architecture: HybridArchitecture
    var normalization: InputNormalization
    var logPriors: [Float]
    var priorScale: Float
    var search: SearchOptions
    var training: TrainingOptions?
    var parameterNames: [String]
    /// Set when training ends (``ModelDirectory/recordTraining(seconds:log:in:)``).
    var trainingSeconds: Double?
}

extension HybridModel {
    /// Saves the model directory (each file atomically): `model.json` says the HMM, the
    /// architecture, the input normalization and the priors; `weights.safetensors` holds the
    /// network under PyTorch's names (`rnn.weight_ih_l0`, ..., `output.weight`, `output.bias`).
    public func save(to path: String, search: SearchOptions = SearchOptions(), training: TrainingOptions? = nil,
                     log: [EpochLog] = []) throws {
        let description = HybridDescription(hmm: hmm, architecture: architecture, normalization: normalization, logPriors: logPriors,
                                            priorScale: priorScale, search: search, training: training,
                                            parameterNames: network.parameters.map(\.name))
        try ModelDirectory.save(to: path, description: try ModelDirectory.encoder().encode(description),
                                weights: Safetensors.encode(network.stateDictionary(), metadata: ["kind": ModelKind.hybrid.rawValue]),
                                log: try ModelDirectory.logData(log))
    }

    /// Loads a hybrid model directory.
    public static func load(_ path: String) throws -> (model: HybridModel, search: SearchOptions) {
        let snapshot = try ModelDirectory.read(path)
        guard snapshot.header.kind == .hybrid else { throw ModelError("\(path): is a \(snapshot.header.kind) model, not a hybrid model") }
        let jsonPath = snapshot.descriptionPath
        let d = try snapshot.decode(HybridDescription.self)
        try snapshot.checkFeatures(d.hmm.features)
        // The HMM side must be whole (topologies, probabilities, tree) before the network is built.
        do { _ = try d.hmm.transitionModel() } catch { throw ModelError("\(jsonPath): \(error)") }
        try d.architecture.recurrent.validate(in: jsonPath)
        guard d.architecture.dropout >= 0 && d.architecture.dropout < 1 else { throw ModelError("\(jsonPath): dropout \(d.architecture.dropout) is not in [0, 1)") }
        guard d.architecture.outputs == d.hmm.pdfCount, d.logPriors.count == d.hmm.pdfCount,
              d.normalization.mean.count == d.architecture.inputSize, d.normalization.std.count == d.architecture.inputSize,
              d.hmm.features.dimension == d.architecture.inputSize else {
            throw ModelError("\(jsonPath): the architecture, priors, normalization and HMM do not fit together")
        }
        try d.normalization.validate(in: jsonPath)
        guard d.logPriors.allSatisfy(\.isFinite), d.priorScale.isFinite else { throw ModelError("\(jsonPath): a log prior or the prior scale is not finite") }
        // The weights file must be large enough for the architecture before the network is allocated.
        let needed = d.architecture.recurrent.parameterCount + d.architecture.outputs * (d.architecture.recurrent.outputSize + 1)
        guard (snapshot.weights?.count ?? 0) >= 4 * needed else {
            throw ModelError("\(snapshot.weightsPath): is missing or smaller than the \(needed) parameters model.json describes")
        }
        let network = d.architecture.makeNetwork(seed: 0)
        let weights = try snapshot.tensors(as: Float.self)
        do { try network.loadStateDictionary(weights) } catch { throw ModelError("\(snapshot.weightsPath): \(error)") }
        guard weights.values.allSatisfy({ $0.values.allSatisfy(\.isFinite) }) else {
            throw ModelError("\(snapshot.weightsPath): holds a weight that is NaN or infinite (a diverged training?)")
        }
        return (HybridModel(hmm: d.hmm, architecture: d.architecture, network: network, normalization: d.normalization,
                            logPriors: d.logPriors, priorScale: d.priorScale), d.search)
    }
}

/// Reads `alignments.txt` (`utt-id pdf pdf ...`); errors name the file and line.
public func readAlignments(_ path: String, pdfCount: Int) throws -> [String: [Int]] {
    let lines: [Substring]
    do { lines = try TextFile.lines(of: path) } catch { throw ModelError("\(error)") }
    var result: [String: [Int]] = [:]
    for (n, line) in lines.enumerated() {
        let fields = TextFile.fields(line)
        guard let id = fields.first.map(String.init) else { continue }
        var pdfs: [Int] = []
        pdfs.reserveCapacity(fields.count - 1)
        for f in fields.dropFirst() {
            guard let p = Int(f), p >= 0, p < pdfCount else { throw ModelError("\(path):\(n + 1): '\(f)' is not a pdf of the model (0..<\(pdfCount))") }
            pdfs.append(p)
        }
        guard result.updateValue(pdfs, forKey: id) == nil else { throw ModelError("\(path):\(n + 1): duplicate utterance '\(id)'") }
    }
    return result
}

/// The sizes of a recurrent network as a model file or the command line states them, checked
/// before anything is allocated.
public struct RecurrentShape: Sendable, Equatable {
    public var cell: RecurrentCell
    public var inputSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var bidirectional: Bool
    public var outputs: Int

    public init(cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layers: Int, bidirectional: Bool, outputs: Int) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.outputs = outputs
    }

    /// Limits far above any useful acoustic model, low enough that no size overflows.
    public static let maximumHiddenSize = 8192
    public static let maximumLayers = 32
    public static let maximumInputSize = 100_000
    public static let maximumOutputs = 1_000_000

    /// Width of the last layer's output (both directions).
    public var outputSize: Int { hiddenSize * (bidirectional ? 2 : 1) }

    /// Recurrent parameters: per layer and direction, `gates·H·(in + H)` weights and `2·gates·H` biases.
    public var parameterCount: Int {
        let gates = cell == .lstm ? 4 : 3, directions = bidirectional ? 2 : 1
        return (0..<layers).reduce(0) { total, layer in
            let input = layer == 0 ? inputSize : outputSize
            return total + directions * gates * hiddenSize * (input + hiddenSize + 2)
        }
    }

    /// Throws, naming `source` (a file, or the flags), when a size is out of range.
    public func validate(in source: String) throws {
        func check(_ value: Int, _ name: String, _ limit: Int) throws {
            guard value >= 1, value <= limit else { throw ModelError("\(source): \(name) is \(value); it must be in 1...\(limit)") }
        }
        try check(hiddenSize, "hiddenSize", Self.maximumHiddenSize)
        try check(layers, "layers", Self.maximumLayers)
        try check(inputSize, "inputSize", Self.maximumInputSize)
        try check(outputs, "outputs", Self.maximumOutputs)
    }
}
