import AcousticModels
import ArgumentParser
import AudioIO
import Evaluation
import FeatureExtraction
import Foundation
import HiddenMarkov
import SpeechBase
import SpeechCorpus
import Synchronization

/// `speechlab compare`: decodes one test set with several models and writes a report.
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare models of any family on one test set (HTML, Markdown and JSON report).",
        discussion: """
            Decodes DATA with every model (each computes its own features, as its model.json says), \
            scores the hypotheses and writes DIR/report.html (one self-contained page), DIR/report.md \
            and DIR/report.json: WER or accuracy with 95% bootstrap confidence intervals, sentence \
            error rate, parameters, training time, decoding real-time factor, pairwise significance \
            (McNemar on isolated words, matched pairs on WER), confusion matrices, per-speaker \
            results, training curves from each model's training.log, and the utterances on which \
            the models disagree. DIR/<model>.hyp holds each model's hypotheses.
            """
    )

    @Option(help: ArgumentHelp("Test data directory (with transcripts).", valueName: "dir"))
    var test: String
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Model directories to compare.", valueName: "dir"))
    var models: [String]
    @Option(help: ArgumentHelp("Folder for the report.", valueName: "dir"))
    var out: String
    @Option(help: ArgumentHelp("isolated or loop (default: isolated when every transcript is one word, else loop); not with --graph.", valueName: "grammar"))
    var grammar: Grammar?
    @Option(parsing: .upToNextOption, help: ArgumentHelp("Decode through graphs made by 'speechlab graph' instead of a grammar: one for every model, or one per model in the order of --models (each model at the LM weight its decoding.json holds, else 10).", valueName: "dir"))
    var graph: [String] = []
    @Option(name: .customLong("gmm-weight"), help: ArgumentHelp("Hybrids that keep a GMM-HMM score each frame by (1 − w) × the network's log-likelihoods + w × the GMM-HMM's, as 'decode --gmm-weight' (default \(RecognitionModel.defaultGMMWeight); 0: the networks alone); other models are not affected.", valueName: "w"))
    var gmmWeight: Float?
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("give at least one model with --models") }
        guard graph.count <= 1 || graph.count == models.count else {
            throw ValidationError("--graph takes one graph for every model or one per model (\(models.count)), not \(graph.count)")
        }
        guard graph.isEmpty || grammar == nil else { throw ValidationError("--grammar and --graph exclude each other") }
        if let gmmWeight, !(0...1).contains(gmmWeight) { throw ValidationError("--gmm-weight must be in 0...1, not \(gmmWeight)") }
    }

    func run() throws {
        let corpus = try Corpus.load(test)
        guard !corpus.isEmpty else { throw CorpusError("\(test): the test set holds no utterances") }
        if let missing = corpus.first(where: { $0.words == nil }) {
            throw CorpusError("\(test): utterance '\(missing.id)' has no transcript (a data directory with a text file is needed)")
        }
        let grammar = self.grammar ?? (corpus.allSatisfy { $0.words!.count == 1 } ? .isolated : .loop)
        // Every model and its training log are read before any work, so that an unreadable one
        // stops the run at once, before anything is written.
        let loaded = try models.map { path in (path: path, model: try RecognitionModel.open(path)) }
        if graph.isEmpty, let triphones = loaded.first(where: { $0.model.hmm?.tree != nil }) {
            throw CommandFailure("\(triphones.path): a triphone model decodes through a graph: make one with 'speechlab graph' and give it with --graph")
        }
        let recognizers = try graphRecognizers(loaded)
        let names = uniqueNames(models)
        // Every audio file read once before any timing, so that the first model's decoding
        // time does not include the disk while the others' come from the page cache.
        for u in corpus { _ = FileManager.default.contents(atPath: u.audioPath) }

        // A speaker-adaptively trained model is shown twice: unadapted (its alignment
        // mixtures on the features as they are) and after two-pass fMLLR adaptation.
        var entries: [(k: Int, name: String, model: RecognitionModel, adapted: Bool)] = []
        for (k, item) in loaded.enumerated() {
            if item.model.twoPassAdaptation(enabled: nil) != nil {
                entries.append((k, names[k] + "-unadapted", item.model.unadapted, false))
                entries.append((k, names[k], item.model, true))
            } else {
                entries.append((k, names[k], item.model, false))
            }
        }
        var decodings: [ModelDecoding] = []
        for (k, name, unmixed, adapted) in entries {
            let path = loaded[k].path, summary = unmixed.summary
            // Only a hybrid that keeps a GMM-HMM mixes it in.
            let weight = unmixed.keepsGMMHMM ? gmmWeight ?? unmixed.defaultGMMWeight : 0
            let model = try unmixed.mixingGMMHMM(weight: weight, adapted: adapted)
            // As decode's default: the means adapt too when the grammar decodes and utt2spk groups speakers.
            let meansAdapted = adapted && graph.isEmpty && !Decode.eachUtteranceAlone(corpus.map { $0.speaker ?? $0.id })
            let architecture = summary.architecture + (adapted ? ", two-pass fMLLR" : "") + (meansAdapted ? ", MAP of its decoded words" : "") + (weight > 0 ? String(format: ", GMM-HMM mixed in (w %g)", weight) : "")
            if !runOptions.quiet { printError("compare: decoding with \(name) (\(architecture))") }
            let started = Date()
            let features = try CorpusFeatures.load(test, config: model.features, rateGiven: true, requireTranscripts: true, run: runOptions)
            var items = features.utterances.map(\.features)
            let recognizers = recognizers[k], jobs = runOptions.jobs
            // A classifier has no scorer (and no graph).
            func decode(_ items: [FeatureMatrix], _ scorer: (any AcousticScorer & Sendable)?, firstPass: Bool, progress: ProgressReporter?,
                        model: RecognitionModel = model) -> [[TimedWord]?] {
                let done = Atomic(0)
                let graphRecognizer = firstPass ? recognizers?.firstPass : recognizers?.last
                return parallelMap(items.count, workers: jobs) { i in
                    let result: [TimedWord]?
                    if let scorer {
                        result = graphRecognizer.map { $0.decode(items[i], scorer: scorer)?.words } ?? model.recognize(items[i], grammar: grammar, scorer: scorer)
                    } else {
                        result = model.recognize(items[i], grammar: grammar)
                    }
                    progress?.update(done.add(1, ordering: .relaxed).newValue)
                    return result
                }
            }
            if adapted, let adaptation = model.twoPassAdaptation(enabled: nil) {
                items = adaptation.adapt(items, speakers: features.speakers, jobs: jobs) { decode($0, $1, firstPass: true, progress: nil) }.features
            }
            let progress = runOptions.quiet ? nil : ProgressReporter(label: "decode", total: items.count)
            var words = decode(items, model.hmm?.scorer, firstPass: false, progress: progress)
            progress?.finish()
            // Then each speaker's means learn from its own decoded words, as decode does by default.
            if meansAdapted {
                let means = SpeakerMeanAdaptation(rounds: SpeakerMeanAdaptation.defaultRounds, audioAtHand: true, run: runOptions)
                words = try means.adapt(unmixed, corpus: features, paths: words, label: "compare") { gmm, items, speakers in
                    let speakerModel = try unmixed.replacingGMMHMM(gmm).mixingGMMHMM(weight: weight, adapted: true)
                    let adaptedItems = speakerModel.twoPassAdaptation(enabled: nil).map { adaptation in
                        adaptation.adapt(items, speakers: speakers, jobs: jobs) { decode($0, $1, firstPass: true, progress: nil, model: speakerModel) }.features
                    } ?? items
                    return decode(adaptedItems, speakerModel.hmm?.scorer, firstPass: false, progress: nil, model: speakerModel)
                }
            }
            let seconds = Date().timeIntervalSince(started)
            var hypotheses: [String: [String]] = [:]
            for (i, w) in words.enumerated() { if let w { hypotheses[features.utterances[i].utterance.id] = w.map(\.word) } }
            try AtomicFile.write(lines: features.utterances.map { u in ([u.utterance.id] + (hypotheses[u.utterance.id] ?? [])).joined(separator: " ") },
                           to: try outputPath(name.replacingOccurrences(of: "/", with: "_") + ".hyp"))
            decodings.append(ModelDecoding(
                name: name, path: path, kind: summary.kind.rawValue, architecture: architecture,
                features: model.features.summary,
                parameters: summary.parameters, trainingSeconds: summary.trainingSeconds, decodingSeconds: seconds,
                threads: runOptions.jobs, hypotheses: hypotheses, vocabulary: Set(model.vocabulary), curves: summary.curves,
                notes: summary.notes, outputsOneWordPerUtterance: summary.outputsOneWordPerUtterance))
        }

        let testSet = corpus.map { u in
            TestUtterance(id: u.id, speaker: u.speaker, words: u.words!, seconds: (try? AudioFile.info(u.audioPath)).map { Double($0.frames) / Double($0.sampleRate) } ?? 0)
        }
        let report = ComparisonReport(testSet: test, grammar: graph.isEmpty ? grammar.rawValue : "graph", test: testSet, decodings: decodings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(report), to: try outputPath("report.json"))
        try AtomicFile.write(Data(report.markdown.utf8), to: try outputPath("report.md"))
        try AtomicFile.write(Data(report.html.utf8), to: try outputPath("report.html"))
        print(report.summaryMarkdown)
        for note in report.notes { print("note: " + note) }
        print("report: \((out as NSString).appendingPathComponent("report.html")) (also report.md, report.json)")
    }

    /// With --graph, each model's recognizer through its graph at the LM weight it was tuned to,
    /// and for two-pass adaptation's first passes at theirs (as `decode` does).
    private func graphRecognizers(_ loaded: [(path: String, model: RecognitionModel)]) throws -> [(last: GraphRecognizer, firstPass: GraphRecognizer)?] {
        guard !graph.isEmpty else { return loaded.map { _ in nil } }
        return try loaded.enumerated().map { k, item in
            guard let hmm = item.model.hmm else { throw CommandFailure("\(item.path): a whole-utterance classifier does not decode through a graph") }
            let (decoder, tuned) = try TunedDecoding.decoder(for: item.path)
            let recognizer = try GraphRecognizer(graphDirectory: graph[graph.count == 1 ? 0 : k], hmm: hmm, decoder: decoder)
            return (recognizer, recognizer.atLMWeight(TunedDecoding.firstPassLMWeight(given: nil, tuned: tuned, tuning: false)))
        }
    }

    /// A path in the output folder, which is made when missing.
    private func outputPath(_ name: String) throws -> String {
        do { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
            throw CommandFailure("\(out): cannot be created: \(FileError.reason(error))")
        }
        return (out as NSString).appendingPathComponent(name)
    }

    /// The model directories' names, made unique with their parent folder or a number.
    private func uniqueNames(_ paths: [String]) -> [String] {
        let standardized = paths.map { URL(fileURLWithPath: $0).standardizedFileURL }
        var names = standardized.map(\.lastPathComponent)
        for i in names.indices where names.filter({ $0 == names[i] }).count > 1 {
            names[i] = standardized[i].deletingLastPathComponent().lastPathComponent + "/" + names[i]
        }
        var seen: [String: Int] = [:]
        return names.map { name in
            seen[name, default: 0] += 1
            return seen[name]! == 1 ? name : "\(name)#\(seen[name]!)"
        }
    }
}
