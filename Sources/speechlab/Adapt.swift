import AcousticModels
import ArgumentParser
import Distributed
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
            A hybrid LSTM/GRU-HMM: the model aligns the utterances itself (with the speaker's fMLLR \
            transform when it has one), then trains on them from its own weights, as \
            train rnn --kind hybrid --init MODEL with that command's finetuning defaults (for other \
            settings, --freeze say, run align and train rnn yourself). \
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

    @Option(help: ArgumentHelp("Adapt from speed-perturbed copies of DATA's utterances at these factors (as perturb --speeds; 1: the utterances as they are). Default: \(Self.gmmSpeeds) for a GMM-HMM (its MAP sees each take at three speeds: on validation speakers, fewer errors than the takes alone), 1 for a hybrid (its copies did not help there).", valueName: "f,f,..."))
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

    /// DATA as the adaptation sees it: DATA itself at speed 1 alone, or else its speed-perturbed
    /// copies in a temporary folder (`perturb`'s), which `body` reads and which is removed after.
    func withAdaptationData<T>(defaultSpeeds: String, _ body: (String) throws -> T) throws -> T {
        let factors = try Perturb.speeds(speeds ?? defaultSpeeds).factors
        guard factors != [1] else { return try body(data) }
        let copies = FileManager.default.temporaryDirectory.appendingPathComponent("speechlab-adapt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: copies) }
        let run = ["--jobs", String(runOptions.jobs), "--quiet"] + (runOptions.keepGoing ? ["--keep-going"] : [])
        _ = try Perturb.parse(["--data", data, "--out", copies, "--speeds", factors.map { String($0) }.joined(separator: ",")] + run).write()
        if !runOptions.quiet {
            printError("adapt: \(data)'s utterances at speeds \(factors.map(SpeedPerturbation.label).joined(separator: ", "))")
        }
        return try body(copies)
    }

    func run() throws {
        let kind = try RecognitionModel.open(model).kind
        switch kind {
        case .gmmHMM: try adaptGMMHMM()
        case .hybrid: try finetuneHybrid()
        default: throw CommandFailure("\(model): is a \(kind) model; adapt takes a GMM-HMM or a hybrid LSTM/GRU-HMM")
        }
    }

    /// A GMM-HMM: MAP of the means (after MLLR if asked), speaker-adaptively when it was trained so.
    func adaptGMMHMM() throws {
        let started = Date()
        try output.prepare(out, resume: false)
        let (source, search) = try GMMHMM.load(model)
        let corpus = try withAdaptationData(defaultSpeeds: Self.gmmSpeeds) {
            try CorpusFeatures.load($0, config: source.features, rateGiven: true, requireTranscripts: true, run: runOptions)
        }
        var adaptation = MAPAdaptation()
        adaptation.meanTau = meanTau ?? adaptation.meanTau
        adaptation.iterations = iterations ?? adaptation.iterations
        if let mllr { adaptation.mllr = MLLRTransform.Kind(rawValue: mllr.rawValue) }
        var data = corpus.trainingUtterances
        var alignmentMixtures: [DiagonalGMM]?
        if let fmllr = source.speakerAdaptation, source.alignmentMixtures != nil {
            // A speaker-adaptively trained model: the first-pass (alignment) mixtures adapt to the
            // utterances as they are; the speaker's fMLLR transform is estimated from the
            // transcripts and the model's own mixtures adapt to the transformed utterances.
            alignmentMixtures = try adaptation.adapt(source.firstPassModel, to: data, jobs: runOptions.jobs).model.mixtures
            let recognizer = try Recognizer(transitions: source.transitions, lexicon: source.lexicon, vocabulary: source.vocabulary, tree: source.tree)
            let transcripts = data.map { $0.words.map { TimedWord(word: $0, start: 0, end: 0) } }
            let (features, transforms) = TwoPassAdaptation(model: source, recognizer: recognizer, options: fmllr)
                .adapt(data.map(\.features), speakers: data.map { _ in "speaker" }, jobs: runOptions.jobs) { _, _ in transcripts }
            for i in data.indices { data[i].features = features[i] }
            if !runOptions.quiet, let note = transforms.first?.note { printError("adapt: \(note)") }
        }
        let (adapted, logLikelihoods) = try adaptation.adapt(source, to: data, jobs: runOptions.jobs)
        if let alignmentMixtures {
            adapted.alignmentMixtures = alignmentMixtures
            adapted.speakerAdaptation = source.speakerAdaptation
        }
        try adapted.save(to: out, search: search, trainingSeconds: ModelDirectory.trainingSeconds(model))
        try carryTunedDecoding()
        print(String(format: "adapt: %d utterances, %d frames, log-likelihood per frame %.4f → %.4f, %.1f s → %@",
                     corpus.utterances.count, corpus.utterances.reduce(0) { $0 + $1.features.frames },
                     logLikelihoods.first ?? 0, logLikelihoods.last ?? 0, Date().timeIntervalSince(started), out))
    }

    /// A hybrid: the utterances aligned by the model itself, then finetuned from its weights with
    /// `train rnn`'s defaults for `--init` (on validation speakers, alignments by the hybrid
    /// gave as few or fewer errors than its GMM-HMM's).
    func finetuneHybrid() throws {
        guard meanTau == nil, iterations == nil, mllr == nil else {
            throw ValidationError("--mean-tau, --iterations and --mllr adapt a GMM-HMM; \(model) is a hybrid, which adapt finetunes")
        }
        try output.prepare(out, resume: false)
        let alignments = FileManager.default.temporaryDirectory.appendingPathComponent("speechlab-adapt-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: alignments) }
        let run = ["--jobs", String(runOptions.jobs)] + (runOptions.quiet ? ["--quiet"] : []) + (runOptions.keepGoing ? ["--keep-going"] : [])
        // One process (adapt runs on rank 0 alone under a launcher): a few utterances.
        let world = SingleProcess()
        try withAdaptationData(defaultSpeeds: "1") { data in
            guard let (done, total) = try Align.parse(["--model", model, "--data", data, "--out", alignments] + run).write(world: world) else { return }
            if !runOptions.quiet { printError("adapt: \(done) of \(total) utterances aligned by \(model)") }
            try TrainRNN.parse(["--kind", "hybrid", "--init", model, "--train", data, "--alignments", alignments, "--out", out] + run).run(world: world)
        }
        try carryTunedDecoding()
    }

    /// The decoding settings tuned for the source model (LM weight) carry over to the adapted one.
    func carryTunedDecoding() throws {
        let tuned = (model as NSString).appendingPathComponent(TunedDecoding.fileName)
        if let settings = FileManager.default.contents(atPath: tuned) {
            try AtomicFile.write(settings, to: (out as NSString).appendingPathComponent(TunedDecoding.fileName))
        }
    }
}
