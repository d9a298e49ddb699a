import AcousticModels
import ArgumentParser
import Distributed
import Dispatch
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase
import SpeechCorpus
import Synchronization

/// `speechlab decode`: recognizes the utterances of a data directory with a trained model.
struct Decode: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        abstract: "Decode audio with a trained model (Viterbi beam search).",
        discussion: """
            Computes each utterance's features as the model was trained (its model.json says how), \
            searches the grammar's graph and writes Kaldi-style 'utt-id WORD ...' lines to HYP. \
            --times also writes 'utt-id start end WORD' lines (seconds) for every word.
            """
    )

    @Option(help: ArgumentHelp("Model directory.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Data directory (or folder of audio files) to decode.", valueName: "dir"))
    var data: String?
    @Option(help: ArgumentHelp("Decode a feature directory made by 'speechlab features' with the model's options (all its utterances, or those of --data).", valueName: "dir"))
    var feats: String?
    @Option(help: ArgumentHelp("isolated (one word with optional silence) or loop (any word sequence); ignored with --graph.", valueName: "grammar"))
    var grammar: Grammar = .isolated
    @Option(help: ArgumentHelp("Decode through a graph made by 'speechlab graph' (a language model's) with token passing, instead of a grammar.", valueName: "dir"))
    var graph: String?
    @Option(name: .customLong("lm-weight"), help: ArgumentHelp("With --graph: weight of the graph's costs against acoustic log-likelihoods, the acoustic scale's inverse (default: the one MODEL/decoding.json holds from --lm-weights, else 10).", valueName: "w"))
    var lmWeight: Float?
    @Option(name: .customLong("lm-weights"), help: ArgumentHelp("With --graph, on data with transcripts (a dev set): decode at every LM weight from A to B (integers), write the hypotheses of the one with the fewest errors, and keep it in MODEL/decoding.json for later decodes.", valueName: "A:B"))
    var lmWeights: String?
    @Option(name: .customLong("max-active"), help: ArgumentHelp("With --graph: most tokens kept per frame.", valueName: "n"))
    var maxActive = 7000
    @Option(help: ArgumentHelp("Hypotheses file to write (-: standard output).", valueName: "file"))
    var out: String
    @Option(help: ArgumentHelp("Word times file to write (-: standard output).", valueName: "file"))
    var times: String?
    @Option(help: ArgumentHelp("Search beam (log domain; default: the model's).", valueName: "x"))
    var beam: Float?
    @Option(name: .customLong("acoustic-scale"), help: ArgumentHelp("Acoustic scale (default: the model's).", valueName: "x"))
    var acousticScale: Float?
    @Option(name: .customLong("word-penalty"), parsing: .unconditional, help: ArgumentHelp("Log-domain penalty per word, loop grammar (default: the model's).", valueName: "x"))
    var wordPenalty: Float?
    @Flag(inversion: .prefixedNo, help: "Two-pass speaker adaptation: decode, estimate each speaker's fMLLR transform from the first pass's words (utt2spk groups utterances; without it each utterance is its own speaker), decode the transformed features. Default: on for a speaker-adaptively trained GMM-HMM and for a hybrid trained on its adapted features, off otherwise.")
    var adapt: Bool?
    @Option(name: .customLong("gmm-weight"), help: ArgumentHelp("A hybrid that keeps a GMM-HMM (one trained on its fMLLR features): the last pass scores each frame by (1 − w) × the network's log-likelihoods + w × the GMM-HMM's (system combination; default \(RecognitionModel.defaultGMMWeight), chosen on validation speakers; 0: the network alone).", valueName: "w"))
    var gmmWeight: Float?
    @Flag(name: .customLong("adapt-means"), inversion: .prefixedNo, help: "After the adapted pass, each speaker's Gaussian means are MAP-adapted to the speaker's own decoded words (unsupervised; as adapt does from transcripts, from the utterances and their copies at speeds 0.9 and 1.1, τ \(MAPAdaptation().meanTau)) and the speaker is decoded again, for --adapt-means-rounds rounds. Default: on with two-pass adaptation when utt2spk groups the utterances by speaker, off otherwise; with the isolated and loop grammars (not --graph).")
    var adaptMeans: Bool?
    @Option(name: .customLong("adapt-means-rounds"), help: ArgumentHelp("With --adapt-means: rounds of MAP and decoding at most, each from the model's own means with the last round's words; a speaker whose words stay the same stops (default: \(SpeakerMeanAdaptation.defaultRounds), chosen on validation speakers).", valueName: "n"))
    var adaptMeansRounds: Int?
    @Option(name: .customLong("adapt-rounds"), help: ArgumentHelp("With adaptation: decode-and-estimate rounds before the final pass (default: the model's, 3).", valueName: "n"))
    var adaptRounds: Int?
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func validate() throws {
        guard data != nil || feats != nil else { throw ValidationError("give --data, --feats or both") }
        if let beam, !(beam > 0 && beam.isFinite) { throw ValidationError("--beam must be a positive number, not \(beam)") }
        if let acousticScale, !(acousticScale > 0 && acousticScale.isFinite) {
            throw ValidationError("--acoustic-scale must be a positive number, not \(acousticScale)")
        }
        if let wordPenalty, !wordPenalty.isFinite { throw ValidationError("--word-penalty must be a finite number, not \(wordPenalty)") }
        if let lmWeight, !(lmWeight > 0 && lmWeight.isFinite) { throw ValidationError("--lm-weight must be a positive number, not \(lmWeight)") }
        if lmWeights != nil {
            guard graph != nil, lmWeight == nil else { throw ValidationError("--lm-weights needs --graph, and replaces --lm-weight") }
            _ = try weightRange()
        }
        if let gmmWeight, !(0...1).contains(gmmWeight) { throw ValidationError("--gmm-weight must be in 0...1, not \(gmmWeight)") }
        if let adaptRounds, !(1...10).contains(adaptRounds) { throw ValidationError("--adapt-rounds must be between 1 and 10, not \(adaptRounds)") }
        if let adaptMeansRounds, !(1...20).contains(adaptMeansRounds) { throw ValidationError("--adapt-means-rounds must be between 1 and 20, not \(adaptMeansRounds)") }
        if adaptMeans == true, graph != nil { throw ValidationError("--adapt-means works with the isolated and loop grammars, not with --graph") }
        guard maxActive >= 1 else { throw ValidationError("--max-active must be at least 1, not \(maxActive)") }
    }

    func run() throws {
        let started = Date()
        let (beam, acousticScale, wordPenalty) = (self.beam, self.acousticScale, self.wordPenalty)
        let opened = try RecognitionModel.open(self.model) { search in
            if let beam { search.beam = beam }
            if let acousticScale { search.acousticScale = acousticScale }
            if let wordPenalty { search.wordPenalty = wordPenalty }
        }
        // A speaker-adaptively trained model without adaptation scores with its alignment mixtures.
        let model = try mixingGMMHMM(adapt == false ? opened.unadapted : opened)
        if adapt == true, model.gmm == nil { throw CommandFailure("\(self.model): --adapt (fMLLR) needs a GMM-HMM, not a \(model.kind) model") }
        // Under mpirun/srun each rank decodes whole speakers (adapted on that rank); rank 0
        // writes the hypotheses of all, in corpus order.
        let world = Distributed.world
        let corpus: CorpusFeatures
        if let feats {
            corpus = try CorpusFeatures.load(data, featureDirectory: feats, requireTranscripts: false, world: world)
            guard corpus.config == model.features else {
                throw ModelError("\(feats): features were made with other options than the model's (compare its config.json with the model's model.json)")
            }
        } else {
            corpus = try CorpusFeatures.load(data!, config: model.features, rateGiven: true, requireTranscripts: false, run: runOptions, world: world)
        }
        let utterances = corpus.utterances.map(\.features)
        let paths: [[TimedWord]?]
        if let graph {
            paths = try decodeWithGraph(graph, model: model, corpus: corpus)
        } else {
            guard model.hmm?.tree == nil else {
                throw CommandFailure("\(self.model): a triphone model decodes through a graph: make one with 'speechlab graph --model \(self.model) --lm LM.arpa --out GRAPH', then decode --graph GRAPH")
            }
            let adaptedPaths = try recognize(utterances, speakers: corpus.speakers, model: model, report: true)
            paths = try adaptsMeans(opened, corpus: corpus) ? try meanAdapted(opened, corpus: corpus, paths: adaptedPaths) : adaptedPaths
        }
        var results: [UtteranceResult<DecodedLines>] = []
        var failed = 0, audioFrames = 0
        let shift = model.features.frame.frameShiftMs / 1000
        for (i, (utterance, features)) in corpus.utterances.enumerated() {
            audioFrames += features.frames
            guard let words = paths[i] else {
                failed += 1
                printError("warning: \(utterance.id): no path through the \(graph == nil ? "\(grammar) grammar" : "graph") fits its \(features.frames) frames")
                results.append(UtteranceResult(id: utterance.id, value: DecodedLines(hypothesis: utterance.id, times: [])))
                continue
            }
            results.append(UtteranceResult(id: utterance.id, value: DecodedLines(
                hypothesis: ([utterance.id] + words.map(\.word)).joined(separator: " "),
                times: words.map { String(format: "%@ %.2f %.2f %@", utterance.id, Double($0.start) * shift, Double($0.end) * shift, $0.word) })))
        }
        var totals: [Int64] = [Int64(failed), Int64(audioFrames), Int64(corpus.utterances.count)]
        try world.sum(&totals)
        (failed, audioFrames) = (Int(totals[0]), Int(totals[1]))
        guard let all = try world.gatherInOrder(results, listing: corpus.listing) else { return }
        let lines = all.map(\.value.hypothesis), timeLines = all.flatMap(\.value.times)
        try AtomicFile.write(lines: lines, to: out)
        if let times { try AtomicFile.write(lines: timeLines, to: times) }
        let seconds = Date().timeIntervalSince(started)
        // A classifier names a word for every utterance; only a grammar's search can find no path.
        let outcome = model.kind == .classifier ? "classified" : "\(failed) without a path"
        let summary = String(format: "decode: %d utterances (%@), %.1f s of audio in %.2f s (real-time factor %.4f) → %@",
                             Int(totals[2]), outcome, Double(audioFrames) * shift, seconds, seconds / max(Double(audioFrames) * shift, 1e-9), out)
        // With hypotheses on standard output, the summary goes to standard error.
        if out == "-" || times == "-" { printError(summary) } else { print(summary) }
    }
}

extension Decode {
    /// Each utterance's words by the grammar's search with `model`, after two-pass fMLLR when the
    /// model and --adapt call for it (`speakers[i]` groups utterance i); `report`: the pass over
    /// the whole corpus (every rank's), whose adaptation is counted over the ranks and reported.
    func recognize(_ utterances: [FeatureMatrix], speakers: [String], model: RecognitionModel, report: Bool) throws -> [[TimedWord]?] {
        let grammar = self.grammar, jobs = runOptions.jobs
        var features = utterances
        if case .search(let recognizer, _) = model.engine {
            features = try adaptedFeatures(utterances, speakers: speakers, model: model, report: report) { features, scorer in
                parallelMap(features.count, workers: jobs) { recognizer.decode(features[$0], scorer: scorer, grammar: grammar)?.words }
            }
        }
        let adapted = features
        return parallelMap(adapted.count, workers: jobs) { model.recognize(adapted[$0], grammar: grammar) }
    }

    /// Whether each speaker's means are MAP-adapted to its decoded words: --adapt-means, by
    /// default when two-pass adaptation is on and utt2spk groups the utterances.
    func adaptsMeans(_ opened: RecognitionModel, corpus: CorpusFeatures) throws -> Bool {
        if adaptMeans == true, opened.gmm == nil || opened.hmm?.tree != nil {
            throw CommandFailure("\(model): --adapt-means adapts a GMM-HMM's means (a GMM-HMM's or the one a hybrid keeps); this \(opened.kind) model has none")
        }
        return adaptMeans ?? (graph == nil && opened.twoPassAdaptation(enabled: adapt) != nil && !Self.eachUtteranceAlone(corpus.speakers))
    }

    /// The words after unsupervised MAP of each speaker's means (``SpeakerMeanAdaptation``), the
    /// speaker decoded again as before with the adapted GMM-HMM.
    func meanAdapted(_ opened: RecognitionModel, corpus: CorpusFeatures, paths: [[TimedWord]?]) throws -> [[TimedWord]?] {
        let adaptation = SpeakerMeanAdaptation(rounds: adaptMeansRounds ?? SpeakerMeanAdaptation.defaultRounds, audioAtHand: feats == nil, run: runOptions)
        return try adaptation.adapt(opened, corpus: corpus, paths: paths, label: "decode", world: Distributed.world) { gmm, features, speakers in
            // Without fMLLR (--no-adapt --adapt-means) the adapted first-pass mixtures score.
            let model = try mixingGMMHMM(adapt == false ? try opened.unadapted.replacingGMMHMM(gmm.firstPassModel) : try opened.replacingGMMHMM(gmm))
            return try recognize(features, speakers: speakers, model: model, report: false)
        }
    }

    /// Whether `speakers` (``CorpusFeatures/speakers``) puts each utterance alone (no utt2spk, or
    /// one utterance per speaker): adaptation is then per utterance.
    static func eachUtteranceAlone(_ speakers: [String]) -> Bool {
        Set(speakers).count == speakers.count
    }

    /// `model` with its last pass as --gmm-weight says (default: the model's,
    /// ``RecognitionModel/defaultGMMWeight`` for a hybrid that keeps a GMM-HMM): on adapted
    /// frames the GMM-HMM's own mixtures, on unadapted ones its first-pass mixtures.
    func mixingGMMHMM(_ model: RecognitionModel) throws -> RecognitionModel {
        if let gmmWeight, gmmWeight > 0, !model.keepsGMMHMM {
            throw CommandFailure("\(self.model): --gmm-weight combines a hybrid with the GMM-HMM it decodes with; this \(model.kind) model has none")
        }
        return try model.mixingGMMHMM(weight: gmmWeight ?? model.defaultGMMWeight, adapted: model.twoPassAdaptation(enabled: adapt) != nil)
    }

    /// The utterances' features after two-pass fMLLR adaptation, when the model and --adapt
    /// call for it (`firstPass` decodes features with a scorer); else as they are.
    func adaptedFeatures(_ utterances: [FeatureMatrix], speakers: [String], model: RecognitionModel, report: Bool,
                         firstPass: ([FeatureMatrix], any AcousticScorer & Sendable) -> [[TimedWord]?]) throws -> [FeatureMatrix] {
        guard var adaptation = model.twoPassAdaptation(enabled: adapt) else { return utterances }
        if let adaptRounds { adaptation.options.rounds = adaptRounds }
        let started = Date()
        let (adapted, transforms) = adaptation.adapt(utterances, speakers: speakers, jobs: runOptions.jobs, decode: firstPass)
        guard report else { return adapted }
        // Each rank adapts its own speakers: the counts are over every rank (all of them sum).
        var kinds = FMLLRTransform.Kind.allCases.map { kind in Int64(transforms.filter { $0.transform.kind == kind }.count) }
        try Distributed.world.sum(&kinds)
        if !runOptions.quiet {
            let notes = transforms.compactMap(\.note)
            for note in notes.prefix(5) { printError("decode: \(note)") }
            if notes.count > 5 { printError("decode: ... and \(notes.count - 5) more such speakers") }
            // Without utt2spk (a missing speaker is the utterance itself), each utterance is adapted alone.
            let alone = Self.eachUtteranceAlone(speakers)
            printError(String(format: "decode: first pass and fMLLR for %d %@ (%@) in %.1f s", Int(kinds.reduce(0, +)), alone ? "utterances (each its own speaker)" : "speakers",
                              zip(FMLLRTransform.Kind.allCases, kinds).compactMap { kind, n in n > 0 ? "\(n) \(kind.rawValue)" : nil }.joined(separator: ", "),
                              Date().timeIntervalSince(started)))
        }
        return adapted
    }
}

/// One utterance's lines of the hypotheses file and of the word times.
struct DecodedLines: Codable {
    var hypothesis: String
    var times: [String]
}

extension Grammar: ExpressibleByArgument {}

