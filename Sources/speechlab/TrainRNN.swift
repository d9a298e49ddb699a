import AcousticModels
import ArgumentParser
import Distributed
import Foundation
import NeuralNet
import SpeechBase
import SpeechCorpus

/// `speechlab train rnn`: LSTM or GRU acoustic models.
struct TrainRNN: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        commandName: "rnn",
        abstract: "Train a hybrid LSTM/GRU-HMM on GMM-HMM alignments, or a whole-utterance classifier.",
        discussion: """
            --kind classifier: LSTM/GRU layers, pooling over time (--pooling) and a softmax over the \
            words of single-word transcripts; features from the feature options. --kind hybrid: \
            --alignments DIR is what 'speechlab align' wrote (alignments.txt and hmm.json): the network \
            learns each frame's HMM state, and decodes with the same HMMs, lexicon and features, its \
            log posteriors minus the log state priors standing in for the GMM's likelihoods. \
            The model directory is rewritten after every epoch that improves the validation loss. \
            --init MODEL finetunes a hybrid, e.g. on a few transcribed utterances of a new voice \
            aligned by MODEL itself ('speechlab adapt' does both steps); its defaults are then 8 \
            epochs of batches of 8 at a learning rate of 0.001.
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
    @Option(help: ArgumentHelp("Most epochs (early stopping may end sooner). Default: 30; 8 with --init.", valueName: "e"))
    var epochs: Int?
    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Utterances per batch. Default: 32; 8 with --init.", valueName: "n"))
    var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: ArgumentHelp("Adam's initial learning rate. Default: 0.002; 0.001 with --init.", valueName: "x"))
    var learningRate: Float?
    @Option(name: .customLong("average-epochs"), help: ArgumentHelp("The model kept: the mean of the weights of the k epochs with the lowest validation loss, if it validates better than the best epoch alone (1: the best epoch).", valueName: "k"))
    var averageEpochs: Int = 1
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
    @Flag(help: "Continue an interrupted training from MODEL/checkpoint (same data and options).")
    var resume = false
    @Option(help: ArgumentHelp("Start from this hybrid model (finetuning): its architecture and input normalization are kept.", valueName: "model"))
    var `init`: String?
    @Option(help: ArgumentHelp("Keep these parameters fixed: names or prefixes, e.g. rnn.weight_ih_l0 or rnn (repeatable).", valueName: "name"))
    var freeze: [String] = []
    @Flag(help: "With --init: initialize the output layer afresh.")
    var reinitOutput = false
    @Flag(inversion: .prefixedNo, help: "SpecAugment while training: in each utterance, two spans of frames (--time-mask, at most a fifth of the utterance each) and two bands of feature dimensions (--feature-mask) set to the mean. Recorded in model.json. Default: on for hybrids (chosen on speakers held out of training), off for classifiers.")
    var specAugment: Bool?
    @Option(name: .customLong("time-mask"), help: ArgumentHelp("With --spec-augment: widest time mask, in frames.", valueName: "frames"))
    var timeMask = SpecAugment().maxTimeWidth
    @Option(name: .customLong("feature-mask"), help: ArgumentHelp("With --spec-augment: widest feature mask, in dimensions.", valueName: "dims"))
    var featureMask = SpecAugment().maxFeatureWidth

    /// Defaults for training from scratch, and for finetuning (`--init`) a model on a few utterances
    /// of a new voice: smaller steps, more of them per epoch, fewer epochs. Chosen on validation
    /// speakers (FSDD, ten takes of each of four speakers finetuning a model of three others, clean,
    /// noisy and through a simulated microphone and room): the scratch defaults overshot on some
    /// seeds, a learning rate of 0.0005 adapted too little.
    static let scratchDefaults = (epochs: 30, batchSize: 32, learningRate: Float(2e-3))
    static let finetuningDefaults = (epochs: 8, batchSize: 8, learningRate: Float(1e-3))

    /// The epochs, batch size and learning rate given, or the defaults for this kind of training.
    var schedule: (epochs: Int, batchSize: Int, learningRate: Float) {
        let defaults = `init` == nil ? Self.scratchDefaults : Self.finetuningDefaults
        return (epochs ?? defaults.epochs, batchSize ?? defaults.batchSize, learningRate ?? defaults.learningRate)
    }

    func validate() throws {
        let (epochs, batchSize, learningRate) = schedule
        guard layers >= 1, hidden >= 1, epochs >= 1, batchSize >= 1 else {
            throw ValidationError("--layers, --hidden, --epochs and --batch-size must be at least 1")
        }
        guard averageEpochs >= 1 else { throw ValidationError("--average-epochs must be at least 1") }
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
        guard timeMask >= 0, featureMask >= 0 else { throw ValidationError("--time-mask and --feature-mask must be at least 0") }
    }

    @OptionGroup(title: "Feature options (classifier; a hybrid takes its alignments' features unless some are given)")
    var features: FeatureFlags

    /// The flags as the library's training setup, data-parallel over `world`'s ranks.
    func setup(world: any Communicator) -> RecurrentTrainingSetup {
        var setup = RecurrentTrainingSetup()
        (setup.cell, setup.layers, setup.hiddenSize, setup.bidirectional, setup.dropout, setup.pooling) = (cell, layers, hidden, bidirectional, dropout, pooling)
        (setup.options.epochs, setup.options.batchSize, setup.options.learningRate) = schedule
        setup.options.seed = seed
        setup.options.averagedEpochs = averageEpochs > 1 ? averageEpochs : nil
        setup.options.workers = runOptions.jobs
        setup.communicator = world
        if specAugment ?? (kind == .hybrid) {
            var policy = SpecAugment()
            (policy.maxTimeWidth, policy.maxFeatureWidth) = (timeMask, featureMask)
            setup.options.specAugment = policy
        }
        (setup.initialModel, setup.freeze, setup.reinitializeOutput) = (`init`, freeze, reinitOutput)
        return setup
    }

    /// Progress lines on standard error: a bar per epoch (hybrid) and a line per epoch.
    func progress(accuracy: String) -> TrainingProgress {
        var epochProgress: ProgressReporter? = nil
        var epochNumber = 0
        let (quiet, epochs) = (runOptions.quiet, schedule.epochs)
        return TrainingProgress(batch: { done, total, loss, running in
            guard !quiet else { return }
            if done == 1 {
                epochNumber += 1
                epochProgress = ProgressReporter(label: "epoch \(epochNumber)", total: total)
            }
            epochProgress?.update(done, detail: String(format: "loss %.3f, %@ %.1f%%", loss, accuracy, 100 * running))
            if done == total { epochProgress?.finish() }
        }, epoch: { entry, improved in
            epochNumber = entry.epoch
            guard !quiet else { return }
            printError(String(format: "train rnn: epoch %d/%d: loss %.4f, %@ %.2f%%, validation loss %.4f, %@ %.2f%%, lr %.5f, %.1f s%@",
                              entry.epoch, epochs, entry.trainLoss, accuracy, 100 * entry.trainAccuracy, entry.validationLoss,
                              accuracy, 100 * entry.validationAccuracy, entry.learningRate, entry.seconds, improved ? " (saved)" : ""))
        }, note: { printError("train rnn: " + $0) }, average: { average in
            guard !quiet else { return }
            printError(String(format: "train rnn: epochs %@ averaged: validation loss %.4f, %@ %.2f%%: %@", average.epochs.map(String.init).joined(separator: ", "),
                              average.validationLoss, accuracy, 100 * average.validationAccuracy,
                              average.kept ? "kept (saved)" : "not better than the best epoch, which stays"))
        })
    }

    func run() throws { try run(world: Distributed.world) }

    /// Trains over `world`'s ranks (the job's under a launcher; data-parallel over every batch).
    func run(world: any Communicator) throws {
        if world.isWriter { try output.prepare(out, resume: resume) }
        try world.barrier()
        let started = Date()
        var setup = setup(world: world)
        setup.options.dataPerturbation = try DataDirectory.perturbation(of: train)
        switch kind {
        case .classifier:
            // Each rank computes the features of its shards; every rank then holds all of them.
            let corpus = try CorpusFeatures.load(train, frontEnd: try features.trainingFrontEnd(for: train), requireTranscripts: true, run: runOptions,
                                                 world: world).gathered(world)
            if let bad = corpus.utterances.first(where: { $0.utterance.words?.count != 1 }) {
                throw ModelError("utterance '\(bad.utterance.id)': a classifier needs exactly one word per transcript")
            }
            let model = try NeuralRecipes.trainClassifier(setup, utterances: corpus.utterances.map { ($0.utterance.id, $0.utterance.words![0], $0.features) },
                                                          originals: originals(corpus), features: corpus.config, out: out, resume: resume, progress: progress(accuracy: "accuracy"))
            guard world.isWriter else { return }
            let a = model.architecture
            print(String(format: "train rnn: classifier %@ %d×%d%@, %@ pooling, %d words, %d parameters, %.1f s → %@", a.cell.rawValue, a.layers, a.hiddenSize,
                         a.bidirectional ? " bidirectional" : "", a.pooling.rawValue, a.words.count, model.parameterCount, Date().timeIntervalSince(started), out))
        case .hybrid:
            var alignments = try AlignmentDirectory.read(self.alignments!)
            // The network's input: the feature options given (fbank, say), else the features the
            // alignments were made on. Frames must line up with the alignments either way.
            let corpus = features.anyGiven
                ? try CorpusFeatures.load(train, frontEnd: try features.trainingFrontEnd(for: train, deltas: features.deltas), requireTranscripts: false,
                                          run: runOptions, world: world).gathered(world)
                : try CorpusFeatures.load(train, config: alignments.hmm.features, rateGiven: true, requireTranscripts: false, run: runOptions,
                                          world: world).gathered(world)
            alignments.hmm.features = corpus.config
            var inputs = corpus.utterances.map { ($0.utterance.id, $0.features) }
            if let transforms = alignments.speakerTransforms {
                // Aligned by a speaker-adaptive GMM-HMM: on its features, the network learns from
                // each speaker's fMLLR-adapted frames (Kaldi's --transform-dir), and keeps the
                // GMM-HMM to estimate a new speaker's transform when decoding.
                if features.anyGiven {
                    if !runOptions.quiet { printError("train rnn: the alignments' speaker transforms are for their own features, not these: not applied") }
                } else {
                    for (i, (u, speaker)) in zip(corpus.utterances, corpus.speakers).enumerated() {
                        guard let transform = transforms[speaker] else {
                            throw ModelError("\(self.alignments!)/transforms.json: has no transform for speaker '\(speaker)' (utterance '\(u.utterance.id)'); align this data with the model again")
                        }
                        inputs[i].1 = transform.apply(u.features)
                    }
                    guard let gmm = try GMMHMM.loadEmbedded(alignments.path) else {
                        throw ModelError("\(alignments.path): has speaker transforms but not the GMM-HMM that made them; align this data with the model again")
                    }
                    if world.isWriter {
                        do { try DirectoryReplacement.write(try gmm.embeddedFiles(), to: out) } catch { throw ModelError(FileError.reason(error)) }
                    }
                    if !runOptions.quiet { printError("train rnn: fMLLR-adapted features of \(transforms.count) speakers") }
                }
            }
            let model = try NeuralRecipes.trainHybrid(setup, utterances: inputs, originals: originals(corpus),
                                                      alignments: alignments, out: out, resume: resume, progress: progress(accuracy: "frame accuracy"))
            guard world.isWriter else { return }
            let a = model.architecture
            print(String(format: "train rnn: hybrid %@ %d×%d%@, %d parameters, %d utterances, %.1f s → %@", a.cell.rawValue, a.layers, a.hiddenSize,
                         a.bidirectional ? " bidirectional" : "", model.network.parameterCount, corpus.utterances.count, Date().timeIntervalSince(started), out))
        }
    }
}

extension TrainRNN {
    /// Perturbed copies and the utterances they copy (`utt2uniq`).
    func originals(_ corpus: CorpusFeatures) -> [String: String] {
        Dictionary(corpus.utterances.compactMap { u in u.utterance.original.map { (u.utterance.id, $0) } }, uniquingKeysWith: { a, _ in a })
    }
}

extension RecurrentCell: ExpressibleByArgument {}

extension Pooling: ExpressibleByArgument {}
