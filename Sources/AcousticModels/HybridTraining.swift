import Dispatch
import Distributed
import FeatureExtraction
import Foundation
import NeuralNet
import SpeechBase
import TensorCore

/// One utterance for frame-level training: normalized features and a pdf per frame.
public struct FrameTargets: Sendable {
    public var id: String
    public var features: [Float]
    public var frames: Int
    public var targets: [Int]
    /// The recording it was made from (its id, or the original's for a perturbed copy): copies
    /// of one recording stay on one side of the validation split.
    public var group: String
    public init(id: String, features: [Float], frames: Int, targets: [Int], group: String? = nil) {
        self.id = id
        self.features = features
        self.frames = frames
        self.targets = targets
        self.group = group ?? id
    }
}

/// Trains a ``RecurrentTagger`` on frame targets: mini-batches of padded sequences bucketed by
/// length, Adam with gradient clipping and a plateau schedule, a held-out validation set and
/// early stopping, the batch split over threads (data parallel), the same seed giving the
/// same weights.
public struct HybridTrainer: Sendable {
    public var options: TrainingOptions
    /// The ranks that share every batch (``EpochLoop``); one process alone by default.
    public var communicator: any Communicator
    public init(options: TrainingOptions, communicator: any Communicator = SingleProcess()) {
        self.options = options
        self.communicator = communicator
    }

    /// Trains `network` in place; `onEpoch` sees each epoch's log line (to save the model) and
    /// whether it is the best so far. With `checkpoint`, the whole training state (weights,
    /// optimizer, schedule, random generators, log) is saved there after every epoch, and with
    /// `resume` training continues from it. Throws ``TrainingDivergedError`` when the loss
    /// diverges (the last checkpoint stays).
    public func train(_ network: RecurrentTagger, architecture: HybridArchitecture, data: [FrameTargets],
                      checkpoint: String? = nil, resume: Bool = false, onBatch: ((Int, Int, Double, Double) -> Void)? = nil,
                      onEpoch: (EpochLog, Bool) throws -> Void, onAverage: ((EpochAverage) throws -> Void)? = nil) throws -> [EpochLog] {
        let fingerprint = trainingDataFingerprint(data.map { u in
            (u.id, u.frames, [String(u.targets.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }, radix: 16)])
        })
        var loop = EpochLoop<RecurrentTagger, FrameTargets, HybridArchitecture>(
            options: options, architecture: architecture, dataFingerprint: fingerprint, length: { $0.frames }, units: { $0.frames },
            group: { $0.group }
        ) { [specAugment = options.specAugment] model, shard in
            var (x, lengths, targets) = pad(shard, dimension: architecture.inputSize)
            if let specAugment, model.isTraining { x = masked(x, lengths: lengths, by: specAugment, model: model) }
            let logits = model.logits(x, lengths: lengths)
            return (frameCrossEntropy(logits, targets: targets), correctFrames(logits, targets: targets))
        }
        loop.communicator = communicator
        return try loop.run(network, makeReplica: { architecture.makeNetwork(seed: 0) }, data: data, checkpoint: checkpoint,
                            resume: resume, onBatch: onBatch, onEpoch: onEpoch, onAverage: onAverage)
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

/// `x` (`[B, T, D]`) with `policy`'s masks, drawn from the model's generator (seeded per worker,
/// saved in checkpoints), so that a seed still gives the same weights.
func masked<Model: RandomizedModel>(_ x: Tensor<Float>, lengths: [Int], by policy: SpecAugment, model: Model) -> Tensor<Float> {
    var values = x.values
    var generator = model.randomGenerator
    policy.apply(to: &values, lengths: lengths, frames: x.shape[1], dimension: x.shape[2], generator: &generator)
    model.randomGenerator = generator  // a layer is a class: the replica keeps its generator's state
    return Tensor(shape: x.shape, values: values)
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


extension RecurrentTagger: RandomizedModel {
    /// The recurrent stack's generator draws the dropout masks.
    public var randomGenerator: SeededGenerator {
        get { rnn.generator }
        set { rnn.generator = newValue }
    }
}
