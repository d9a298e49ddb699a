import AcousticModels
import ArgumentParser
import Distributed
import FeatureExtraction
import Foundation
import HiddenMarkov
import GaussianMixture
import SpeechBase
import SpeechCorpus

/// `speechlab adapt`: a model adapted to a new voice from a few transcribed utterances.
struct Adapt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Adapt a model to a new voice from a few transcribed utterances (a GMM-HMM by MAP of its means, a hybrid by finetuning).",
        discussion: """
            DATA holds transcribed utterances of the new speaker (ten are enough to matter). \
            A GMM-HMM: each pass aligns them (by default with their copies at speeds 0.9 and 1.1, \
            --speeds) with the adapted model and moves every Gaussian mean \
            towards its frames by occupancy / (occupancy + τ) (Kaldi's gmm-adapt-map; the original \
            means are the prior, so a Gaussian the data hardly visits keeps its mean). \
            A hybrid LSTM/GRU-HMM is finetuned from its own weights on the utterances as it aligns \
            them itself, as train rnn --kind hybrid --init MODEL with that command's finetuning \
            defaults (for other settings, --freeze say, run align and train rnn yourself). A \
            hybrid trained on fMLLR-adapted features decodes with a GMM-HMM's help (the first \
            pass, the speaker's fMLLR): that GMM-HMM is adapted by MAP first, as above (the GMM-HMM \
            options apply to it), and the hybrid aligns and is finetuned with it. \
            OUT is a model directory like MODEL's, with MODEL's tuned decoding settings; decode \
            with it as with any model.
            Example: speechlab adapt --model exp/gru --data data/nicolas-10 --out exp/gru-nicolas
            """
    )

    @Option(help: ArgumentHelp("Model directory to adapt: a GMM-HMM or a hybrid.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Transcribed utterances of the new voice (data directory).", valueName: "dir"))
    var data: String
    @Option(help: ArgumentHelp("Model directory to write.", valueName: "dir"))
    var out: String
    @Option(name: .customLong("mean-tau"), help: ArgumentHelp("GMM-HMM: τ, the prior means' weight in frames (default: \(MAPAdaptation().meanTau)).", valueName: "frames"))
    var meanTau: Double?
    @Option(help: ArgumentHelp("GMM-HMM: alignment and re-estimation passes (default: \(MAPAdaptation().iterations)).", valueName: "n"))
    var iterations: Int?
    @Option(help: ArgumentHelp("GMM-HMM: before MAP, an MLLR transform of every mean: full, diagonal (a scale and bias per dimension), bias, or none (default: \(MAPAdaptation().mllr?.rawValue ?? "none")).", valueName: "kind"))
    var mllr: MLLRChoice?

    @Option(help: ArgumentHelp("GMM-HMM: MAP from DATA's utterances at these speeds (as perturb --speeds; 1: as they are; default: \(Self.gmmSpeeds): on validation speakers, fewer errors than the utterances alone). Only the MAP of a GMM-HMM (a hybrid's own too) learns from the copies; a hybrid's finetuning learns from the utterances as they are (copies did not help it on validation speakers).", valueName: "f,f,..."))
    var speeds: String?

    /// The default speeds of a GMM-HMM's adaptation data.
    static let gmmSpeeds = "0.9,1.0,1.1"

    enum MLLRChoice: String, ExpressibleByArgument, CaseIterable { case full, diagonal, bias, none }
    @OptionGroup(title: "Output")
    var output: ModelOutputOptions
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func validate() throws {
        if let meanTau { guard meanTau > 0, meanTau.isFinite else { throw ValidationError("--mean-tau must be a positive number of frames") } }
        if let iterations { guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") } }
        if let speeds { _ = try Perturb.speeds(speeds) }
    }

    /// `body` given a fresh folder under the system's temporary directory, removed after.
    static func withScratchFolder<T>(_ body: (String) throws -> T) rethrows -> T {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("speechlab-adapt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        return try body(scratch)
    }

    /// The MAP adaptation's utterances: DATA at `--speeds` (by default three), the copies in a
    /// temporary folder (`perturb`'s) that is removed once they are read.
    func loadAdaptationData(config: FeatureConfig) throws -> CorpusFeatures {
        let factors = try Perturb.speeds(speeds ?? Self.gmmSpeeds).factors
        guard factors != [1] else {
            return try CorpusFeatures.load(data, config: config, rateGiven: true, requireTranscripts: true, run: runOptions)
        }
        return try Self.withScratchFolder { copies in
            _ = try Perturb.parse(["--data", data, "--out", copies, "--speeds", factors.map { String($0) }.joined(separator: ",")]
                + runOptions.forwarded(quiet: true)).write()
            if !runOptions.quiet {
                printError("adapt: \(data)'s utterances at speeds \(factors.map(SpeedPerturbation.label).joined(separator: ", "))")
            }
            return try CorpusFeatures.load(copies, config: config, rateGiven: true, requireTranscripts: true, run: runOptions)
        }
    }

    func run() throws {
        let kind = try RecognitionModel.open(model).kind
        switch kind {
        case .gmmHMM: try adaptGMMHMM()
        case .hybrid: try finetuneHybrid()
        default: throw CommandFailure("\(model): is a \(kind) model; adapt takes a GMM-HMM or a hybrid LSTM/GRU-HMM")
        }
    }

    /// `source` with its means MAP-adapted to DATA (after MLLR if asked), speaker-adaptively when
    /// it was trained so; with the utterance and frame counts and the log-likelihood per frame
    /// of each pass.
    func mapAdapted(_ source: GMMHMM) throws -> (model: GMMHMM, utterances: Int, frames: Int, logLikelihoods: [Double]) {
        let corpus = try loadAdaptationData(config: source.features)
        var adaptation = MAPAdaptation()
        adaptation.meanTau = meanTau ?? adaptation.meanTau
        adaptation.iterations = iterations ?? adaptation.iterations
        if let mllr { adaptation.mllr = MLLRTransform.Kind(rawValue: mllr.rawValue) }
        let (adapted, logLikelihoods, note) = try adaptation.adaptSpeaker(source, to: corpus.trainingUtterances, jobs: runOptions.jobs)
        if !runOptions.quiet, let note { printError("adapt: \(note)") }
        return (adapted, corpus.utterances.count, corpus.utterances.reduce(0) { $0 + $1.features.frames }, logLikelihoods)
    }

    static func summary(_ adapted: (model: GMMHMM, utterances: Int, frames: Int, logLikelihoods: [Double])) -> String {
        String(format: "%d utterances, %d frames, log-likelihood per frame %.4f → %.4f", adapted.utterances, adapted.frames,
               adapted.logLikelihoods.first ?? 0, adapted.logLikelihoods.last ?? 0)
    }

    /// A GMM-HMM: MAP of the means.
    func adaptGMMHMM() throws {
        let started = Date()
        let (source, search) = try GMMHMM.load(model)
        let adapted = try mapAdapted(source)
        // OUT is replaced only once the adaptation has worked.
        try output.prepare(out, resume: false)
        try adapted.model.save(to: out, search: search, trainingSeconds: ModelDirectory.trainingSeconds(model))
        try carryTunedDecoding()
        print(String(format: "adapt: %@, %.1f s → %@", Self.summary(adapted), Date().timeIntervalSince(started), out))
    }

    /// A hybrid: the utterances aligned by the model itself, then finetuned from its weights with
    /// `train rnn`'s defaults for `--init` (on validation speakers, alignments by the hybrid
    /// gave as few or fewer errors than its GMM-HMM's). A hybrid that decodes with a
    /// speaker-adaptive GMM-HMM's help (the first pass and each speaker's fMLLR) gets that
    /// GMM-HMM MAP-adapted as well, before the finetuning so that a failure writes nothing (on
    /// validation speakers: 91 errors against 111 with the GRU's own GMM-HMM unadapted).
    func finetuneHybrid() throws {
        let embedded = try GMMHMM.loadEmbedded(model)
        guard embedded != nil || (meanTau == nil && iterations == nil && mllr == nil && speeds == nil) else {
            throw ValidationError("--mean-tau, --iterations, --mllr and --speeds adapt a GMM-HMM; \(model) has none (it was trained on alignments without speaker transforms), so adapt only finetunes it")
        }
        let adaptedGMM = try embedded.map { gmm in
            let adapted = try mapAdapted(gmm)
            if !runOptions.quiet { printError("adapt: the GMM-HMM of \(model)'s first pass and fMLLR: MAP of \(Self.summary(adapted))") }
            return adapted.model
        }
        try output.prepare(out, resume: false)
        try Self.withScratchFolder { scratch in
            let alignments = (scratch as NSString).appendingPathComponent("alignments")
            // The hybrid aligns and is finetuned as it will decode, with its adapted GMM-HMM (a copy
            // of MODEL holding it): the network learns from the frames the adapted fMLLR gives (on
            // validation speakers 91 errors against 99 with the unadapted GMM-HMM's frames).
            var source = model
            if let adaptedGMM {
                source = (scratch as NSString).appendingPathComponent("model")
                try Self.copy(model: model, to: source, embedding: adaptedGMM)
            }
            let run = runOptions.forwarded(quiet: runOptions.quiet)
            // One process (adapt runs on rank 0 alone under a launcher): a few utterances.
            let world = SingleProcess()
            guard let (done, total) = try Align.parse(["--model", source, "--data", data, "--out", alignments] + run).write(world: world) else { return }
            if !runOptions.quiet { printError("adapt: \(done) of \(total) utterances aligned by \(model)" + (adaptedGMM == nil ? "" : " with its adapted GMM-HMM")) }
            try TrainRNN.parse(["--kind", "hybrid", "--init", source, "--train", data, "--alignments", alignments, "--out", out] + run).run(world: world)
        }
        try carryTunedDecoding()
    }

    /// A copy of the hybrid model directory `model` (its checkpoint left out) with `gmm` as its
    /// embedded GMM-HMM.
    static func copy(model: String, to copy: String, embedding gmm: GMMHMM) throws {
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: copy, withIntermediateDirectories: true)
            for name in try manager.contentsOfDirectory(atPath: model) where FileKind.of((model as NSString).appendingPathComponent(name)) == .regular {
                try manager.copyItem(atPath: (model as NSString).appendingPathComponent(name), toPath: (copy as NSString).appendingPathComponent(name))
            }
            for (name, contents) in try gmm.embeddedFiles() { try AtomicFile.write(contents, to: (copy as NSString).appendingPathComponent(name), durable: false) }
        } catch let error as ModelError { throw error } catch {
            throw CommandFailure("\(model): cannot be copied with its adapted GMM-HMM to \(copy): \(FileError.reason(error))")
        }
    }

    /// The decoding settings tuned for the source model (LM weight) carry over to the adapted one.
    func carryTunedDecoding() throws {
        let tuned = (model as NSString).appendingPathComponent(TunedDecoding.fileName)
        if let settings = FileManager.default.contents(atPath: tuned) {
            try AtomicFile.write(settings, to: (out as NSString).appendingPathComponent(TunedDecoding.fileName))
        }
    }
}
