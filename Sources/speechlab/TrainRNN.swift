import AcousticModels
import ArgumentParser
import FeatureExtraction
import Foundation
import HiddenMarkov
import NeuralNet
import SpeechBase

/// `speechlab train rnn`: LSTM or GRU acoustic models.
struct TrainRNN: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn",
        abstract: "Train a hybrid LSTM/GRU-HMM on GMM-HMM alignments, or a whole-utterance classifier.",
        discussion: """
            --kind classifier: LSTM/GRU layers, pooling over time (--pooling) and a softmax over the \
            words of single-word transcripts; features from the feature options. --kind hybrid: \
            --alignments DIR is what 'speechlab align' wrote (alignments.txt and hmm.json): the network \
            learns each frame's HMM state, and decodes with the same HMMs, lexicon and features, its \
            log posteriors minus the log state priors standing in for the GMM's likelihoods. \
            The model directory is rewritten after every epoch that improves the validation loss.
            """
    )

    enum Kind: String, ExpressibleByArgument, CaseIterable { case hybrid, classifier }

    @Option(help: ArgumentHelp("Model kind.", valueName: "hybrid|classifier"))
    var kind: Kind = .hybrid
    @Option(help: ArgumentHelp("Classifier pooling over time.", valueName: "attention|mean|last"))
    var pooling: Pooling = .attention
    @Option(help: ArgumentHelp("Recurrent cell.", valueName: "lstm|gru"))
    var cell: RecurrentCell = .lstm
    @Option(help: ArgumentHelp("Recurrent layers.", valueName: "n"))
    var layers: Int = 2
    @Option(help: ArgumentHelp("Hidden units per layer and direction.", valueName: "h"))
    var hidden: Int = 128
    @Flag(inversion: .prefixedNo, help: "Bidirectional layers (the default: decoding is offline, and future context removes about 70% of the word errors on connected digits); --no-bidirectional for left-to-right layers.")
    var bidirectional = true
    @Option(help: ArgumentHelp("Dropout between layers.", valueName: "p"))
    var dropout: Float = 0.1
    @Option(help: ArgumentHelp("Most epochs (early stopping may end sooner).", valueName: "e"))
    var epochs: Int = 30
    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Utterances per batch.", valueName: "n"))
    var batchSize: Int = 32
    @Option(name: .customLong("learning-rate"), help: ArgumentHelp("Adam's initial learning rate.", valueName: "x"))
    var learningRate: Float = 2e-3
    @Option(help: ArgumentHelp("Random seed (the same seed gives the same weights).", valueName: "n"))
    var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Training data directory.", valueName: "dir"))
    var train: String
    @Option(help: ArgumentHelp("Alignments from 'speechlab align' (hybrid).", valueName: "dir"))
    var alignments: String?
    @Option(help: ArgumentHelp("Model directory to write.", valueName: "dir"))
    var out: String
    @OptionGroup(title: "Output")
    var output: ModelOutputOptions
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions
    var jobs: Int { runOptions.jobs }
    var quiet: Bool { runOptions.quiet }
    @Flag(help: "Continue an interrupted training from MODEL/checkpoint (same data and options).")
    var resume = false
    @Option(help: ArgumentHelp("Start from this hybrid model (finetuning): its architecture and input normalization are kept.", valueName: "model"))
    var `init`: String?
    @Option(help: ArgumentHelp("Keep these parameters fixed: names or prefixes, e.g. rnn.weight_ih_l0 or rnn (repeatable).", valueName: "name"))
    var freeze: [String] = []
    @Flag(help: "With --init: initialize the output layer afresh.")
    var reinitOutput = false

    func validate() throws {
        guard layers >= 1, hidden >= 1, epochs >= 1, batchSize >= 1  else {
            throw ValidationError("--layers, --hidden, --epochs, --batch-size must be at least 1")
        }
        guard dropout >= 0 && dropout < 1 else { throw ValidationError("--dropout must be in [0, 1)") }
        guard hidden <= RecurrentShape.maximumHiddenSize, layers <= RecurrentShape.maximumLayers else {
            throw ValidationError("--hidden is at most \(RecurrentShape.maximumHiddenSize) and --layers at most \(RecurrentShape.maximumLayers)")
        }
        guard learningRate > 0 && learningRate.isFinite else { throw ValidationError("--learning-rate must be a positive number") }
        if freeze.contains(where: { $0.isEmpty }) { throw ValidationError("--freeze needs a parameter name or prefix, not an empty string") }
        if kind == .classifier && (`init` != nil || !freeze.isEmpty || reinitOutput) {
            throw ValidationError("--init, --freeze and --reinit-output finetune hybrid models; the classifier does not take them")
        }
        if reinitOutput && `init` == nil { throw ValidationError("--reinit-output needs --init (the model whose output layer to start afresh)") }
        if kind == .hybrid && alignments == nil { throw ValidationError("--kind hybrid needs --alignments (from 'speechlab align')") }
    }

    @OptionGroup(title: "Feature options (classifier)")
    var features: FeatureFlags

    func trainingOptions() -> HybridTrainingOptions {
        var options = HybridTrainingOptions()
        options.epochs = epochs
        options.batchSize = batchSize
        options.learningRate = learningRate
        options.seed = seed
        options.workers = jobs
        return options
    }

    /// `--kind classifier`: one word per utterance, pooled LSTM/GRU outputs, softmax over words.
    func trainClassifier() throws {
        let corpus = try CorpusFeatures.load(train, frontEnd: try features.trainingFrontEnd(for: train), requireTranscripts: true, run: runOptions)
        if let bad = corpus.utterances.first(where: { $0.utterance.words?.count != 1 }) {
            throw ModelError("utterance '\(bad.utterance.id)': a classifier needs exactly one word per transcript")
        }
        let words = Set(corpus.utterances.map { $0.utterance.words![0] }).sorted()
        let normalization = InputNormalization(corpus.utterances.map(\.features))
        let architecture = ClassifierArchitecture(cell: cell, inputSize: corpus.config.dimension, hiddenSize: hidden, layers: layers,
                                                  bidirectional: bidirectional, dropout: dropout, pooling: pooling, words: words)
        let model = UtteranceClassifier(architecture: architecture, normalization: normalization, features: corpus.config, seed: seed)
        let data = corpus.utterances.map {
            LabelledUtterance(features: normalization.apply($0.features), frames: $0.features.frames, label: words.firstIndex(of: $0.utterance.words![0])!)
        }
        let started = Date()
        var log: [HybridEpochLog] = []
        var previousSeconds = 0.0
        let checkpoint = (out as NSString).appendingPathComponent("checkpoint")
        if resume {
            printError("train rnn: resuming from \(checkpoint)")
            log = previousLog()
            previousSeconds = log.reduce(0) { $0 + $1.seconds }  // epochs before the interruption
        }
        _ = try ClassifierTrainer(options: trainingOptions()).train(model, data: data, checkpoint: checkpoint, resume: resume) { entry, improved in
            log = log.filter { $0.epoch < entry.epoch } + [entry]
            if !quiet {
                printError(String(format: "train rnn: epoch %d/%d: loss %.4f, accuracy %.2f%%, validation loss %.4f, accuracy %.2f%%, lr %.5f, %.1f s%@",
                                  entry.epoch, epochs, entry.trainLoss, 100 * entry.trainFrameAccuracy, entry.validationLoss,
                                  100 * entry.validationFrameAccuracy, entry.learningRate, entry.seconds, improved ? " (saved)" : ""))
            }
            if improved { try model.save(to: out, training: trainingOptions(), log: log) }
        }
        try ModelDirectory.recordTraining(seconds: Date().timeIntervalSince(started) + previousSeconds, log: log, in: out)
        print(String(format: "train rnn: classifier %@ %d×%d%@, %@ pooling, %d words, %d parameters, %.1f s → %@", cell.rawValue, layers, hidden,
                     bidirectional ? " bidirectional" : "", pooling.rawValue, words.count, model.parameterCount, Date().timeIntervalSince(started), out))
    }

    /// The epochs an interrupted run logged in `--out` (lines that cannot be read are left out:
    /// the checkpoint, not the log, decides where training resumes).
    private func previousLog() -> [HybridEpochLog] {
        let previous = (try? TextFile.lines(of: (out as NSString).appendingPathComponent("training.log"))) ?? []
        return previous.compactMap { try? JSONDecoder().decode(HybridEpochLog.self, from: Data($0.utf8)) }
    }

    func run() throws {
        Runtime.configure()
        try output.prepare(out, resume: resume)
        if kind == .classifier { return try trainClassifier() }
        let alignments = self.alignments!
        let directory = try AlignmentDirectory.read(alignments)
        let (hmm, transitions, targets) = (directory.hmm, directory.transitions, directory.alignments)
        let corpus = try CorpusFeatures.load(train, config: hmm.features, rateGiven: true, requireTranscripts: false, run: runOptions)
        var matched: [(String, FeatureMatrix, [Int])] = []
        for (utterance, features) in corpus.utterances {
            guard let pdfs = targets[utterance.id] else {
                printError("warning: skipped \(utterance.id): it has no alignment in \(alignments)")
                continue
            }
            guard pdfs.count == features.frames else {
                throw ModelError("utterance '\(utterance.id)': \(features.frames) frames of features but \(pdfs.count) aligned frames (features made differently from the alignment's?)")
            }
            matched.append((utterance.id, features, pdfs))
        }
        guard !matched.isEmpty else { throw ModelError("no utterance of \(train) has an alignment in \(alignments)") }
        let initial = try `init`.map { try HybridModel.load($0).model }
        if let initial, initial.pdfCount != transitions.pdfCount {
            throw ModelError("\(`init`!): has \(initial.pdfCount) outputs, the alignments' HMM \(transitions.pdfCount)")
        }
        let normalization = initial?.normalization ?? InputNormalization(matched.map(\.1))
        let data = matched.map { FrameTargets(id: $0.0, features: normalization.apply($0.1), frames: $0.1.frames, targets: $0.2) }
        var counts = [Int](repeating: 0, count: transitions.pdfCount)
        for u in data { for p in u.targets { counts[p] += 1 } }
        let architecture = initial?.architecture ?? HybridArchitecture(cell: cell, inputSize: hmm.features.dimension, hiddenSize: hidden,
                                                                       layers: layers, bidirectional: bidirectional, dropout: dropout,
                                                                       outputs: transitions.pdfCount)
        let network = architecture.makeNetwork(seed: seed)
        if let initial {
            var weights = initial.network.stateDictionary()
            if reinitOutput { weights = weights.filter { !$0.key.hasPrefix("output.") } }
            try network.loadStateDictionary(weights, strict: false)
        }
        if !freeze.isEmpty {
            let names = Set(network.parameters.map(\.name))
            for prefix in freeze where !names.contains(where: { $0 == prefix || $0.hasPrefix(prefix + ".") || $0.hasPrefix(prefix) }) {
                throw ValidationError("--freeze \(prefix): no parameter has that name or prefix (they are \(network.parameters.map(\.name).joined(separator: ", ")))")
            }
            network.freeze(freeze)
            guard !network.trainableParameters.isEmpty else {
                throw ValidationError("--freeze \(freeze.joined(separator: " ")) leaves no parameter to train")
            }
        }
        let options = trainingOptions()
        let model = HybridModel(hmm: hmm, architecture: architecture, network: network, normalization: normalization,
                                logPriors: HybridModel.logPriors(counts: counts))
        let started = Date()
        var log: [HybridEpochLog] = []
        var previousSeconds = 0.0
        var epochProgress: ProgressReporter? = nil
        var epochNumber = 0
        let checkpoint = (out as NSString).appendingPathComponent("checkpoint")
        if resume {
            printError("train rnn: resuming from \(checkpoint)")
            log = previousLog()
            previousSeconds = log.reduce(0) { $0 + $1.seconds }  // epochs before the interruption
            epochNumber = log.last?.epoch ?? 0
        }
        _ = try HybridTrainer(options: options).train(network, architecture: architecture, data: data, checkpoint: checkpoint, resume: resume,
                                                      onBatch: { done, total, loss, accuracy in
            guard !quiet else { return }
            if done == 1 {
                epochNumber += 1
                epochProgress = ProgressReporter(label: "epoch \(epochNumber)", total: total)
            }
            epochProgress?.update(done, detail: String(format: "loss %.3f, frame accuracy %.1f%%", loss, 100 * accuracy))
            if done == total { epochProgress?.finish() }
        }) { entry, improved in
            log = log.filter { $0.epoch < entry.epoch } + [entry]
            if !quiet {
                printError(String(format: "train rnn: epoch %d/%d: loss %.4f, frame accuracy %.2f%%, validation loss %.4f, frame accuracy %.2f%%, lr %.5f, %.1f s%@",
                                  entry.epoch, epochs, entry.trainLoss, 100 * entry.trainFrameAccuracy, entry.validationLoss,
                                  100 * entry.validationFrameAccuracy, entry.learningRate, entry.seconds, improved ? " (saved)" : ""))
            }
            if improved { try model.save(to: out, training: options, log: log) }
        }
        try ModelDirectory.recordTraining(seconds: Date().timeIntervalSince(started) + previousSeconds, log: log, in: out)
        print(String(format: "train rnn: hybrid %@ %d×%d%@, %d parameters, %d utterances, %.1f s → %@", cell.rawValue, layers, hidden,
                     bidirectional ? " bidirectional" : "", network.parameterCount, data.count, Date().timeIntervalSince(started), out))
    }
}

extension RecurrentCell: ExpressibleByArgument {}

extension Pooling: ExpressibleByArgument {}
