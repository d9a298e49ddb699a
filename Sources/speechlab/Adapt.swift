import AcousticModels
import ArgumentParser
import Foundation
import HiddenMarkov
import GaussianMixture
import SpeechBase

/// `speechlab adapt`: a model adapted to a new voice from a few transcribed utterances.
struct Adapt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Adapt a GMM-HMM to a new voice from a few transcribed utterances (MAP of the Gaussian means).",
        discussion: """
            DATA holds transcribed utterances of the new speaker (ten are enough to matter). Each pass \
            aligns them with the adapted model and moves every Gaussian mean towards its frames by \
            occupancy / (occupancy + τ) (Kaldi's gmm-adapt-map; the original means are the prior, so a \
            Gaussian the data hardly visits keeps its mean). OUT is a model directory like MODEL's, \
            with MODEL's tuned decoding settings; decode with it as with any model. A hybrid model \
            adapts by finetuning instead: train rnn --kind hybrid --init MODEL [--freeze rnn] on \
            alignments of the new speaker's utterances.
            Example: speechlab adapt --model exp/gmm --data data/nicolas-10 --out exp/gmm-nicolas
            """
    )

    @Option(help: ArgumentHelp("GMM-HMM model directory to adapt.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Transcribed utterances of the new voice (data directory).", valueName: "dir"))
    var data: String
    @Option(help: ArgumentHelp("Model directory to write.", valueName: "dir"))
    var out: String
    @Option(name: .customLong("mean-tau"), help: ArgumentHelp("τ, the prior means' weight in frames.", valueName: "frames"))
    var meanTau = MAPAdaptation().meanTau
    @Option(help: ArgumentHelp("Alignment and re-estimation passes.", valueName: "n"))
    var iterations = MAPAdaptation().iterations
    @Option(help: ArgumentHelp("Before MAP, an MLLR transform of every mean: full, diagonal (a scale and bias per dimension), bias, or none.", valueName: "kind"))
    var mllr: MLLRChoice = MAPAdaptation().mllr.map { MLLRChoice(rawValue: $0.rawValue)! } ?? .none

    enum MLLRChoice: String, ExpressibleByArgument, CaseIterable { case full, diagonal, bias, none }
    @OptionGroup(title: "Output")
    var output: ModelOutputOptions
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func validate() throws {
        guard meanTau > 0, meanTau.isFinite else { throw ValidationError("--mean-tau must be a positive number of frames") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let started = Date()
        let kind = try RecognitionModel.open(model).kind
        guard kind == .gmmHMM else {
            throw CommandFailure("\(model): is a \(kind) model; adapt takes a GMM-HMM (a hybrid adapts by finetuning: train rnn --kind hybrid --init \(model))")
        }
        try output.prepare(out, resume: false)
        let (source, search) = try GMMHMM.load(model)
        let corpus = try CorpusFeatures.load(data, config: source.features, rateGiven: true, requireTranscripts: true, run: runOptions)
        var adaptation = MAPAdaptation()
        (adaptation.meanTau, adaptation.iterations) = (meanTau, iterations)
        adaptation.mllr = MLLRTransform.Kind(rawValue: mllr.rawValue)
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
        // The decoding settings tuned for the source model (LM weight) carry over.
        let tuned = (model as NSString).appendingPathComponent(TunedDecoding.fileName)
        if let settings = FileManager.default.contents(atPath: tuned) {
            try AtomicFile.write(settings, to: (out as NSString).appendingPathComponent(TunedDecoding.fileName))
        }
        print(String(format: "adapt: %d utterances, %d frames, log-likelihood per frame %.4f → %.4f, %.1f s → %@",
                     corpus.utterances.count, corpus.utterances.reduce(0) { $0 + $1.features.frames },
                     logLikelihoods.first ?? 0, logLikelihoods.last ?? 0, Date().timeIntervalSince(started), out))
    }
}
