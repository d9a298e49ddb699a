import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

/// Supervised adaptation of a GMM-HMM to a new voice from a few transcribed utterances: MAP
/// re-estimation of the Gaussian means (Gauvain and Lee; Kaldi's `gmm-adapt-map`), the
/// speaker-independent means (or their MLLR transform) as the prior. Each iteration aligns the adaptation data with the
/// current adapted model (Baum-Welch occupancies) and moves every mean towards its frames by
/// occupancy / (occupancy + τ); weights, variances and transitions stay the source model's.
public struct MAPAdaptation: Sendable {
    /// τ, the prior's weight in frames. 5, chosen on validation speakers (FSDD, ten utterances of
    /// each of four speakers adapting a model of three others) over their clean takes, the same
    /// takes with white noise at 10 dB, and through one simulated room and microphone per
    /// speaker: smaller τ fits ten clean words a little better and ten noisy ones much worse
    /// (their noise, not the voice); τ 3-5 made the fewest errors through the room.
    public var meanTau = 5.0
    /// Alignment and re-estimation passes.
    public var iterations = 2
    /// Before MAP, one MLLR transform of every mean (nil: none): the transformed means are
    /// then MAP's prior, so that Gaussians the few utterances never visit move too.
    public var mllr: MLLRTransform.Kind?

    public init() {}

    /// `model` adapted to `data` (transcribed utterances of the new voice, featurized with the
    /// model's front end), and the adaptation data's log-likelihood per frame before each pass
    /// and after the last.
    public func adapt(_ model: GMMHMM, to data: [TrainingUtterance], jobs: Int) throws -> (model: GMMHMM, logLikelihoods: [Double]) {
        precondition(meanTau > 0 && iterations >= 1, "MAPAdaptation: τ must be positive and iterations at least 1")
        let trainer = GMMHMMTrainer(options: GMMHMMTrainingOptions(), jobs: jobs)
        try trainer.checkLexicon(data, lexicon: model.lexicon)
        let corpus = EStepCorpus(data)
        let graphs = model.tree.map { tree in
            parallelMap(corpus.transcripts.count, workers: jobs) { k in
                try? model.transitions.triphoneTranscript(corpus.transcripts[k], lexicon: model.lexicon, tree: tree)
            }
        }
        let adapted = GMMHMM(transitions: model.transitions, mixtures: model.mixtures, lexicon: model.lexicon,
                             vocabulary: model.vocabulary, features: model.features, tree: model.tree)
        var logLikelihoods: [Double] = []
        for pass in 0...iterations {
            let statistics = try trainer.accumulate(adapted, corpus, triphoneGraphs: graphs)
            guard statistics.utterances > 0 else {
                throw ModelError("no adaptation utterance could be aligned to its transcript"
                    + (statistics.skipped.first.map { " (\($0.key): \($0.value))" } ?? ""))
            }
            logLikelihoods.append(statistics.logLikelihood / Double(max(statistics.frames, 1)))
            guard pass < iterations else { break }
            var prior = model.mixtures
            if let mllr {
                let transform = MLLRTransform.estimate(mllr, mixtures: model.mixtures, statistics: statistics.mixtures)
                prior = prior.map(transform.apply)
            }
            var mixtures = prior
            for s in mixtures.indices {
                mixtures[s].adaptMeans(prior: prior[s], statistics: statistics.mixtures[s], tau: meanTau)
            }
            adapted.setMixtures(mixtures)
        }
        return (adapted, logLikelihoods)
    }
}

extension MAPAdaptation {
    /// `source` MAP-adapted to one speaker's `data` (untransformed features), speaker-adaptively
    /// when it was trained so: its first-pass (alignment) mixtures adapt to the utterances as
    /// they are; the speaker's fMLLR transform is estimated from the transcripts and its own
    /// mixtures adapt to the transformed utterances. With the log-likelihood per frame of each
    /// pass of the last adaptation and the fMLLR's note (a simpler transform than full, say).
    public func adaptSpeaker(_ source: GMMHMM, to data: [TrainingUtterance], jobs: Int) throws -> (model: GMMHMM, logLikelihoods: [Double], note: String?) {
        var data = data
        var alignmentMixtures: [DiagonalGMM]?
        var note: String?
        if let fmllr = source.speakerAdaptation, source.alignmentMixtures != nil {
            alignmentMixtures = try adapt(source.firstPassModel, to: data, jobs: jobs).model.mixtures
            let recognizer = try Recognizer(transitions: source.transitions, lexicon: source.lexicon, vocabulary: source.vocabulary, tree: source.tree)
            let transcripts = data.map { $0.words.map { TimedWord(word: $0, start: 0, end: 0) } }
            let (features, transforms) = TwoPassAdaptation(model: source, recognizer: recognizer, options: fmllr)
                .adapt(data.map(\.features), speakers: data.map { _ in "speaker" }, jobs: jobs) { _, _ in transcripts }
            for i in data.indices { data[i].features = features[i] }
            note = transforms.first?.note
        }
        let (adapted, logLikelihoods) = try adapt(source, to: data, jobs: jobs)
        if let alignmentMixtures {
            adapted.alignmentMixtures = alignmentMixtures
            adapted.speakerAdaptation = source.speakerAdaptation
        }
        return (adapted, logLikelihoods, note)
    }
}

/// Unsupervised MAP at test time: a speaker's means adapted to the speaker's own decoded words
/// (never a transcript) and the speaker decoded again, for a few rounds, each from the source
/// model's means with the last round's words (self-training; adapting the adapted model again
/// would let its errors pile up). Stops early once the words stay the same.
public struct UnsupervisedMAP: Sendable {
    /// The MAP of each round (τ, passes), as supervised adaptation does it.
    public var adaptation = MAPAdaptation()
    /// Rounds of adaptation and decoding, at most.
    public var rounds = 5

    public init() {}

    /// The outcome for one speaker: each utterance's words after the last round, the rounds run,
    /// and why the adaptation stopped short (a failed MAP), if it did.
    public struct Outcome: Sendable {
        public var paths: [[TimedWord]?]
        public var rounds: Int
        public var failure: String?
    }

    /// `model` adapted to one speaker: `utterances[k]` are utterance k's features as decoded
    /// (first) and any copies of it (speed-perturbed, say) that learn from its words too;
    /// `paths[k]` its words so far; `decode` recognizes the speaker's utterances with a GMM-HMM
    /// of `model`'s states. An utterance without words adds nothing to a round.
    public func adapt(_ model: GMMHMM, speaker: String, utterances: [[FeatureMatrix]], paths: [[TimedWord]?], jobs: Int,
                      decode: (GMMHMM) throws -> [[TimedWord]?]) rethrows -> Outcome {
        precondition(utterances.count == paths.count, "UnsupervisedMAP: one path per utterance")
        var outcome = Outcome(paths: paths, rounds: 0)
        var words = paths.map { $0?.map(\.word) ?? [] }
        for _ in 0..<rounds {
            let data = utterances.indices.flatMap { k in
                words[k].isEmpty ? [] : utterances[k].map { TrainingUtterance(id: "\(speaker)-\(k)", features: $0, words: words[k], shard: speaker) }
            }
            guard !data.isEmpty else { break }
            let adapted: GMMHMM
            do { adapted = try adaptation.adaptSpeaker(model, to: data, jobs: jobs).model } catch {
                outcome.failure = "\(error)"
                break
            }
            outcome.paths = try decode(adapted)
            outcome.rounds += 1
            let next = outcome.paths.map { $0?.map(\.word) ?? [] }
            if next == words { break }
            words = next
        }
        return outcome
    }
}
