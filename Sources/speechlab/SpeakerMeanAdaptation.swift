import AcousticModels
import Distributed
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase
import SpeechCorpus

/// Unsupervised MAP of each test speaker's means at test time (`decode --adapt-means`, and
/// `compare`'s adapted models): the speaker's utterances and their speed copies learn from
/// its own decoded words (``UnsupervisedMAP``), and the speaker is decoded again.
struct SpeakerMeanAdaptation {
    /// Rounds of MAP and decoding at most. 5, chosen on validation speakers (FSDD, three
    /// speakers training, the fourth's 500 takes clean / through a simulated room / through
    /// sox's reverb): errors 25 / 84 / 189 without, 18 / 58 / 105, 18 / 45 / 79, 18 / 35 / 65 and
    /// 18 / 32 / 59 after 1, 2, 3 and 5 rounds.
    static let defaultRounds = 5
    /// The speeds of the copies beside the utterances as they are (as adapt learns from): on
    /// the validation speakers, after one round, 18 / 58 / 105 errors against 16 / 60 / 130
    /// from the utterances alone.
    static let speeds = [0.9, 1.1]

    var rounds: Int
    /// Whether the utterances' audio is at hand for the copies (not with features read from a
    /// feature directory).
    var audioAtHand: Bool
    var run: RunOptions

    /// Each utterance's words after the adaptation. `decode` recognizes one speaker's utterances
    /// (features as decoded, each with the speaker's name) with `model`'s GMM-HMM replaced by
    /// an adapted one. A speaker none of whose utterances has words keeps them; one whose MAP
    /// fails keeps its last round's (said unless quiet). `label` names the command in progress
    /// lines; the counts are summed over `world`'s ranks (each adapts its own speakers).
    func adapt(_ model: RecognitionModel, corpus: CorpusFeatures, paths: [[TimedWord]?], label: String, world: any Communicator = SingleProcess(),
               decode: (GMMHMM, [FeatureMatrix], [String]) throws -> [[TimedWord]?]) throws -> [[TimedWord]?] {
        guard let gmm = model.gmm else { return paths }
        let started = Date()
        var result = paths
        let copies = try speedCopies(corpus)
        var unsupervised = UnsupervisedMAP()
        unsupervised.rounds = rounds
        var adaptedSpeakers = 0, roundsRun = 0
        for (speaker, members) in TwoPassAdaptation.groups(corpus.speakers) {
            let features = members.map { corpus.utterances[$0].features }
            let utterances = members.map { [corpus.utterances[$0].features] + (copies[corpus.utterances[$0].utterance.id] ?? []) }
            let outcome = try unsupervised.adapt(gmm, speaker: speaker, utterances: utterances, paths: members.map { paths[$0] }, jobs: run.jobs) { adapted in
                try decode(adapted, features, members.map { _ in speaker })
            }
            if let failure = outcome.failure, !run.quiet { printError("\(label): \(speaker): means not adapted further (\(failure)); its words are the last round's") }
            for (k, i) in members.enumerated() { result[i] = outcome.paths[k] }
            if outcome.rounds > 0 { adaptedSpeakers += 1 }
            roundsRun += outcome.rounds
        }
        var counts = [Int64(adaptedSpeakers), Int64(roundsRun)]
        try world.sum(&counts)
        if !run.quiet {
            printError(String(format: "%@: means MAP-adapted to the decoded words of %d speakers (%d rounds in all), decoded again, in %.1f s",
                              label, Int(counts[0]), Int(counts[1]), Date().timeIntervalSince(started)))
        }
        return result
    }

    /// The features of each utterance's copies at ``speeds`` (by utterance id); none when the
    /// audio is not at hand or some utterance is a segment of a recording. The copies are made
    /// by perturb in a temporary folder, removed once read.
    func speedCopies(_ corpus: CorpusFeatures) throws -> [String: [FeatureMatrix]] {
        guard audioAtHand, !corpus.utterances.isEmpty, corpus.utterances.allSatisfy({ $0.utterance.segment == nil }) else { return [:] }
        var quiet = run
        quiet.quiet = true
        return try Adapt.withScratchFolder { scratch in
            let (decoded, copied) = ((scratch as NSString).appendingPathComponent("decoded"), (scratch as NSString).appendingPathComponent("copies"))
            // The audio and speakers alone: no transcript reaches the copies.
            try DataDirectory.write(corpus.utterances.map { u in
                var source = u.utterance
                source.words = nil
                return source
            }, to: decoded)
            _ = try Perturb.parse(["--data", decoded, "--out", copied, "--speeds", Self.speeds.map(SpeedPerturbation.label).joined(separator: ",")]
                + run.forwarded(quiet: true)).write()
            let loaded = try CorpusFeatures.load(copied, config: corpus.config, rateGiven: true, requireTranscripts: false, run: quiet)
            var copies: [String: [FeatureMatrix]] = [:]
            for (copy, features) in loaded.utterances { copies[copy.original ?? copy.id, default: []].append(features) }
            return copies
        }
    }
}
