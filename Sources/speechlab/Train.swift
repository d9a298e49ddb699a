import AcousticModels
import ArgumentParser
import AudioIO
import Distributed
import FeatureExtraction
import Foundation
import SpeechBase
import SpeechCorpus

/// `speechlab train`: trains acoustic models.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train an acoustic model.",
        subcommands: [TrainGMMHMM.self, TrainRNN.self]
    )
}

/// `speechlab train gmm-hmm`: flat start and Baum-Welch from transcripts alone.
struct TrainGMMHMM: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        commandName: ModelKind.gmmHMM.rawValue,
        abstract: "Train a GMM-HMM from transcripts alone (flat start, embedded Baum-Welch, mixture splitting).",
        discussion: """
            DATA is a data directory with wav.scp and text. Features are computed from the audio with \
            the feature options (default: Kaldi MFCC with deltas, means and variances normalized per \
            speaker when the data has utt2spk, else per utterance), and stored in \
            the model so that decoding computes the same. Every word is its own unit unless --lexicon \
            maps words to units; a silence model is added, optional between and around words. \
            Whole-word models, and triphones grown with --from, then get a second stage (Kaldi's \
            tri2b and tri3b): the first stage's \
            alignments give an LDA of the base features spliced ±3 frames (to 40 dimensions), MLLT \
            is re-estimated during training, and each training speaker (utt2spk) gets an fMLLR \
            transform (speaker-adaptive training); the transform is stored in the model and applied by \
            every command, and 'decode' then adapts to each test speaker in two passes. \
            Writes MODEL/model.json, MODEL/weights.safetensors and MODEL/training.log.
            """
    )

    @Option(help: ArgumentHelp("Training data directory.", valueName: "dir"))
    var train: String
    @Option(help: ArgumentHelp("Model directory to write.", valueName: "dir"))
    var out: String
    @Option(help: ArgumentHelp("Train on a feature directory made by 'speechlab features' instead of computing features; its config.json becomes the model's.", valueName: "dir"))
    var feats: String?
    @Option(help: ArgumentHelp("Emitting states per word (or unit) HMM (default: 10 for whole words, 3 for the phones of --lexicon).", valueName: "n"))
    var states: Int?
    @Option(help: ArgumentHelp("Gaussians per state at the end of training.", valueName: "m"))
    var gaussians: Int = 8
    @Option(name: .customLong("gaussians-total"), help: ArgumentHelp("Instead of --gaussians in every state: this many Gaussians in the whole model at the end, shared by occupancy^0.2 (Kaldi's totgauss).", valueName: "M"))
    var gaussiansTotal: Int?
    @Option(help: ArgumentHelp("Baum-Welch iterations.", valueName: "k"))
    var iterations: Int = 25
    @Option(help: ArgumentHelp("Pronunciation lexicon: CMUdict or Kaldi's lexicon.txt ('WORD PH1 PH2 ...', alternates as repeated words or word(2), comments after '#'); the model's units are then its phones.", valueName: "file"))
    var lexicon: String?
    @Flag(help: "Keep the lexicon's stress digits (AH0, AH1 as different phones); by default they are removed.")
    var keepStress = false
    @Flag(help: "Drop (and report) training utterances with a word the lexicon lacks, instead of failing.")
    var skipOov = false
    @Option(help: ArgumentHelp("Train tied triphones starting from this (monophone) model: its alignments grow the context trees; its lexicon, units and features are kept.", valueName: "dir"))
    var from: String?
    @Option(help: ArgumentHelp("With --from: most tied states (leaves of the context trees).", valueName: "n"))
    var leaves = TriphoneOptions().leaves
    @Option(name: .customLong("min-leaf-count"), help: ArgumentHelp("With --from: fewest training frames a tied state may have.", valueName: "frames"))
    var minimumLeafCount = TriphoneOptions().minimumCount
    @Option(name: .customLong("min-gain"), help: ArgumentHelp("With --from: smallest log-likelihood gain of a tree split (Kaldi's build-tree --thresh; default 0: grow to --leaves).", valueName: "x"))
    var minimumGain = TriphoneOptions().minimumGain
    @Option(name: .customLong("unit-states"), help: ArgumentHelp("Per-unit state count, e.g. --unit-states seven=14 (repeatable).", valueName: "unit=n"))
    var unitStates: [String] = []
    @Flag(help: "Viterbi (hard) training instead of Baum-Welch.")
    var viterbi = false
    @Option(name: .customLong("train-beam"), help: ArgumentHelp("Pruning beam of the E-step, log domain: states this far below a frame's best are dropped (default: \(GMMHMMTrainingOptions().beam)).", valueName: "x"))
    var trainBeam: Float?
    @Flag(help: "Continue an interrupted training from the last iteration saved in --out.")
    var resume = false
    @Option(name: .customLong("checkpoint-every"), help: ArgumentHelp("Save the model after an iteration (a checkpoint that --resume continues from) once this many seconds have passed since the last save; 0 saves after every iteration. The model after the last iteration is always saved.", valueName: "seconds"))
    var checkpointEvery: Double = 10
    @Flag(help: "Train on the base features without deltas.")
    var noDeltas = false
    @Flag(inversion: .prefixedNo, help: "A second stage on spliced frames projected by LDA+MLLT, with speaker-adaptive training (fMLLR per speaker) unless --no-sat. Default: on for whole-word models and for triphones (--from; grown from a model with an LDA of its own, a new one is estimated from the features under it, as Kaldi's tri3b after tri2b); off with --lexicon, whose monophones are the first stage of a triphone recipe.")
    var lda: Bool?
    @Flag(name: .customLong("no-sat"), help: "A second stage with LDA+MLLT but no speaker-adaptive training (no fMLLR per speaker in training, none by default in decoding).")
    var noSAT = false
    @Option(name: .customLong("lda-dim"), help: ArgumentHelp("Dimensions the LDA keeps of the spliced frames.", valueName: "n"))
    var ldaDimension = FeatureTransformOptions().dimension
    @Option(name: .customLong("splice"), help: ArgumentHelp("Frames spliced on each side before the LDA.", valueName: "n"))
    var spliceContext = FeatureTransformOptions().spliceContext
    @OptionGroup(title: "Output")
    var output: ModelOutputOptions
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions
    @OptionGroup(title: "Feature options")
    var features: FeatureFlags

    func validate() throws {
        if from != nil {
            guard lexicon == nil, feats == nil, !resume, states == nil else {
                throw ValidationError("--from keeps the source model's lexicon, states and features: it does not take --lexicon, --feats, --states or --resume")
            }
            guard leaves >= 1, minimumLeafCount > 0, minimumGain >= 0 else {
                throw ValidationError("--leaves must be at least 1, --min-leaf-count positive and --min-gain at least 0")
            }
        }
        guard states ?? 1 >= 1, gaussians >= 1, gaussiansTotal ?? 1 >= 1, iterations >= 1 else {
            throw ValidationError("--states, --gaussians, --gaussians-total and --iterations must be at least 1")
        }
        if let trainBeam, !(trainBeam > 0) { throw ValidationError("--train-beam must be positive") }
        guard checkpointEvery >= 0, checkpointEvery.isFinite else { throw ValidationError("--checkpoint-every must be 0 or more seconds") }
        guard (1...400).contains(ldaDimension), (0...10).contains(spliceContext) else {
            throw ValidationError("--lda-dim must be between 1 and 400 and --splice between 0 and 10")
        }
        _ = try stateOverrides()
    }

    func stateOverrides() throws -> [String: Int] {
        var overrides: [String: Int] = [:]
        for item in unitStates {
            let parts = item.split(separator: "=")
            guard parts.count == 2, let n = Int(parts[1]), n >= 1 else {
                throw ValidationError("--unit-states takes unit=n with n ≥ 1, not '\(item)'")
            }
            overrides[String(parts[0])] = n
        }
        return overrides
    }

    /// The job's ranks (one process without a launcher): each holds a share of the data.
    var world: any Communicator { Distributed.world }

    func run() throws {
        if world.isWriter { try output.prepare(out, resume: resume) }
        try world.barrier()
        if let from { return try trainTriphones(from: from) }
        let started = Date()
        let frontEnd = try features.trainingFrontEnd(for: train, deltas: !noDeltas)
        var data = try feats.map { try CorpusFeatures.load(train, featureDirectory: $0, requireTranscripts: true, world: world) }
            ?? CorpusFeatures.load(train, frontEnd: frontEnd, requireTranscripts: true, run: runOptions, world: world)
        if world.size > 1, !runOptions.quiet {
            printError("train gmm-hmm: \(world.size) ranks; rank 0 holds \(data.utterances.count) utterances (whole speakers)")
        }
        let lexicon = try lexicon.map { try TrainingLexicon.load($0, keepStress: keepStress, data: &data, skipOOV: skipOov, quiet: runOptions.quiet, world: world) }
            ?? Lexicon()
        var options = try baumWelchOptions(for: data)
        options.statesPerUnit = states ?? (self.lexicon == nil ? 10 : 3)
        options.stateOverrides = try stateOverrides()
        options.transforms = transformOptions()
        var checkpoint: (model: GMMHMM, log: [GMMHMMIterationLog])? = nil
        if resume {
            let (model, _) = try GMMHMM.load(out)
            let log = try ModelDirectory.trainingLog(out, as: GMMHMMIterationLog.self)
            if let recorded = try GMMHMM.trainingOptions(out) {
                let changed = differingSettings(recorded, options)
                guard changed.isEmpty else {
                    throw ModelError("\(out): was trained with other settings or data (\(changed.joined(separator: ", ")) differ); "
                        + "--resume continues a training with the same ones (--overwrite starts afresh)")
                }
            }
            guard model.features.transform == nil else {
                throw ModelError("\(out): its training is complete (it has its feature transform); --overwrite trains afresh")
            }
            guard model.features == data.config else { throw ModelError("\(out): was trained with other feature options; --resume needs the same") }
            checkpoint = (model, log)
            if world.isWriter { printError("train gmm-hmm: resuming after iteration \(log.count) of \(iterations)") }
        }
        let trainer = GMMHMMTrainer(options: options, jobs: runOptions.jobs, communicator: world)
        let utterances = data.trainingUtterances
        var log = checkpoint?.log ?? []
        var reported: Set<String> = []
        var schedule = CheckpointSchedule(interval: checkpointEvery)
        var (model, _) = try trainer.train(utterances, lexicon: lexicon, features: data.config, resume: checkpoint) {
            try record($0, $1, log: &log, reported: &reported, schedule: &schedule, options: options, started: started)
        }
        if world.isWriter { try model.save(to: out, training: options, trainingSeconds: Date().timeIntervalSince(started), log: log) }
        if let transforms = options.transforms {
            model = try trainSecondStage(from: model, data: data, transforms: transforms, options: options, log: &log, started: started)
        }
        guard world.isWriter else { return }
        print(String(format: "train gmm-hmm: %d units, %d states, %d Gaussians, %@, log-likelihood per frame %.4f, %.1f s → %@",
                     model.transitions.units.count, model.pdfCount, model.gaussianCount, model.stageDescription,
                     log.last?.logLikelihoodPerFrame ?? 0, Date().timeIntervalSince(started), out))
    }
}

extension TrainGMMHMM {
    /// The second stage's settings from the flags (nil with --no-lda, and without --lda for a
    /// model on phones: its monophones are a triphone recipe's first stage).
    func transformOptions() -> FeatureTransformOptions? {
        transformOptions(byDefault: lexicon == nil)
    }

    /// With --from: the second stage's settings, by default (on AN4's dev speakers 41 errors
    /// against 54 for triphones on Δ+ΔΔ features without it); nil with --no-lda. From a source
    /// with a transform of its own, the stage estimates a new one on the new tree (Kaldi's
    /// tri3b after tri2b).
    func triphoneTransformOptions() -> FeatureTransformOptions? {
        transformOptions(byDefault: true)
    }

    private func transformOptions(byDefault: Bool) -> FeatureTransformOptions? {
        guard lda ?? byDefault else { return nil }
        var transforms = FeatureTransformOptions()
        transforms.dimension = ldaDimension
        transforms.spliceContext = spliceContext
        if noSAT { transforms.fmllrIterations = [] }
        return transforms.scheduled(for: iterations)
    }

    /// The second stage: LDA+MLLT (and SAT) from the first stage's model on `data`, from
    /// `base`'s features (the same utterances: `data` itself when its features have no
    /// transform) without deltas, spliced. The first stage's model stays in OUT until the second
    /// is complete.
    func trainSecondStage(from first: GMMHMM, data: CorpusFeatures, base: CorpusFeatures? = nil, transforms: FeatureTransformOptions,
                          options: GMMHMMTrainingOptions, log: inout [GMMHMMIterationLog], started: Date) throws -> GMMHMM {
        let base = base ?? data
        precondition(base.config.transform == nil && base.utterances.count == data.utterances.count, "trainSecondStage: base features of other utterances")
        var baseConfig = base.config
        baseConfig.deltaOrder = 0
        let B = baseConfig.baseDimension, D = base.config.dimension
        let sourceData = data.trainingUtterances
        let baseData = base.trainingUtterances.map { u -> TrainingUtterance in
            guard D != B else { return u }
            // Deltas follow the base features in each frame: the first B values are the base.
            let values = (0..<u.features.frames).flatMap { t in u.features.values[(t * D)..<(t * D + B)] }
            return TrainingUtterance(id: u.id, features: FeatureMatrix(frames: u.features.frames, dimension: B, values: values), words: u.words,
                                     shard: u.shard)
        }
        let speakers = data.speakers
        let quiet = runOptions.quiet, offset = log.count
        var stageLog = log, reported: Set<String> = []
        let trainer = GMMHMMTrainer(options: options, jobs: runOptions.jobs, communicator: world)
        let (model, _) = try trainer.trainWithTransforms(from: first, sourceData: sourceData, baseData: baseData, speakers: speakers,
                                                        baseConfig: baseConfig, transforms: transforms, iterationOffset: offset,
                                                        progress: { if !quiet { printError("train gmm-hmm: \($0)") } }) { entry, _ in
            var entry = entry
            entry.iteration += offset
            stageLog.append(entry)
            reportIteration(entry, reported: &reported, of: offset + iterations)
        }
        log = stageLog
        if world.isWriter { try model.save(to: out, training: options, trainingSeconds: Date().timeIntervalSince(started), log: log) }
        return model
    }

    /// The Baum-Welch options of the flags (Gaussians, iterations, Viterbi, beam) and the
    /// fingerprint of the data of every rank (in utterance-id order: the same for any split).
    func baumWelchOptions(for data: CorpusFeatures) throws -> GMMHMMTrainingOptions {
        var options = GMMHMMTrainingOptions()
        options.gaussians = gaussians
        options.totalGaussians = gaussiansTotal
        options.iterations = iterations
        options.viterbiTraining = viterbi
        if let trainBeam { options.beam = trainBeam }
        let entries = try world.allGather(data.utterances.map { FingerprintEntry(id: $0.utterance.id, frames: $0.features.frames, words: $0.utterance.words ?? []) })
            .joined().sorted { $0.id < $1.id }
        options.dataFingerprint = trainingDataFingerprint(entries.map { ($0.id, $0.frames, $0.words) })
        options.dataPerturbation = try DataDirectory.perturbation(of: train)
        return options
    }

    /// An iteration done: its log line, its report, and the model saved after it when a
    /// checkpoint is due (an interrupted run keeps its last saved model; the caller saves the
    /// model after the last iteration).
    func record(_ entry: GMMHMMIterationLog, _ model: GMMHMM, log: inout [GMMHMMIterationLog], reported: inout Set<String>,
                schedule: inout CheckpointSchedule, options: GMMHMMTrainingOptions, started: Date) throws {
        log.append(entry)
        reportIteration(entry, reported: &reported)
        guard world.isWriter, schedule.isDue() else { return }
        try model.save(to: out, training: options, trainingSeconds: Date().timeIntervalSince(started), log: log)
    }

    /// A warning for each utterance skipped for the first time, and one progress line per
    /// iteration (unless --quiet).
    func reportIteration(_ entry: GMMHMMIterationLog, reported: inout Set<String>, of total: Int? = nil) {
        for (id, reason) in (entry.skippedUtterances ?? [:]).sorted(by: { $0.key < $1.key }) where reported.insert(id).inserted {
            printError("warning: iteration \(entry.iteration): skipped \(id): \(reason)")
        }
        guard !runOptions.quiet else { return }
        printError(String(format: "train gmm-hmm: iteration %d/%d: log-likelihood per frame %.4f, %d Gaussians, %d utterances%@, %.2f s",
                          entry.iteration, total ?? iterations, entry.logLikelihoodPerFrame, entry.gaussians, entry.utterances,
                          entry.skipped > 0 ? " (\(entry.skipped) skipped)" : "", entry.seconds))
    }

    /// `--from MODEL`: tied triphones grown from the model's alignments, then Baum-Welch.
    func trainTriphones(from path: String) throws {
        let started = Date()
        let (source, _) = try GMMHMM.load(path)
        // Kaldi's tri2b/tri3b: the triphones' alignments give the LDA, then MLLT and SAT on the same tree.
        let transforms = triphoneTransformOptions()
        if transforms == nil, source.speakerAdaptation != nil, !runOptions.quiet {
            printError("train gmm-hmm: \(path) is speaker-adaptive: its alignment mixtures align the unadapted features, and with --no-lda the new triphones are LDA+MLLT without SAT")
        }
        // A transformed source's triphones are on its LDA features, and their second stage
        // starts again from the features under it: those are computed once and transformed here.
        var untransformed = source.features
        untransformed.transform = nil
        let base = transforms != nil && source.features.transform != nil
            ? try CorpusFeatures.load(train, config: untransformed, rateGiven: true, requireTranscripts: true, run: runOptions, world: world) : nil
        let data = try base.map { $0.transformed(to: source.features) }
            ?? CorpusFeatures.load(train, config: source.features, rateGiven: true, requireTranscripts: true, run: runOptions, world: world)
        let options = try baumWelchOptions(for: data)
        var triphones = TriphoneOptions()
        triphones.leaves = leaves
        triphones.minimumCount = minimumLeafCount
        triphones.minimumGain = minimumGain
        let utterances = data.trainingUtterances
        var log: [GMMHMMIterationLog] = []
        var reported: Set<String> = []
        var schedule = CheckpointSchedule(interval: checkpointEvery)
        let quiet = runOptions.quiet
        var (model, _) = try GMMHMMTrainer(options: options, jobs: runOptions.jobs, communicator: world).trainTriphones(from: source, utterances, triphones: triphones,
                                                                                                  progress: { if !quiet { printError("train gmm-hmm: \($0)") } }) {
            try record($0, $1, log: &log, reported: &reported, schedule: &schedule, options: options, started: started)
        }
        if world.isWriter { try model.save(to: out, training: options, trainingSeconds: Date().timeIntervalSince(started), log: log) }
        if let transforms {
            model = try trainSecondStage(from: model, data: data, base: base, transforms: transforms, options: options, log: &log, started: started)
        }
        guard world.isWriter else { return }
        print(String(format: "train gmm-hmm: triphones of %d phones, %d tied states, %d Gaussians, %@, log-likelihood per frame %.4f, %.1f s → %@",
                     model.transitions.units.count, model.pdfCount, model.gaussianCount, model.stageDescription, log.last?.logLikelihoodPerFrame ?? 0,
                     Date().timeIntervalSince(started), out))
    }
}

/// One utterance's part of the training data's fingerprint.
struct FingerprintEntry: Codable {
    var id: String
    var frames: Int
    var words: [String]
}

/// A pronunciation lexicon for training, restricted to the words of the training transcripts.
enum TrainingLexicon {
    /// Reads `path` (CMUdict or Kaldi's lexicon.txt), keeps the transcripts' words, and checks
    /// that every transcript word has a pronunciation: a missing one is an error naming the
    /// word and the utterance, or with `skipOOV` the utterance is dropped (and counted).
    static func load(_ path: String, keepStress: Bool, data: inout CorpusFeatures, skipOOV: Bool, quiet: Bool,
                     world: any Communicator = SingleProcess()) throws -> Lexicon {
        let full: PronunciationLexicon
        do { full = try PronunciationLexicon.read(path, keepStress: keepStress) } catch { throw CommandFailure("\(error)") }
        var dropped: [(id: String, word: String)] = []
        data.utterances.removeAll { item in
            guard let missing = (item.utterance.words ?? []).first(where: { full.lookup($0) == nil }) else { return false }
            dropped.append((item.utterance.id, missing))
            return true
        }
        if let first = dropped.first {
            guard skipOOV else {
                throw CommandFailure("utterance '\(first.id)': word '\(first.word)' is not in the lexicon \(path)"
                    + (dropped.count > 1 ? " (nor are words of \(dropped.count - 1) other utterances)" : "") + "; add it, or give --skip-oov to drop such utterances")
            }
            let words = Set(dropped.map(\.word)).sorted()
            printError("train gmm-hmm: dropped \(dropped.count) utterances with words not in the lexicon: "
                + words.prefix(10).joined(separator: " ") + (words.count > 10 ? " ..." : ""))
        }
        guard !data.utterances.isEmpty else { throw CommandFailure("no training utterance is left once those with words not in the lexicon are dropped") }
        // Every rank keeps the words of every rank's transcripts: one lexicon, one model.
        let words = try world.allGather(Set(data.utterances.flatMap { $0.utterance.words ?? [] }).sorted()).joined()
        let (restricted, _) = full.restricted(to: Array(words))
        if !quiet {
            let phones = restricted.phones
            printError("train gmm-hmm: lexicon \(path): \(restricted.pronunciations.count) training words, "
                + "\(restricted.pronunciations.values.reduce(0) { $0 + $1.count }) pronunciations, \(phones.count) phones")
        }
        return Lexicon(alternatives: restricted.pronunciations)
    }
}

/// Utterances of a corpus with their features, computed in memory: all of them, or under
/// `mpirun`/`srun` this rank's shards (``CorpusShards``).
struct CorpusFeatures {
    var config: FeatureConfig
    var utterances: [(utterance: Utterance, features: FeatureMatrix)]
    /// Each utterance's shard (by id; see ``CorpusShards``).
    var shards: [String: String] = [:]
    /// Every utterance of the corpus in its order, this rank's or not (see ``gathered(_:)``).
    var listing: [Utterance] = []

    /// The same utterances with `config`'s learned transform applied (`self.config` is
    /// `config` without it), as `load` with `config` would compute them.
    func transformed(to config: FeatureConfig) -> CorpusFeatures {
        var result = self
        result.config = config
        if let transform = config.transform { result.utterances = utterances.map { ($0.utterance, transform.apply($0.features)) } }
        return result
    }

    /// Each utterance's speaker (`utt2spk`), or the utterance itself when it has none.
    var speakers: [String] { utterances.map { $0.utterance.speaker ?? $0.utterance.id } }

    /// The utterances as a trainer takes them (no transcript: no words).
    var trainingUtterances: [TrainingUtterance] {
        utterances.map { TrainingUtterance(id: $0.utterance.id, features: $0.features, words: $0.utterance.words ?? [], shard: shards[$0.utterance.id] ?? "") }
    }

    /// The corpus's utterances with features read from a feature directory (all of them when
    /// `path` is nil). Every utterance of the corpus must have features there.
    static func load(_ path: String?, featureDirectory: String, requireTranscripts: Bool,
                     world: any Communicator = SingleProcess()) throws -> CorpusFeatures {
        let directory = try FeatureDirectory.open(featureDirectory)
        let index = Dictionary(uniqueKeysWithValues: directory.entries.enumerated().map { ($0.element.id, $0.offset) })
        let corpus = try path.map { try Corpus.load($0) } ?? directory.entries.map { Utterance(id: $0.id, audioPath: $0.path) }
        if requireTranscripts, let missing = corpus.first(where: { $0.words == nil }) {
            throw CorpusError("\(path ?? featureDirectory): utterance '\(missing.id)' has no transcript (a data directory with a text file is needed)")
        }
        let keys = CorpusShards.keys(corpus)
        // A feature file's size stands for its frames.
        let mine = try CorpusShards.mine(keys: keys, cost: { i in
            index[corpus[i].id].flatMap { try? FileManager.default.attributesOfItem(atPath: directory.entries[$0].path)[.size] as? Int }.map(Double.init) ?? 0
        }, world: world, what: path ?? featureDirectory)
        var utterances: [(Utterance, FeatureMatrix)] = []
        for (u, isMine) in zip(corpus, mine) where isMine {
            guard let i = index[u.id] else { throw CorpusError("\(featureDirectory): has no features for utterance '\(u.id)'") }
            utterances.append((u, try directory.features(i)))
        }
        return CorpusFeatures(config: directory.config, utterances: utterances,
                              shards: Dictionary(zip(corpus.map(\.id), keys), uniquingKeysWith: { a, _ in a }), listing: corpus)
    }

    /// Loads the corpus at `path` and computes its features with `config` (the sample rate is
    /// the first file's unless given); failed utterances are reported and skipped.
    /// With the feature flags' configuration and Kaldi's resampling policy.
    static func load(_ path: String, frontEnd: ResolvedFeatures, requireTranscripts: Bool, run: RunOptions,
                     world: any Communicator = SingleProcess()) throws -> CorpusFeatures {
        try load(path, config: frontEnd.config, rateGiven: frontEnd.sampleRateGiven, requireTranscripts: requireTranscripts, run: run,
                 resampling: (frontEnd.allowDownsample, frontEnd.allowUpsample), world: world)
    }

    /// `resampling`: whether audio at a higher or lower rate than the working rate is resampled
    /// (the feature flags' Kaldi policy when training; a model's fixed rate resamples either way).
    static func load(_ path: String, config: FeatureConfig, rateGiven: Bool, requireTranscripts: Bool, run: RunOptions,
                     resampling: (allowDownsample: Bool, allowUpsample: Bool) = (true, true),
                     world: any Communicator = SingleProcess()) throws -> CorpusFeatures {
        var corpus = try Corpus.load(path)
        let keys = CorpusShards.keys(corpus)
        if config.cmvn == .speaker { Corpus.takeMissingSpeakersAsUtterances(&corpus, of: path, report: world.isWriter) }
        if requireTranscripts, let missing = corpus.first(where: { $0.words == nil }) {
            throw CorpusError("\(path): utterance '\(missing.id)' has no transcript (a data directory with a text file is needed)")
        }
        var config = config
        if !rateGiven { config = try withWorkingRate(config, of: corpus) }
        let shards = Dictionary(zip(corpus.map(\.id), keys), uniquingKeysWith: { a, _ in a })
        let listing = corpus
        if world.size > 1 {
            let mine = try CorpusShards.mine(keys: keys, cost: { CorpusShards.duration(corpus[$0]) }, world: world, what: path)
            corpus = zip(corpus, mine).filter(\.1).map(\.0)
        }
        let job = FeatureExtractionJob(config: config, audio: AudioReadOptions(allowDownsample: resampling.allowDownsample,
                                                                             allowUpsample: resampling.allowUpsample), jobs: run.jobs)
        let progress = run.quiet ? nil : ProgressReporter(label: "features", total: corpus.count)
        let (features, failures) = try job.computeInMemory(corpus.map { FeatureSource(id: $0.id, audioPath: $0.audioPath, speaker: $0.speaker, segment: $0.segment) }) { done, _ in
            progress?.update(done)
        }
        progress?.finish()
        // One policy for every command: an unreadable utterance fails the run, naming its file,
        // unless --keep-going asks to skip it (reported, and counted at the end).
        let paths = Dictionary(corpus.map { ($0.id, $0.audioPath) }, uniquingKeysWith: { a, _ in a })
        if let first = failures.first, !run.keepGoing {
            let reason = first.reason.hasPrefix(paths[first.id] ?? "\u{0}") ? first.reason : "\(paths[first.id] ?? "?"): \(first.reason)"
            throw CorpusError("utterance '\(first.id)': \(reason)"
                + (failures.count > 1 ? " (and \(failures.count - 1) more utterances fail)" : "") + "; --keep-going skips such utterances")
        }
        for failure in failures { printError("warning: skipped \(failure.id): \(failure.reason)") }
        if !failures.isEmpty { printError("warning: skipped \(failures.count) of \(corpus.count) utterances (--keep-going)") }
        guard failures.count < corpus.count else { throw CorpusError("\(path): no utterance could be read (\(failures[0].reason))") }
        return CorpusFeatures(config: config, utterances: zip(corpus, features).compactMap { u, f in f.map { (u, $0) } }, shards: shards,
                              listing: listing)
    }
}

extension GMMHMM {
    /// The features a trained model scores, for the summary line: Δ+ΔΔ, or after the second stage.
    var stageDescription: String {
        features.transform == nil ? "Δ+ΔΔ features" : alignmentMixtures == nil ? "LDA+MLLT" : "LDA+MLLT+SAT"
    }
}
