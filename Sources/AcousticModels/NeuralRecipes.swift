import Distributed
import FeatureExtraction
import Foundation
import NeuralNet
import SpeechBase

/// What `speechlab train rnn` is asked for: the network's shape, the training options and,
/// for hybrids, finetuning from another model.
public struct RecurrentTrainingSetup: Sendable {
    public var cell: RecurrentCell = .lstm
    public var layers = 2
    public var hiddenSize = 128
    public var bidirectional = true
    public var dropout: Float = 0.1
    /// Classifier pooling over time.
    public var pooling: Pooling = .attention
    public var options = TrainingOptions()
    /// Hybrid finetuning: the model to start from (its architecture and input normalization).
    public var initialModel: String?
    /// Parameters kept fixed: names or prefixes (`rnn`, `rnn.weight_ih_l0`).
    public var freeze: [String] = []
    /// With `initialModel`: the output layer starts afresh.
    public var reinitializeOutput = false
    /// The ranks that train together, each on a slice of every batch (all of them hold all the
    /// data); rank 0 writes the model directory. One process alone by default.
    public var communicator: any Communicator = SingleProcess()

    public init() {}
}

/// What a training reports while it runs (each optional).
public struct TrainingProgress {
    /// After each batch: (batch of the epoch, batches of the epoch, running loss, running accuracy).
    public var batch: ((Int, Int, Double, Double) -> Void)?
    /// After each epoch: its log entry and whether the model directory was rewritten with it.
    public var epoch: ((EpochLog, Bool) -> Void)?
    /// A remark worth a warning (an utterance skipped, a resume).
    public var note: ((String) -> Void)?
    /// At the end of a training that averages epochs: the average, and whether it was kept.
    public var average: ((EpochAverage) -> Void)?

    public init(batch: ((Int, Int, Double, Double) -> Void)? = nil, epoch: ((EpochLog, Bool) -> Void)? = nil,
                note: ((String) -> Void)? = nil, average: ((EpochAverage) -> Void)? = nil) {
        self.batch = batch
        self.epoch = epoch
        self.note = note
        self.average = average
    }
}

/// The neural training recipes, callable without the CLI: each writes a model directory that
/// holds the best epoch's weights (rewritten whenever the validation loss improves), a
/// checkpoint after every epoch (`MODEL/checkpoint`, for `resume`), every epoch in
/// `training.log` and the training time in `model.json` at the end.
public enum NeuralRecipes {
    /// Trains a hybrid network on the frame targets of `alignments` for `utterances` (features
    /// made with the alignments' configuration; utterances without an alignment are skipped,
    /// and noted). `originals` maps perturbed copies to the utterance they copy (`utt2uniq`),
    /// so that validation holds out whole recordings.
    public static func trainHybrid(_ setup: RecurrentTrainingSetup, utterances: [(id: String, features: FeatureMatrix)],
                                   originals: [String: String] = [:], alignments: AlignmentDirectory, out: String, resume: Bool,
                                   progress: TrainingProgress = TrainingProgress()) throws -> HybridModel {
        var matched: [(String, FeatureMatrix, [Int])] = []
        for (id, features) in utterances {
            guard let pdfs = alignments.alignments[id] else {
                progress.note?("skipped \(id): it has no alignment")
                continue
            }
            guard pdfs.count == features.frames else {
                throw ModelError("utterance '\(id)': \(features.frames) frames of features but \(pdfs.count) aligned frames (features made differently from the alignment's?)")
            }
            matched.append((id, features, pdfs))
        }
        guard !matched.isEmpty else { throw ModelError("no training utterance has an alignment") }
        let initial = try setup.initialModel.map { try HybridModel.load($0).model }
        let pdfCount = alignments.hmm.pdfCount
        if let initial, initial.pdfCount != pdfCount {
            throw ModelError("\(setup.initialModel!): has \(initial.pdfCount) outputs, the alignments' HMM \(pdfCount)")
        }
        let normalization = initial?.normalization ?? InputNormalization(matched.map(\.1))
        let data = matched.map { FrameTargets(id: $0.0, features: normalization.apply($0.1), frames: $0.1.frames, targets: $0.2, group: originals[$0.0]) }
        var counts = [Int](repeating: 0, count: pdfCount)
        for u in data { for p in u.targets { counts[p] += 1 } }
        let architecture = initial?.architecture
            ?? HybridArchitecture(cell: setup.cell, inputSize: alignments.hmm.features.dimension, hiddenSize: setup.hiddenSize, layers: setup.layers,
                                  bidirectional: setup.bidirectional, dropout: setup.dropout, outputs: pdfCount)
        let network = architecture.makeNetwork(seed: setup.options.seed)
        if let initial {
            var weights = initial.network.stateDictionary()
            if setup.reinitializeOutput { weights = weights.filter { !$0.key.hasPrefix("output.") } }
            try network.loadStateDictionary(weights, strict: false)
        }
        try freeze(setup.freeze, in: network)
        let model = HybridModel(hmm: alignments.hmm, architecture: architecture, network: network, normalization: normalization,
                                logPriors: HybridModel.logPriors(counts: counts))
        try runEpochs(out: out, resume: resume, writer: setup.communicator.isWriter, progress: progress,
                      save: { try model.save(to: out, training: setup.options, log: $0) }) { checkpoint, onEpoch, onAverage in
            try HybridTrainer(options: setup.options, communicator: setup.communicator).train(network, architecture: architecture, data: data, checkpoint: checkpoint,
                                                            resume: resume, onBatch: progress.batch, onEpoch: onEpoch, onAverage: onAverage)
        }
        return model
    }

    /// Trains a whole-utterance classifier on `utterances` of one word each, with features made
    /// by `features`; `originals` as for ``trainHybrid``.
    public static func trainClassifier(_ setup: RecurrentTrainingSetup, utterances: [(id: String, word: String, features: FeatureMatrix)],
                                       originals: [String: String] = [:], features: FeatureConfig, out: String, resume: Bool,
                                       progress: TrainingProgress = TrainingProgress()) throws -> UtteranceClassifier {
        guard !utterances.isEmpty else { throw ModelError("no training utterances") }
        let words = Set(utterances.map(\.word)).sorted()
        let normalization = InputNormalization(utterances.map(\.features))
        let architecture = ClassifierArchitecture(cell: setup.cell, inputSize: features.dimension, hiddenSize: setup.hiddenSize, layers: setup.layers,
                                                  bidirectional: setup.bidirectional, dropout: setup.dropout, pooling: setup.pooling, words: words)
        let model = UtteranceClassifier(architecture: architecture, normalization: normalization, features: features, seed: setup.options.seed)
        let data = utterances.map {
            LabelledUtterance(features: normalization.apply($0.features), frames: $0.features.frames, label: words.firstIndex(of: $0.word)!,
                              group: originals[$0.id] ?? $0.id)
        }
        try runEpochs(out: out, resume: resume, writer: setup.communicator.isWriter, progress: progress,
                      save: { try model.save(to: out, training: setup.options, log: $0) }) { checkpoint, onEpoch, onAverage in
            try ClassifierTrainer(options: setup.options, communicator: setup.communicator).train(model, data: data, checkpoint: checkpoint, resume: resume,
                                                                onBatch: progress.batch, onEpoch: onEpoch, onAverage: onAverage)
        }
        return model
    }

    /// Stops gradients of the parameters named by `prefixes`, refusing a name that matches none
    /// and a freeze that leaves nothing to train.
    static func freeze(_ prefixes: [String], in network: RecurrentTagger) throws {
        guard !prefixes.isEmpty else { return }
        let names = network.parameters.map(\.name)
        for prefix in prefixes where !names.contains(where: { $0.hasPrefix(prefix) }) {
            throw ModelError("--freeze \(prefix): no parameter has that name or prefix (they are \(names.joined(separator: ", ")))")
        }
        network.freeze(prefixes)
        guard !network.trainableParameters.isEmpty else {
            throw ModelError("--freeze \(prefixes.joined(separator: " ")) leaves no parameter to train")
        }
    }

    /// The part both recipes share: the checkpoint folder; the log, kept across a resume (the
    /// epochs before the interruption count in the training time); the model saved with the log
    /// so far whenever an epoch improves; the training time and whole log recorded at the end
    /// (by the `writer` alone, rank 0 of a distributed training).
    static func runEpochs(out: String, resume: Bool, writer: Bool = true, progress: TrainingProgress, save: @escaping ([EpochLog]) throws -> Void,
                          _ train: (String, (EpochLog, Bool) throws -> Void, @escaping (EpochAverage) throws -> Void) throws -> [EpochLog]) throws {
        let started = Date()
        let checkpoint = (out as NSString).appendingPathComponent("checkpoint")
        var log: [EpochLog] = []
        if resume {
            progress.note?("resuming from \(checkpoint)")
            // Lines that cannot be read are left out: the checkpoint, not the log, decides where training resumes.
            let lines = (try? TextFile.lines(of: (out as NSString).appendingPathComponent("training.log"))) ?? []
            log = lines.compactMap { try? JSONDecoder().decode(EpochLog.self, from: Data($0.utf8)) }
        }
        let previousSeconds = log.reduce(0) { $0 + $1.seconds }
        _ = try train(checkpoint) { entry, improved in
            log = log.filter { $0.epoch < entry.epoch } + [entry]
            progress.epoch?(entry, improved)
            if improved, writer { try save(log) }
        } _: { average in
            // The averaged weights replace the best epoch's only if they validate better.
            progress.average?(average)
            if average.kept, writer { try save(log) }
        }
        guard writer else { return }
        try ModelDirectory.recordTraining(seconds: Date().timeIntervalSince(started) + previousSeconds, log: log, in: out)
    }
}
