import Dispatch
import FeatureExtraction
import Foundation
import NeuralNet
import TensorCore

/// How a hybrid network is trained.
public struct HybridTrainingOptions: Codable, Sendable, Equatable {
    public var epochs = 12
    /// Utterances per mini-batch (bucketed by length).
    public var batchSize = 32
    public var learningRate: Float = 2e-3
    public var maxGradientNorm: Float = 5
    /// Fraction of the training utterances held out for validation (early stopping).
    public var validationFraction = 0.1
    /// Epochs without a better validation loss before stopping.
    public var patience = 3
    public var seed: UInt64 = 1
    public var workers = ProcessInfo.processInfo.activeProcessorCount

    public init() {}
}

/// One epoch of the training log.
public struct HybridEpochLog: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainFrameAccuracy: Double
    public var validationLoss: Double
    public var validationFrameAccuracy: Double
    public var learningRate: Double
    public var seconds: Double
}

/// One utterance for frame-level training: normalized features and a pdf per frame.
public struct FrameTargets: Sendable {
    public var id: String
    public var features: [Float]
    public var frames: Int
    public var targets: [Int]
    public init(id: String, features: [Float], frames: Int, targets: [Int]) {
        self.id = id
        self.features = features
        self.frames = frames
        self.targets = targets
    }
}

/// Trains a ``RecurrentTagger`` on frame targets: mini-batches of padded sequences bucketed by
/// length, Adam with gradient clipping and a plateau schedule, a held-out validation set and
/// early stopping, the batch split over threads (data parallel), the same seed giving the
/// same weights.
public struct HybridTrainer: Sendable {
    public var options: HybridTrainingOptions
    public init(options: HybridTrainingOptions) { self.options = options }

    /// Trains `network` in place; `onEpoch` sees each epoch's log line (to save the model) and
    /// whether it is the best so far. With `checkpoint`, the whole training state (weights,
    /// optimizer, schedule, random generators, log) is saved there after every epoch, and with
    /// `resume` training continues from it. Throws ``TrainingDivergedError`` when the loss
    /// diverges (the last checkpoint stays).
    public func train(_ network: RecurrentTagger, architecture: HybridArchitecture, data: [FrameTargets],
                      checkpoint: String? = nil, resume: Bool = false, onBatch: ((Int, Int, Double, Double) -> Void)? = nil,
                      onEpoch: (HybridEpochLog, Bool) throws -> Void) throws -> [HybridEpochLog] {
        var generator = SeededGenerator(seed: options.seed)
        var order = Array(data.indices)
        order.shuffle(using: &generator)
        let validationCount = data.count > 10 ? Int(Double(data.count) * options.validationFraction) : 0
        let validation = Array(order.prefix(validationCount)).map { data[$0] }
        let training = Array(order.dropFirst(validationCount)).map { data[$0] }
        let workers = max(1, options.workers)
        let parallel = DataParallel(master: network, workers: workers) { architecture.makeNetwork(seed: 0) }
        for (k, replica) in parallel.replicas.enumerated() { replica.rnn.generator = SeededGenerator(seed: options.seed &+ UInt64(k) &+ 100) }
        let optimizer = Adam(parameters: network.trainableParameters, learningRate: options.learningRate)
        var schedule = PlateauSchedule<Float>(rate: options.learningRate, factor: 0.5, patience: 1)
        var log: [HybridEpochLog] = []
        var best = Double.infinity, sinceBest = 0
        var step = 0
        var firstEpoch = 1
        if resume, let checkpoint {
            let state = try HybridCheckpoint.load(checkpoint, into: network, optimizer: optimizer)
            guard state.architecture == architecture else {
                throw ModelError("\(checkpoint): the checkpoint is of another architecture (\(state.architecture.cell) \(state.architecture.layers)×\(state.architecture.hiddenSize)\(state.architecture.bidirectional ? " bidirectional" : ""), \(state.architecture.outputs) outputs) and cannot resume this training")
            }
            log = state.log
            best = state.best
            sinceBest = state.sinceBest
            step = state.step
            schedule = state.schedule
            generator.savedState = state.generator
            for (replica, saved) in zip(parallel.replicas, state.replicaGenerators) { replica.rnn.generator.savedState = saved }
            optimizer.learningRate = schedule.rate
            firstEpoch = state.epoch + 1
            if sinceBest >= options.patience || firstEpoch > options.epochs { return log }
        }
        for epoch in firstEpoch...max(options.epochs, firstEpoch) {
            let started = Date()
            network.isTraining = true
            var batches = buckets(training, size: options.batchSize)
            batches.shuffle(using: &generator)
            var lossSum = 0.0, correct = 0, frames = 0
            for batch in batches {
                let shards = split(batch, into: workers)
                let totalFrames = batch.reduce(0) { $0 + $1.frames }
                optimizer.zeroGradients()
                let shardData = ShardBox(shards)
                let counts = SharedCounts(workers)
                let loss = parallel.accumulateGradients { replica, s in
                    guard s < shardData.value.count, !shardData.value[s].isEmpty else { return Tensor<Float>(0) }
                    let (x, lengths, targets) = pad(shardData.value[s], dimension: architecture.inputSize)
                    let logits = replica.logits(x, lengths: lengths)
                    counts.set(s, correctFrames(logits, targets: targets))
                    let shardFrames = lengths.reduce(0, +)
                    return frameCrossEntropy(logits, targets: targets) * (Float(shardFrames) / Float(totalFrames))
                }
                guard loss.isFinite else { throw TrainingDivergedError(epoch: epoch, step: step, value: Double(loss)) }
                clipGradientNorm(optimizer.parameters, maxNorm: options.maxGradientNorm)
                optimizer.step()
                lossSum += Double(loss) * Double(totalFrames)
                correct += counts.total
                frames += totalFrames
                step += 1
                onBatch?(step - (epoch - 1) * batches.count, batches.count, lossSum / Double(frames), Double(correct) / Double(frames))
            }
            network.isTraining = false
            let (validationLoss, validationAccuracy) = evaluate(network, validation.isEmpty ? training : validation, dimension: architecture.inputSize)
            guard validationLoss.isFinite else { throw TrainingDivergedError(epoch: epoch, step: step, value: validationLoss) }
            optimizer.learningRate = schedule.record(Float(validationLoss))
            let entry = HybridEpochLog(epoch: epoch, trainLoss: lossSum / Double(max(frames, 1)), trainFrameAccuracy: Double(correct) / Double(max(frames, 1)),
                                       validationLoss: validationLoss, validationFrameAccuracy: validationAccuracy,
                                       learningRate: Double(optimizer.learningRate), seconds: Date().timeIntervalSince(started))
            log.append(entry)
            let improved = validationLoss < best
            if improved { best = validationLoss; sinceBest = 0 } else { sinceBest += 1 }
            try onEpoch(entry, improved)
            if let checkpoint {
                try HybridCheckpoint(architecture: architecture, epoch: epoch, best: best, sinceBest: sinceBest, step: step, schedule: schedule,
                                     generator: generator.savedState, replicaGenerators: parallel.replicas.map(\.rnn.generator.savedState),
                                     adamSteps: optimizer.steps, log: log)
                    .save(to: checkpoint, network: network, optimizer: optimizer)
            }
            if sinceBest >= options.patience { break }
        }
        return log
    }

    /// Batches of utterances of similar length (sorted by length, then cut).
    func buckets(_ data: [FrameTargets], size: Int) -> [[FrameTargets]] {
        let sorted = data.sorted { $0.frames < $1.frames }
        return stride(from: 0, to: sorted.count, by: max(size, 1)).map { Array(sorted[$0..<min($0 + size, sorted.count)]) }
    }

    func split(_ batch: [FrameTargets], into n: Int) -> [[FrameTargets]] {
        (0..<n).map { k in Array(batch[(k * batch.count / n)..<((k + 1) * batch.count / n)]) }
    }

    /// Mean frame loss and frame accuracy of `data`, without gradients.
    func evaluate(_ network: RecurrentTagger, _ data: [FrameTargets], dimension: Int) -> (Double, Double) {
        GradMode.withoutGradients {
            var loss = 0.0, correct = 0, frames = 0
            for batch in buckets(data, size: 64) {
                let (x, lengths, targets) = pad(batch, dimension: dimension)
                let logits = network.logits(x, lengths: lengths)
                let n = lengths.reduce(0, +)
                loss += Double(frameCrossEntropy(logits, targets: targets).item) * Double(n)
                correct += correctFrames(logits, targets: targets)
                frames += n
            }
            return (loss / Double(max(frames, 1)), Double(correct) / Double(max(frames, 1)))
        }
    }
}

/// Pads utterances into `[B, T, D]` (batch-first) with lengths and per-sequence targets.
func pad(_ batch: [FrameTargets], dimension D: Int) -> (Tensor<Float>, [Int], [[Int]]) {
    let T = batch.map(\.frames).max() ?? 0
    var values = [Float](repeating: 0, count: batch.count * T * D)
    for (b, u) in batch.enumerated() {
        for i in 0..<(u.frames * D) { values[b * T * D + i] = u.features[i] }
    }
    return (Tensor(shape: [batch.count, T, D], values: values), batch.map(\.frames), batch.map(\.targets))
}

/// Frames whose arg-max logit is the target.
func correctFrames(_ logits: Tensor<Float>, targets: [[Int]]) -> Int {
    let T = logits.shape[1], S = logits.shape[2]
    var correct = 0
    logits.values.withUnsafeBufferPointer { v in
        for (b, sequence) in targets.enumerated() {
            for (t, y) in sequence.enumerated() {
                let row = v.baseAddress! + (b * T + t) * S
                var best = 0
                for s in 1..<S where row[s] > row[best] { best = s }
                if best == y { correct += 1 }
            }
        }
    }
    return correct
}

final class ShardBox: @unchecked Sendable {
    let value: [[FrameTargets]]
    init(_ value: [[FrameTargets]]) { self.value = value }
}

/// Per-shard counts written by worker threads (slot k by shard k only).
final class SharedCounts: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Int>
    init(_ n: Int) {
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0)
    }
    deinit { slots.deallocate() }
    func set(_ k: Int, _ v: Int) { slots[k] = v }
    var total: Int { slots.reduce(0, +) }
}

/// Training stopped because the loss became NaN or infinite.
public struct TrainingDivergedError: Error, CustomStringConvertible, Sendable {
    public var epoch: Int
    public var step: Int
    public var value: Double
    public var description: String {
        "training diverged at epoch \(epoch), step \(step): the loss is \(value) (the last checkpoint and the best model are kept; lower --learning-rate)"
    }
}

/// The whole state of a hybrid training after an epoch: `state.json` and `state.safetensors`
/// (weights `param.NAME`, Adam moments `adam.m.NAME` and `adam.v.NAME`) in a folder that is
/// replaced whole, so that a checkpoint is never half old, half new.
struct HybridCheckpoint: Codable {
    var architecture: HybridArchitecture
    var epoch: Int
    var best: Double
    var sinceBest: Int
    var step: Int
    var schedule: PlateauSchedule<Float>
    var generator: [UInt64]
    var replicaGenerators: [[UInt64]]
    var adamSteps: [Int]
    var log: [HybridEpochLog]

    func save(to folder: String, network: RecurrentTagger, optimizer: Adam<Float>) throws {
        let staging = folder + ".new"
        try? FileManager.default.removeItem(atPath: staging)
        try ModelDirectory.createDirectory(staging)
        var tensors: [String: Tensor<Float>] = [:]
        for (k, (name, tensor)) in network.parameters.enumerated() {
            tensors["param." + name] = tensor
            tensors["adam.m." + name] = Tensor(shape: tensor.shape, values: optimizer.firstMoments[k])
            tensors["adam.v." + name] = Tensor(shape: tensor.shape, values: optimizer.secondMoments[k])
        }
        try Safetensors.write(tensors, metadata: ["epoch": String(epoch)], to: (staging as NSString).appendingPathComponent("state.safetensors"))
        try ModelDirectory.write(try ModelDirectory.encoder().encode(self), to: (staging as NSString).appendingPathComponent("state.json"))
        try? FileManager.default.removeItem(atPath: folder)
        do { try FileManager.default.moveItem(atPath: staging, toPath: folder) } catch {
            throw ModelError("\(folder): cannot be written: \(error.localizedDescription)")
        }
    }

    /// Reads the checkpoint at `folder` (or the complete one being moved into place) and loads
    /// its weights and optimizer state.
    static func load(_ folder: String, into network: RecurrentTagger, optimizer: Adam<Float>) throws -> HybridCheckpoint {
        let path = FileManager.default.fileExists(atPath: folder) ? folder : folder + ".new"
        guard let data = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent("state.json")) else {
            throw ModelError("\(folder): there is no checkpoint to resume from")
        }
        let state: HybridCheckpoint
        do { state = try JSONDecoder().decode(HybridCheckpoint.self, from: data) } catch { throw ModelError("\(folder)/state.json: \(error)") }
        let (tensors, metadata) = try Safetensors.read((path as NSString).appendingPathComponent("state.safetensors"), as: Float.self)
        guard metadata["epoch"] == String(state.epoch) else { throw ModelError("\(folder): state.json and state.safetensors are of different epochs") }
        var weights: [String: Tensor<Float>] = [:], first: [[Float]] = [], second: [[Float]] = []
        for (name, tensor) in network.parameters {
            guard let w = tensors["param." + name], let m = tensors["adam.m." + name], let v = tensors["adam.v." + name],
                  w.shape == tensor.shape, m.shape == tensor.shape, v.shape == tensor.shape else {
                throw ModelError("\(folder): the checkpoint has no '\(name)' of shape \(tensor.shape): it is of another architecture")
            }
            weights[name] = w
            first.append(m.values)
            second.append(v.values)
        }
        try network.loadStateDictionary(weights, strict: false)
        try optimizer.restore(steps: state.adamSteps, firstMoments: first, secondMoments: second)
        return state
    }
}
