import Distributed
import Foundation
import SpeechBase
import TensorCore

/// How a network is trained by ``EpochLoop`` (hybrid networks and classifiers alike).
public struct TrainingOptions: Codable, Sendable, Equatable {
    public var epochs = 30
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
    /// Masking of the training batches' features (nil: none).
    public var specAugment: SpecAugment?
    /// How the training data's copies were made (its `perturbation.json`), kept with the model.
    public var dataPerturbation: DataPerturbation?
    /// The model kept at the end: the mean of the weights of this many epochs with the lowest
    /// validation loss (ESPnet's and WeNet's checkpoint averaging), if its validation loss is
    /// lower than the best epoch's; nil or 1: the best epoch alone.
    public var averagedEpochs: Int?

    public init() {}
}

/// One epoch of the training log: losses and accuracies (per frame or per utterance: what the
/// loss averages over), the learning rate after the epoch and its seconds.
public struct EpochLog: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var learningRate: Double
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double, validationAccuracy: Double,
                learningRate: Double, seconds: Double) {
        (self.epoch, self.trainLoss, self.trainAccuracy, self.validationLoss) = (epoch, trainLoss, trainAccuracy, validationLoss)
        (self.validationAccuracy, self.learningRate, self.seconds) = (validationAccuracy, learningRate, seconds)
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, trainLoss, trainAccuracy, validationLoss, validationAccuracy, learningRate, seconds
        // The names of logs written before the training loop served classifiers too.
        case trainFrameAccuracy, validationFrameAccuracy
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epoch = try c.decode(Int.self, forKey: .epoch)
        trainLoss = try c.decode(Double.self, forKey: .trainLoss)
        trainAccuracy = try c.decodeIfPresent(Double.self, forKey: .trainAccuracy) ?? c.decode(Double.self, forKey: .trainFrameAccuracy)
        validationLoss = try c.decode(Double.self, forKey: .validationLoss)
        validationAccuracy = try c.decodeIfPresent(Double.self, forKey: .validationAccuracy) ?? c.decode(Double.self, forKey: .validationFrameAccuracy)
        learningRate = try c.decode(Double.self, forKey: .learningRate)
        seconds = try c.decode(Double.self, forKey: .seconds)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(trainLoss, forKey: .trainLoss)
        try c.encode(trainAccuracy, forKey: .trainAccuracy)
        try c.encode(validationLoss, forKey: .validationLoss)
        try c.encode(validationAccuracy, forKey: .validationAccuracy)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(seconds, forKey: .seconds)
    }
}

/// The end of a training with ``TrainingOptions/averagedEpochs``: the epochs whose weights were
/// averaged, the average's validation loss and accuracy, and whether it was kept (its loss
/// lower than the best epoch's).
public struct EpochAverage: Codable, Sendable, Equatable {
    public var epochs: [Int]
    public var validationLoss: Double
    public var validationAccuracy: Double
    public var kept: Bool
}

/// One epoch's weights kept for averaging (parameters in the model's order).
struct WeightSnapshot {
    var epoch: Int
    var validationLoss: Double
    var weights: [[Float]]
}

/// A model the epoch loop trains: a layer whose random draws (dropout masks) come from one
/// generator, which the loop seeds per worker and saves in checkpoints.
public protocol RandomizedModel: Layer where Scalar == Float {
    var randomGenerator: SeededGenerator { get set }
}

/// The training loop shared by hybrid networks and classifiers: a seeded validation split,
/// mini-batches bucketed by length and shuffled each epoch, the batch split over threads
/// (`DataParallel`), Adam with gradient clipping and a plateau schedule, early stopping, and a
/// checkpoint of the whole state after every epoch (for `resume`).
///
/// Over the ranks of `communicator` (PyTorch's DistributedDataParallel): every rank holds the
/// same data and draws the same batches; each takes its slice of every batch (split further
/// over its threads), the gradients, loss and counts are all-reduced once per step, and every
/// rank takes the same optimizer step. Validation batches are shared out likewise and their
/// sums reduced. Rank 0 alone writes the checkpoint.
public struct EpochLoop<Model: RandomizedModel, Item: Sendable, Architecture: Codable & Equatable & Sendable> {
    public var options: TrainingOptions
    public var architecture: Architecture
    /// ``trainingDataFingerprint(_:)`` of the training items, kept in the checkpoint.
    public var dataFingerprint: String
    /// Sort key for bucketing.
    public var length: (Item) -> Int
    /// What the loss averages over: frames (hybrid) or utterances (classifier).
    public var units: (Item) -> Int
    /// A shard's mean loss over its units, and how many units it got right.
    public var loss: @Sendable (Model, [Item]) -> (loss: Tensor<Float>, correct: Int)
    /// Items with the same group (perturbed copies of one recording) fall on the same side of
    /// the validation split; nil: every item is its own group.
    public var group: ((Item) -> String)?
    /// The ranks that share every batch (one process alone by default).
    public var communicator: any Communicator = SingleProcess()
    /// The all-reduce's buffer, kept from step to step (2.4 MB for the default hybrid: a fresh
    /// one every step is fresh pages for the kernel to fault in and zero).
    let reduction = ReductionBuffer()

    public init(options: TrainingOptions, architecture: Architecture, dataFingerprint: String, length: @escaping (Item) -> Int,
                units: @escaping (Item) -> Int, group: ((Item) -> String)? = nil,
                loss: @escaping @Sendable (Model, [Item]) -> (loss: Tensor<Float>, correct: Int)) {
        (self.options, self.architecture, self.dataFingerprint) = (options, architecture, dataFingerprint)
        (self.length, self.units, self.loss, self.group) = (length, units, loss, group)
    }

    /// The seeded validation split: whole groups, taken in shuffled order until they hold the
    /// validation fraction of the items (with one item per group: the first items of `order`).
    /// Ten recordings or fewer (a few utterances of a new voice) are all trained on: holding one
    /// out would leave its word unseen, however many perturbed copies each recording has.
    func split(_ data: [Item], order: [Int]) -> (training: [Item], validation: [Item]) {
        guard let group else {
            let validationCount = data.count > 10 ? Int(Double(data.count) * options.validationFraction) : 0
            return (order.dropFirst(validationCount).map { data[$0] }, order.prefix(validationCount).map { data[$0] })
        }
        let groups = order.map { group(data[$0]) }
        var sizes: [String: Int] = [:]
        for g in groups { sizes[g, default: 0] += 1 }
        let validationCount = sizes.count > 10 ? Int(Double(data.count) * options.validationFraction) : 0
        var held = Set<String>(), count = 0
        for g in groups where count < validationCount && held.insert(g).inserted { count += sizes[g]! }
        let isHeld = groups.map { held.contains($0) }
        return (order.indices.filter { !isHeld[$0] }.map { data[order[$0]] }, order.indices.filter { isHeld[$0] }.map { data[order[$0]] })
    }

    /// Where the loop stands: at the start, or restored from a checkpoint.
    struct Progress {
        var log: [EpochLog] = []
        var best = Double.infinity
        var sinceBest = 0
        var step = 0
        var schedule: PlateauSchedule<Float>
        var firstEpoch = 1
        /// The epochs with the lowest validation loss so far, lowest first (with averaging).
        var snapshots: [WeightSnapshot] = []
    }

    /// How many epochs' weights are averaged at the end (1: none).
    var averagedCount: Int { max(options.averagedEpochs ?? 1, 1) }

    /// `snapshots` with `model`'s weights after `epoch` in their place, if they are among the
    /// `averagedCount` lowest validation losses.
    func keeping(_ snapshots: [WeightSnapshot], model: Model, epoch: Int, validationLoss: Double) -> [WeightSnapshot] {
        guard averagedCount > 1 else { return [] }
        var kept = snapshots
        kept.append(WeightSnapshot(epoch: epoch, validationLoss: validationLoss, weights: model.parameters.map { $0.tensor.values }))
        kept.sort { ($0.validationLoss, $0.epoch) < ($1.validationLoss, $1.epoch) }
        return Array(kept.prefix(averagedCount))
    }

    /// Loads the mean of the snapshots' weights into `model` and measures it on the validation
    /// items; unless its loss beats `best`, the model's weights are put back as they were.
    func average(_ snapshots: [WeightSnapshot], into model: Model, parallel: DataParallel<Model>, validation: [Item],
                 best: Double) throws -> EpochAverage? {
        guard snapshots.count > 1, !validation.isEmpty else { return nil }
        let parameters = model.parameters.map(\.tensor)
        let before = parameters.map(\.values)
        let scale = 1 / Float(snapshots.count)
        for (k, tensor) in parameters.enumerated() {
            var sum = [Float](repeating: 0, count: tensor.count)
            for snapshot in snapshots { for i in sum.indices { sum[i] += snapshot.weights[k][i] } }
            tensor.values = sum.map { $0 * scale }
        }
        model.isTraining = false
        let (loss, accuracy) = try evaluate(parallel, validation)
        let kept = loss < best
        if !kept { for (tensor, values) in zip(parameters, before) { tensor.values = values } }
        return EpochAverage(epochs: snapshots.map(\.epoch).sorted(), validationLoss: loss, validationAccuracy: accuracy, kept: kept)
    }

    /// Trains `model` in place; `makeReplica` makes a model of the same architecture for each
    /// worker; `onEpoch` sees each epoch's log entry and whether it is the best so far. With
    /// `checkpoint`, the whole state is saved there after every epoch, and with `resume`
    /// training continues from it. With ``TrainingOptions/averagedEpochs``, `onAverage` sees
    /// the average at the end (the model holds it if it was kept). Throws
    /// ``TrainingDivergedError`` when the loss diverges.
    public func run(_ model: Model, makeReplica: () -> Model, data: [Item], checkpoint: String?, resume: Bool,
                    onBatch: ((Int, Int, Double, Double) -> Void)?, onEpoch: (EpochLog, Bool) throws -> Void,
                    onAverage: ((EpochAverage) throws -> Void)? = nil) throws -> [EpochLog] {
        var generator = SeededGenerator(seed: options.seed)
        var order = Array(data.indices)
        order.shuffle(using: &generator)
        let (training, validation) = split(data, order: order)
        let parallel = DataParallel(master: model, workers: max(1, options.workers), makeReplica: makeReplica)
        // One dropout stream per shard of the global batch (rank-major), the same as one
        // process with as many threads draws.
        let firstShard = communicator.rank * parallel.workerCount
        for (k, replica) in parallel.replicas.enumerated() { replica.randomGenerator = SeededGenerator(seed: options.seed &+ UInt64(firstShard + k) &+ 100) }
        let optimizer = Adam(parameters: model.trainableParameters, learningRate: options.learningRate)
        var state = Progress(schedule: PlateauSchedule<Float>(rate: options.learningRate, factor: 0.5, patience: 1))
        if resume, let checkpoint {
            state = try restore(checkpoint, into: model, optimizer: optimizer, parallel: parallel, generator: &generator)
        }
        // A resumed training may have stopped already; it still takes its average below.
        let stopped = state.sinceBest >= options.patience || state.firstEpoch > options.epochs
        for epoch in state.firstEpoch...max(options.epochs, state.firstEpoch) where !stopped {
            let started = Date()
            model.isTraining = true
            var batches = buckets(training, size: options.batchSize)
            batches.shuffle(using: &generator)
            var lossSum = 0.0, correct = 0, seen = 0
            for batch in batches {
                let (batchLoss, total, right) = try trainBatch(batch, parallel: parallel, optimizer: optimizer)
                guard batchLoss.isFinite else { throw TrainingDivergedError(epoch: epoch, step: state.step, value: Double(batchLoss)) }
                clipGradientNorm(optimizer.parameters, maxNorm: options.maxGradientNorm)
                optimizer.step()
                lossSum += Double(batchLoss) * Double(total)
                correct += right
                seen += total
                state.step += 1
                onBatch?(state.step - (epoch - 1) * batches.count, batches.count, lossSum / Double(seen), Double(correct) / Double(seen))
            }
            model.isTraining = false
            // Without a validation split the epoch's own running loss stands in for it.
            let (validationLoss, validationAccuracy) = validation.isEmpty
                ? (lossSum / Double(max(seen, 1)), Double(correct) / Double(max(seen, 1)))
                : try evaluate(parallel, validation)
            guard validationLoss.isFinite else { throw TrainingDivergedError(epoch: epoch, step: state.step, value: validationLoss) }
            optimizer.learningRate = state.schedule.record(Float(validationLoss))
            let entry = EpochLog(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)), trainAccuracy: Double(correct) / Double(max(seen, 1)),
                                 validationLoss: validationLoss, validationAccuracy: validationAccuracy,
                                 learningRate: Double(optimizer.learningRate), seconds: Date().timeIntervalSince(started))
            state.log.append(entry)
            let improved = validationLoss < state.best
            if improved { (state.best, state.sinceBest) = (validationLoss, 0) } else { state.sinceBest += 1 }
            state.snapshots = keeping(state.snapshots, model: model, epoch: epoch, validationLoss: validationLoss)
            try onEpoch(entry, improved)
            if let checkpoint {
                // Every rank's dropout streams, rank by rank; rank 0 writes.
                let replicaGenerators = try communicator.allGather(parallel.replicas.map(\.randomGenerator.savedState)).flatMap { $0 }
                if communicator.isWriter {
                    try TrainingCheckpoint(architecture: architecture, options: options, dataFingerprint: dataFingerprint, epoch: epoch, best: state.best,
                                           sinceBest: state.sinceBest, step: state.step, schedule: state.schedule, generator: generator.savedState,
                                           replicaGenerators: replicaGenerators, adamSteps: optimizer.steps, log: state.log,
                                           snapshots: state.snapshots.map { .init(epoch: $0.epoch, validationLoss: $0.validationLoss) })
                        .save(to: checkpoint, model: model, optimizer: optimizer, snapshots: state.snapshots)
                }
                try communicator.barrier()
            }
            if state.sinceBest >= options.patience { break }
        }
        // Also when a resumed training had already stopped: the checkpoint is saved before the
        // average is taken, so an interruption in between leaves it to be taken now.
        if let average = try average(state.snapshots, into: model, parallel: parallel, validation: validation, best: state.best) {
            try onAverage?(average)
        }
        return state.log
    }

    /// One batch's loss and gradients, summed into the master's from the shards: every
    /// (ranks × workers)-th item of the length-sorted batch, so that the shards are equally long
    /// and no worker waits for another's longer sequences; this rank computes its workers'
    /// shards, and the ranks' sums are all-reduced. Returns the loss (mean over the batch's
    /// units), the units and how many were right.
    func trainBatch(_ batch: [Item], parallel: DataParallel<Model>, optimizer: Adam<Float>) throws -> (loss: Float, units: Int, correct: Int) {
        let workers = parallel.workerCount, shardCount = workers * communicator.size, first = communicator.rank * workers
        let lossOfShard = loss, unitsOf = units
        let shards = SendableShards((0..<workers).map { k in stride(from: first + k, to: batch.count, by: shardCount).map { batch[$0] } })
        let total = batch.reduce(0) { $0 + unitsOf($1) }
        let shardUnits = shards.value.map { $0.reduce(0) { $0 + unitsOf($1) } }
        optimizer.zeroGradients()
        let counts = SharedCounts(workers)
        let batchLoss = parallel.accumulateGradients { replica, s in
            guard !shards.value[s].isEmpty else { return Tensor<Float>(0) }
            let (value, right) = lossOfShard(replica, shards.value[s])
            counts.set(s, right)
            return value * (Float(shardUnits[s]) / Float(total))
        }
        guard communicator.size > 1 else { return (batchLoss, total, counts.total) }
        let reduced = try allReduce(optimizer.parameters, loss: batchLoss, correct: counts.total, model: parallel.master)
        return (reduced.loss, total, reduced.correct)
    }

    /// Sums the ranks' gradients (in place, as if one process had computed them all), their
    /// losses and counts in one all-reduce; batch-norm statistics follow rank 0's.
    func allReduce(_ parameters: [Tensor<Float>], loss: Float, correct: Int, model: Model) throws -> (loss: Float, correct: Int) {
        let total = parameters.reduce(0) { $0 + $1.count }
        if reduction.values.count != total + 2 { reduction.values = [Float](repeating: 0, count: total + 2) }
        reduction.values.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            for p in parameters {
                let part = UnsafeMutableBufferPointer(rebasing: buffer[offset..<(offset + p.count)])
                if let g = p.grad {
                    g.values.withUnsafeBufferPointer { _ = part.update(fromContentsOf: $0) }
                } else {
                    part.update(repeating: 0)
                }
                offset += p.count
            }
            buffer[total] = loss
            buffer[total + 1] = Float(correct)
        }
        try communicator.sum(&reduction.values)
        // The sums back into the gradients, in place.
        reduction.values.withUnsafeBufferPointer { sums in
            var offset = 0
            for p in parameters {
                let part = UnsafeBufferPointer(rebasing: sums[offset..<(offset + p.count)])
                if let g = p.grad {
                    g.values.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: part) }
                } else {
                    p.grad = Tensor(shape: p.shape, values: Array(part))
                }
                offset += p.count
            }
        }
        for buffer in model.buffers.map(\.tensor) {
            let bytes = try communicator.broadcast(buffer.values.withUnsafeBytes { Array($0) }, from: 0)
            buffer.values = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return (reduction.values[total], Int(reduction.values[total + 1].rounded()))
    }

    /// The state saved in `checkpoint`, loaded into the model, the optimizer, the workers'
    /// generators and `generator`; refused when it belongs to another training.
    func restore(_ checkpoint: String, into model: Model, optimizer: Adam<Float>, parallel: DataParallel<Model>,
                 generator: inout SeededGenerator) throws -> Progress {
        let (saved, snapshots) = try TrainingCheckpoint<Architecture>.load(checkpoint, into: model, optimizer: optimizer)
        guard saved.architecture == architecture else {
            throw TrainingError("\(checkpoint): the checkpoint is of another architecture and cannot resume this training")
        }
        // More epochs may be asked for; anything else changed would resume another training.
        var changed = saved.options.map { differingSettings($0, options, ignoring: ["epochs"]) } ?? []
        if let fingerprint = saved.dataFingerprint, fingerprint != dataFingerprint { changed.append("data (\(fingerprint) then, \(dataFingerprint) now)") }
        guard changed.isEmpty else {
            throw TrainingError("\(checkpoint): was saved by a training with other settings or data (\(changed.joined(separator: ", ")) differ; "
                + "workers is --jobs); --resume continues a training with the same ones (--overwrite starts afresh)")
        }
        generator.savedState = saved.generator
        // This rank's dropout streams (saved rank by rank); a run on another number of ranks or
        // threads starts fresh streams instead, seeded by the step so that none repeats.
        let first = communicator.rank * parallel.workerCount
        for (k, replica) in parallel.replicas.enumerated() {
            if saved.replicaGenerators.count == communicator.size * parallel.workerCount {
                replica.randomGenerator.savedState = saved.replicaGenerators[first + k]
            } else {
                replica.randomGenerator = SeededGenerator(seed: options.seed &+ UInt64(first + k) &+ 100 &+ UInt64(saved.step) &* 7919)
            }
        }
        optimizer.learningRate = saved.schedule.rate
        return Progress(log: saved.log, best: saved.best, sinceBest: saved.sinceBest, step: saved.step, schedule: saved.schedule,
                        firstEpoch: saved.epoch + 1, snapshots: snapshots)
    }

    /// Batches of items of similar length (sorted by length, then cut).
    func buckets(_ data: [Item], size: Int) -> [[Item]] {
        let sorted = data.sorted { length($0) < length($1) }
        return stride(from: 0, to: sorted.count, by: max(size, 1)).map { Array(sorted[$0..<min($0 + size, sorted.count)]) }
    }

    /// Mean loss per unit and accuracy of `data`, without gradients, on every worker of every
    /// rank (each rank every size-th batch; the sums all-reduced).
    func evaluate(_ parallel: DataParallel<Model>, _ data: [Item]) throws -> (Double, Double) {
        let all = buckets(data, size: 64)
        let batches = SendableShards(stride(from: communicator.rank, to: all.count, by: communicator.size).map { all[$0] })
        let batchUnits = batches.value.map { $0.reduce(0) { $0 + units($1) } }
        let lossOfBatch = loss
        let results = parallel.map(batches.value.count) { replica, i in
            GradMode.withoutGradients {
                let (value, right) = lossOfBatch(replica, batches.value[i])
                return (Double(value.item) * Double(batchUnits[i]), right)
            }
        }
        var sums = [results.reduce(0) { $0 + $1.0 }, Double(results.reduce(0) { $0 + $1.1 })]
        try communicator.sum(&sums)
        let seen = all.reduce(0) { $0 + $1.reduce(0) { $0 + units($1) } }
        return (sums[0] / Double(max(seen, 1)), sums[1] / Double(max(seen, 1)))
    }
}

/// A buffer kept by reference in the (value-type) loop.
final class ReductionBuffer {
    var values: [Float] = []
}

final class SendableShards<Item>: @unchecked Sendable {
    let value: [[Item]]
    init(_ value: [[Item]]) { self.value = value }
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

/// The whole state of a training after an epoch: `state.json` and `state.safetensors`
/// (weights `param.NAME`, Adam moments `adam.m.NAME` and `adam.v.NAME`) in a folder that is
/// replaced whole, so that a checkpoint is never half old, half new.
struct TrainingCheckpoint<Architecture: Codable>: Codable {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return encoder
    }

    var architecture: Architecture
    /// The options and data of the training (absent in checkpoints of older versions).
    var options: TrainingOptions?
    var dataFingerprint: String?
    var epoch: Int
    var best: Double
    var sinceBest: Int
    var step: Int
    var schedule: PlateauSchedule<Float>
    var generator: [UInt64]
    var replicaGenerators: [[UInt64]]
    var adamSteps: [Int]
    var log: [EpochLog]
    /// The epochs kept for averaging, their weights `snapshot.EPOCH.NAME` (absent without averaging).
    var snapshots: [SnapshotRecord]?

    struct SnapshotRecord: Codable {
        var epoch: Int
        var validationLoss: Double
    }

    func save<Model: Layer>(to folder: String, model network: Model, optimizer: Adam<Float>, snapshots: [WeightSnapshot]) throws where Model.Scalar == Float {
        var tensors: [String: Tensor<Float>] = [:]
        for snapshot in snapshots {
            for ((name, tensor), values) in zip(network.parameters, snapshot.weights) {
                tensors["snapshot.\(snapshot.epoch).\(name)"] = Tensor(shape: tensor.shape, values: values)
            }
        }
        for (name, tensor) in network.parameters {
            tensors["param." + name] = tensor
            // Adam holds moments for the trainable (unfrozen) parameters only.
            guard let k = optimizer.parameters.firstIndex(where: { $0 === tensor }) else { continue }
            tensors["adam.m." + name] = Tensor(shape: tensor.shape, values: optimizer.firstMoments[k])
            tensors["adam.v." + name] = Tensor(shape: tensor.shape, values: optimizer.secondMoments[k])
        }
        let files = ["state.safetensors": Safetensors.encode(tensors, metadata: ["epoch": String(epoch)]),
                     "state.json": try Self.encoder.encode(self)]
        do { try DirectoryReplacement.write(files, to: folder) } catch { throw TrainingError(FileError.reason(error)) }
    }

    /// Reads the checkpoint at `folder` (or the complete one being moved into place), loads
    /// its weights and optimizer state, and returns it with the epochs' weights kept for averaging.
    static func load<Model: Layer>(_ folder: String, into network: Model, optimizer: Adam<Float>) throws
        -> (TrainingCheckpoint, [WeightSnapshot]) where Model.Scalar == Float {
        let files = (try? DirectorySnapshot.read(folder, files: ["state.json", "state.safetensors"])) ?? [:]
        guard let data = files["state.json"], let stateBytes = files["state.safetensors"] else {
            throw TrainingError("\(folder): there is no checkpoint to resume from")
        }
        let state: TrainingCheckpoint
        do { state = try JSONDecoder().decode(TrainingCheckpoint.self, from: data) } catch { throw TrainingError("\(folder)/state.json: \(describe(error))") }
        guard ([state.generator] + state.replicaGenerators).allSatisfy({ $0.count == 4 }), state.epoch >= 1, state.step >= 0 else {
            throw TrainingError("\(folder)/state.json: the random generator states or the epoch are damaged")
        }
        let (tensors, metadata) = try Safetensors.decode(stateBytes, path: (folder as NSString).appendingPathComponent("state.safetensors"), as: Float.self)
        guard metadata["epoch"] == String(state.epoch) else { throw TrainingError("\(folder): state.json and state.safetensors are of different epochs") }
        var weights: [String: Tensor<Float>] = [:]
        for (name, tensor) in network.parameters {
            guard let w = tensors["param." + name], w.shape == tensor.shape else {
                throw TrainingError("\(folder): the checkpoint has no '\(name)' of shape \(tensor.shape): it is of another architecture")
            }
            weights[name] = w
        }
        var first: [[Float]] = [], second: [[Float]] = []
        for (name, tensor) in network.parameters where optimizer.parameters.contains(where: { $0 === tensor }) {
            guard let m = tensors["adam.m." + name], let v = tensors["adam.v." + name], m.shape == tensor.shape, v.shape == tensor.shape else {
                throw TrainingError("\(folder): the checkpoint has no optimizer state for '\(name)': it was saved with other --freeze options")
            }
            first.append(m.values)
            second.append(v.values)
        }
        let snapshots = try (state.snapshots ?? []).map { record in
            let weights = try network.parameters.map { name, tensor in
                guard let w = tensors["snapshot.\(record.epoch).\(name)"], w.shape == tensor.shape else {
                    throw TrainingError("\(folder): the checkpoint has no weights of epoch \(record.epoch) for '\(name)' to average")
                }
                return w.values
            }
            return WeightSnapshot(epoch: record.epoch, validationLoss: record.validationLoss, weights: weights)
        }
        try network.loadStateDictionary(weights, strict: false)
        try optimizer.restore(steps: state.adamSteps, firstMoments: first, secondMoments: second)
        return (state, snapshots)
    }
}

/// A training could not start, resume or save; the description names the file and the reason.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
