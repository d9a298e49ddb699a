import AcousticModels
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase
import TensorCore
import Testing

/// Synthetic utterances: each word is a sequence of 3 "phones" (Gaussian clouds in 4-D around
/// distinct means, 4-8 frames each), with silence (around zero) at both ends.
func syntheticCorpus(count: Int, seed: UInt64) -> [TrainingUtterance] {
    var g = SeededGenerator(seed: seed)
    let words = ["red": [[3.0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], "blue": [[0, 0, 0, 3], [-3, 0, 0, 0], [0, -3, 0, 0]],
                 "green": [[0, 0, -3, 0], [3, 3, 0, 0], [0, 0, 0, -3]]]
    let names = words.keys.sorted()
    func frames(_ mean: [Double], _ n: Int) -> [Float] {
        (0..<n).flatMap { _ in mean.map { Float($0 + 0.6 * g.nextGaussian()) } }
    }
    return (0..<count).map { i in
        let sequence = (0..<(1 + i % 2)).map { k in names[(i + k) % names.count] }
        var values = frames([0, 0, 0, 0], 3 + Int(g.next() % 4))
        for word in sequence {
            for phone in words[word]! { values += frames(phone, 4 + Int(g.next() % 5)) }
            values += frames([0, 0, 0, 0], Int(g.next() % 3))
        }
        values += frames([0, 0, 0, 0], 3)
        return TrainingUtterance(id: "u\(i)", features: FeatureMatrix(frames: values.count / 4, dimension: 4, values: values), words: sequence)
    }
}

func syntheticFeatureConfig() -> FeatureConfig {
    var config = FeatureConfig()
    config.cepstraCount = 4
    return config
}

/// Three states per word, a 3-state silence, two Gaussians, 8 iterations: the synthetic corpus's options.
func syntheticOptions() -> GMMHMMTrainingOptions {
    var o = GMMHMMTrainingOptions()
    o.statesPerUnit = 3
    o.silenceStates = 3
    o.gaussians = 2
    o.iterations = 8
    return o
}

@Suite struct GMMHMMTests {
    func options() -> GMMHMMTrainingOptions { syntheticOptions() }

    @Test func trainingNeverLowersTheLikelihoodBetweenMixtureSplits() throws {
        let trainer = GMMHMMTrainer(options: options(), jobs: 2)
        let (model, log) = try trainer.train(syntheticCorpus(count: 60, seed: 1), lexicon: Lexicon(), features: syntheticFeatureConfig())
        #expect(log.count == 8)
        for (a, b) in zip(log, log.dropFirst()) where a.gaussians == b.gaussians {
            #expect(b.logLikelihoodPerFrame >= a.logLikelihoodPerFrame - 1e-6, "iteration \(b.iteration): \(a.logLikelihoodPerFrame) → \(b.logLikelihoodPerFrame)")
        }
        #expect(model.gaussianCount > model.pdfCount)  // mixtures grew
        #expect(model.mixtures.allSatisfy { $0.isValid })
    }

    /// Kaldi's share of a total: occupancy^0.2 (32 times the frames, twice the Gaussians), never
    /// fewer than a state has, never fewer than `minimumCount` frames per Gaussian.
    @Test func aTotalOfGaussiansIsSharedByOccupancyToTheFifthRoot() {
        #expect(GMMHMMTrainer.splitTargets(occupancies: [1000, 32000], total: 6, current: [1, 1]) == [2, 4])
        #expect(GMMHMMTrainer.splitTargets(occupancies: [1000, 32000], total: 6, current: [3, 1]) == [3, 4])
        #expect(GMMHMMTrainer.splitTargets(occupancies: [50, 32000], total: 60, current: [1, 1], minimumCount: 20)[0] == 2)
        #expect(GMMHMMTrainer.splitTargets(occupancies: [0, 10], total: 4, current: [1, 1]) == [1, 1])
    }

    @Test func trainingGrowsToTheTotalGiven() throws {
        var o = options()
        o.totalGaussians = 40
        let (model, log) = try GMMHMMTrainer(options: o, jobs: 2).train(syntheticCorpus(count: 60, seed: 1), lexicon: Lexicon(), features: syntheticFeatureConfig())
        #expect(abs(model.gaussianCount - 40) <= model.pdfCount / 2, "\(model.gaussianCount) Gaussians")
        #expect(Set(model.mixtures.map(\.componentCount)).count > 1)  // shared unevenly, by occupancy
        #expect(log.map(\.gaussians) == log.map(\.gaussians).sorted())
    }

    @Test func trainedModelRecognizesHeldOutUtterancesWithBothGrammars() throws {
        let trainer = GMMHMMTrainer(options: options(), jobs: 2)
        let (model, _) = try trainer.train(syntheticCorpus(count: 60, seed: 2), lexicon: Lexicon(), features: syntheticFeatureConfig())
        let recognizer = try Recognizer(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary)
        let test = syntheticCorpus(count: 20, seed: 3)
        var correct = 0
        for u in test {
            let words = recognizer.decode(u.features, scorer: model, grammar: .loop)?.words.map(\.word)
            if words == u.words { correct += 1 }
            if u.words.count == 1 {
                #expect(recognizer.decode(u.features, scorer: model, grammar: .isolated)?.words.map(\.word) == u.words)
            }
            let alignment = try recognizer.align(u.features, words: u.words, scorer: model)
            #expect(alignment.count == u.features.frames)
        }
        #expect(correct == test.count)
    }

    @Test func modelDirectoriesRoundTripAndBadOnesAreRefused() throws {
        let (model, log) = try GMMHMMTrainer(options: options(), jobs: 1).train(syntheticCorpus(count: 30, seed: 4), lexicon: Lexicon(), features: syntheticFeatureConfig())
        let folder = NSTemporaryDirectory() + "speechlab-model-\(UUID().uuidString)"
        try model.save(to: folder, log: log)
        let (back, _) = try GMMHMM.load(folder)
        let frames = syntheticCorpus(count: 1, seed: 5)[0].features
        #expect(back.logLikelihoods(frames: frames.values, count: frames.frames) == model.logLikelihoods(frames: frames.values, count: frames.frames))
        #expect(FileManager.default.fileExists(atPath: folder + "/training.log"))

        let weights = folder + "/weights.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: weights))
        #expect(throws: ModelError.self) { try GMMHMM.load(folder) }
        var json = try String(contentsOfFile: folder + "/model.json", encoding: .utf8)
        json = json.replacingOccurrences(of: "\"kind\" : \"gmm-hmm\"", with: "\"kind\" : \"hybrid\"")
        try json.write(toFile: folder + "/model.json", atomically: true, encoding: .utf8)
        let kind = #expect(throws: ModelError.self) { try GMMHMM.load(folder) }
        #expect(kind?.description.contains("hybrid") == true)
        json = json.replacingOccurrences(of: "\"formatVersion\" : 1", with: "\"formatVersion\" : 7")
        try json.write(toFile: folder + "/model.json", atomically: true, encoding: .utf8)
        let version = #expect(throws: ModelError.self) { try GMMHMM.load(folder) }
        #expect(version?.description.contains("newer") == true)
    }

    @Test func unusableUtterancesAreSkippedWithTheirReason() throws {
        var data = syntheticCorpus(count: 30, seed: 6)
        data.append(TrainingUtterance(id: "short", features: FeatureMatrix(frames: 2, dimension: 4), words: ["red"]))
        var nan = data[0].features
        nan.values[5] = .nan
        data.append(TrainingUtterance(id: "nan", features: nan, words: data[0].words))
        let trainer = GMMHMMTrainer(options: options(), jobs: 1)
        let model = try trainer.flatStart(data.filter { $0.id != "nan" }, lexicon: Lexicon(), features: syntheticFeatureConfig())
        let statistics = try trainer.accumulate(model, data)
        #expect(statistics.skipped["short"]?.contains("too few") == true)
        #expect(statistics.skipped["nan"]?.contains("not finite") == true)
        #expect(statistics.utterances == 30)
        // Statistics are values that save and merge.
        let saved = try JSONDecoder().decode(BaumWelchStatistics.self, from: JSONEncoder().encode(statistics))
        #expect(saved.frames == statistics.frames)
    }
}

struct Interrupted: Error {}

@Suite struct GMMHMMResumeTests {
    @Test func anInterruptedTrainingResumesToTheSameModel() throws {
        var options = GMMHMMTrainingOptions()
        options.statesPerUnit = 3
        options.silenceStates = 3
        options.gaussians = 2
        options.iterations = 6
        let trainer = GMMHMMTrainer(options: options, jobs: 1)
        let data = syntheticCorpus(count: 40, seed: 7)
        let (whole, _) = try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())

        let folder = NSTemporaryDirectory() + "speechlab-resume-\(UUID().uuidString)"
        var log: [GMMHMMIterationLog] = []
        #expect(throws: Interrupted.self) {
            try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig()) { entry, model in
                log.append(entry)
                try model.save(to: folder, log: log)
                if entry.iteration == 3 { throw Interrupted() }
            }
        }
        let (checkpoint, _) = try GMMHMM.load(folder)
        let (resumed, resumedLog) = try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig(), resume: (checkpoint, log))
        #expect(resumedLog.map(\.iteration) == [1, 2, 3, 4, 5, 6])
        let x = data[0].features
        let a = whole.logLikelihoods(frames: x.values, count: x.frames), b = resumed.logLikelihoods(frames: x.values, count: x.frames)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-3 })
    }

    @Test func aWordMissingFromTheLexiconIsNamedWithItsUtterance() {
        let lexicon = Lexicon(pronunciations: ["red": ["r", "e", "d"], "blue": ["b", "l", "u"]])
        let error = #expect(throws: ModelError.self) {
            try GMMHMMTrainer().train(syntheticCorpus(count: 10, seed: 8), lexicon: lexicon, features: syntheticFeatureConfig())
        }
        #expect(error?.description.contains("green") == true)
        #expect(error?.description.contains("utterance 'u") == true)
    }
}

@Suite struct LexiconCodingTests {
    @Test func alternativesRoundTripAndOlderModelsStillRead() throws {
        let lexicon = Lexicon(alternatives: ["read": [["r", "iy", "d"], ["r", "eh", "d"]], "red": [["r", "eh", "d"]]])
        #expect(try JSONDecoder().decode(Lexicon.self, from: JSONEncoder().encode(lexicon)) == lexicon)
        #expect(lexicon.units(of: "read") == ["r", "iy", "d"] && lexicon.pronunciations(of: "blue") == [["blue"]])
        // model.json before alternatives: one pronunciation per word.
        let old = Data(#"{"pronunciations": {"red": ["r", "eh", "d"]}}"#.utf8)
        #expect(try JSONDecoder().decode(Lexicon.self, from: old) == Lexicon(pronunciations: ["red": ["r", "eh", "d"]]))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Lexicon.self, from: Data(#"{"pronunciations": {"red": [[]]}}"#.utf8)) }
    }
}

/// The synthetic words spelled as three one-state phones each.
let threePhoneLexicon = Lexicon(pronunciations: ["red": ["r1", "r2", "r3"], "blue": ["b1", "b2", "b3"], "green": ["g1", "g2", "g3"]])

/// One state per phone, a 3-state silence, one Gaussian, 4 iterations.
func onePhoneStateOptions() -> GMMHMMTrainingOptions {
    var options = GMMHMMTrainingOptions()
    options.statesPerUnit = 1
    options.silenceStates = 3
    options.gaussians = 1
    options.iterations = 4
    return options
}

@Suite struct TriphoneStatisticsTests {
    /// The synthetic words spelled as three one-state phones each: in the alignment every
    /// middle phone sits between its word's first and last, and word edges meet silence or the
    /// next word.
    @Test func contextsAreTheAlignedNeighbours() throws {
        let (lexicon, options) = (threePhoneLexicon, onePhoneStateOptions())
        let data = syntheticCorpus(count: 40, seed: 3)
        let (model, _) = try GMMHMMTrainer(options: options, jobs: 2).train(data, lexicon: lexicon, features: syntheticFeatureConfig())
        let statistics = try TriphoneStatistics.accumulate(model, data, jobs: 2)
        let unit = { (name: String) in model.transitions.unitIndex(name)! }
        let middle = statistics.filter { $0.key.center == unit("r2") }
        #expect(!middle.isEmpty && middle.keys.allSatisfy { $0.left == unit("r1") && $0.right == unit("r3") })
        let firsts = statistics.filter { $0.key.center == unit("b1") }.keys
        #expect(firsts.allSatisfy { [unit("<sil>"), unit("r3"), unit("g3")].contains($0.left) && $0.right == unit("b2") }, "\(firsts)")
        let frames = data.reduce(0) { $0 + $1.features.frames }
        #expect(abs(statistics.values.reduce(0) { $0 + $1.count } - Double(frames)) < 0.5, "every frame counted once")
        let questions = TriphoneStatistics.questions(statistics, units: model.transitions.units, silence: model.silence, varianceFloor: [0.01, 0.01, 0.01, 0.01])
        // Each of the 9 phones alone, the 7 clusters merged on the way (the last, all phones, asks nothing), silence: ×2 sides.
        #expect(questions.count == 2 * (9 + 7 + 1))
        #expect(questions.contains { $0.position == -1 && $0.phones == [unit("r2")] })
    }
}

/// Statistics enter exact sums chunk by chunk (or shard by shard): the totals are the same bits
/// however many workers share the work, the basis of equal models on any number of ranks.
@Suite struct ExactStatisticsTests {
    @Test func theEStepGivesTheSameBitsOnOneWorkerAndOnThree() throws {
        var data = syntheticCorpus(count: 90, seed: 8)
        for i in data.indices { data[i].shard = "speaker \(i % 5)" }
        let one = GMMHMMTrainer(options: syntheticOptions(), jobs: 1), three = GMMHMMTrainer(options: syntheticOptions(), jobs: 3)
        let model = try one.flatStart(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        let a = try one.accumulate(model, data)
        let b = try three.accumulate(model, data)
        #expect(a.mixtures == b.mixtures)
        #expect(a.transitions == b.transitions && a.logLikelihood == b.logLikelihood)
        let floorOne = try one.globalVariance(data), floorThree = try three.globalVariance(data)
        #expect(floorOne == floorThree)
        let (lexicon, phoneOptions) = (threePhoneLexicon, onePhoneStateOptions())
        let (phones, _) = try GMMHMMTrainer(options: phoneOptions, jobs: 2).train(data, lexicon: lexicon, features: syntheticFeatureConfig())
        let contextsOne = try TriphoneStatistics.accumulate(phones, data, jobs: 1)
        let contextsThree = try TriphoneStatistics.accumulate(phones, data, jobs: 3)
        #expect(contextsOne == contextsThree)
    }
}

@Suite struct TriphoneTrainingTests {
    @Test func tiedTriphonesTrainSaveLoadAndAlign() throws {
        let (lexicon, options) = (threePhoneLexicon, onePhoneStateOptions())
        let data = syntheticCorpus(count: 60, seed: 5)
        let trainer = GMMHMMTrainer(options: options, jobs: 2)
        let (mono, monoLog) = try trainer.train(data, lexicon: lexicon, features: syntheticFeatureConfig())
        var triphones = TriphoneOptions()
        triphones.leaves = 16
        triphones.minimumCount = 20
        let (tri, triLog) = try trainer.trainTriphones(from: mono, data, triphones: triphones)
        let tree = try #require(tri.tree)
        #expect(tri.pdfCount == tree.leafCount && tree.leafCount > mono.transitions.topologies.count && tree.leafCount <= 16)
        #expect(triLog.count == 4 && triLog.last!.utterances == data.count)
        #expect(triLog.last!.logLikelihoodPerFrame >= monoLog.last!.logLikelihoodPerFrame - 0.05, "\(triLog.last!) vs \(monoLog.last!)")
        // Saved and loaded with its tree; aligns transcripts through triphone graphs.
        let folder = NSTemporaryDirectory() + "speechlab-tri-\(UUID().uuidString)"
        try tri.save(to: folder)
        let (loaded, _) = try GMMHMM.load(folder)
        #expect(loaded.tree == tree)
        let x = data[0].features
        #expect(loaded.logLikelihoods(frames: x.values, count: x.frames) == tri.logLikelihoods(frames: x.values, count: x.frames))
        let recognizer = try Recognizer(transitions: loaded.transitions, lexicon: loaded.lexicon, vocabulary: loaded.vocabulary, tree: loaded.tree)
        #expect(!recognizer.hasGrammars)
        let pdfs = try recognizer.align(x, words: data[0].words, scorer: loaded)
        #expect(pdfs.count == x.frames && pdfs.allSatisfy { (0..<Int32(tree.leafCount)).contains($0) })
        // A second pass grows new trees from the triphones' own alignments (Kaldi's tri2).
        let (second, secondLog) = try trainer.trainTriphones(from: tri, data, triphones: triphones)
        #expect(second.tree != nil && secondLog.last!.utterances == data.count && secondLog.last!.logLikelihoodPerFrame.isFinite)
    }

    /// A speaker-adaptive source's own mixtures expect fMLLR-adapted frames; its unadapted
    /// training features are aligned with its alignment mixtures, so the triphones grown from it
    /// are those grown from a model holding those mixtures alone.
    @Test func aSpeakerAdaptiveSourceAlignsWithItsAlignmentMixtures() throws {
        let (lexicon, options) = (threePhoneLexicon, onePhoneStateOptions())
        let data = syntheticCorpus(count: 60, seed: 5)
        let trainer = GMMHMMTrainer(options: options, jobs: 2)
        let (mono, _) = try trainer.train(data, lexicon: lexicon, features: syntheticFeatureConfig())
        // Mixtures far from the unadapted frames, as a SAT model's can be for a new voice.
        let shifted = mono.mixtures.map { gmm in
            DiagonalGMM(dimension: gmm.dimension, weights: gmm.weights, means: gmm.means.map { $0 + 40 }, variances: gmm.variances)
        }
        let adaptive = GMMHMM(transitions: mono.transitions, mixtures: shifted, lexicon: mono.lexicon, vocabulary: mono.vocabulary, features: mono.features)
        adaptive.speakerAdaptation = FMLLROptions()
        adaptive.alignmentMixtures = mono.mixtures
        var triphones = TriphoneOptions()
        triphones.leaves = 16
        triphones.minimumCount = 20
        let (fromAdaptive, adaptiveLog) = try trainer.trainTriphones(from: adaptive, data, triphones: triphones)
        let (fromPlain, plainLog) = try trainer.trainTriphones(from: mono, data, triphones: triphones)
        #expect(fromAdaptive.tree == fromPlain.tree)
        #expect(adaptiveLog.map(\.logLikelihoodPerFrame) == plainLog.map(\.logLikelihoodPerFrame))
        #expect(fromAdaptive.speakerAdaptation == nil && fromAdaptive.alignmentMixtures == nil)
    }
}

@Suite struct MAPAdaptationTests {
    @Test func meansMoveByOccupancyOverOccupancyPlusTau() {
        let prior = DiagonalGMM(dimension: 1, weights: [0.5, 0.5], means: [0, 10], variances: [1, 1])
        var statistics = GaussianStatistics(dimension: 1, components: 2)
        statistics.occupancy = [3, 0]
        statistics.firstOrder = [6, 0]  // three frames at 2 for the first Gaussian, none for the second
        var adapted = prior
        adapted.adaptMeans(prior: prior, statistics: statistics, tau: 1)
        #expect(adapted.means == [1.5, 10])
        #expect(adapted.weights == prior.weights && adapted.variances == prior.variances)
    }

    /// A voice the model never heard (every feature shifted), ten of its utterances, and the
    /// adapted model recognizes its other utterances better; the adaptation data fit better.
    @Test func tenUtterancesOfAShiftedVoiceLiftItsAccuracy() throws {
        let (model, _) = try GMMHMMTrainer(options: syntheticOptions(), jobs: 2).train(syntheticCorpus(count: 60, seed: 1), lexicon: Lexicon(),
                                                                            features: syntheticFeatureConfig())
        func shifted(_ data: [TrainingUtterance]) -> [TrainingUtterance] {
            data.map { u in
                var u = u
                u.features = FeatureMatrix(frames: u.features.frames, dimension: 4, values: u.features.values.enumerated().map { $0.element + ($0.offset % 4 == 0 ? 1.6 : -1.2) })
                return u
            }
        }
        let adaptation = shifted(syntheticCorpus(count: 10, seed: 7)), test = shifted(syntheticCorpus(count: 60, seed: 8))
        let recognizer = try Recognizer(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary)
        func correct(_ scorer: GMMHMM) -> Int { test.filter { recognizer.decode($0.features, scorer: scorer, grammar: .loop)?.words.map(\.word) == $0.words }.count }
        let (adapted, logLikelihoods) = try MAPAdaptation().adapt(model, to: adaptation, jobs: 2)
        #expect(logLikelihoods.count == 3 && logLikelihoods.last! > logLikelihoods.first!)
        let before = correct(model), after = correct(adapted)
        #expect(after > before && after >= 55, "\(before) → \(after) of 60")
        #expect(model.mixtures.map(\.means) != adapted.mixtures.map(\.means))  // the source model is untouched...
        var withMLLR = MAPAdaptation()
        withMLLR.mllr = .full  // a shift of every mean is what a global transform models best
        #expect(correct(try withMLLR.adapt(model, to: adaptation, jobs: 2).model) >= after)
        let again = try MAPAdaptation().adapt(model, to: adaptation, jobs: 1).model  // ...and adapting is repeatable
        #expect(zip(again.mixtures.flatMap(\.means), adapted.mixtures.flatMap(\.means)).allSatisfy { abs($0 - $1) < 1e-9 })
    }

    /// The same unheard voice with no transcript at all: its own decoded words teach the model,
    /// round after round from the source's means, and its utterances are recognized better;
    /// the rounds stop once the words stay the same.
    @Test func aShiftedVoiceAdaptedToItsOwnDecodedWordsIsRecognizedBetter() throws {
        let (model, _) = try GMMHMMTrainer(options: syntheticOptions(), jobs: 2).train(syntheticCorpus(count: 60, seed: 1), lexicon: Lexicon(),
                                                                            features: syntheticFeatureConfig())
        let test = syntheticCorpus(count: 60, seed: 8).map { u in
            var u = u
            u.features = FeatureMatrix(frames: u.features.frames, dimension: 4, values: u.features.values.enumerated().map { $0.element + ($0.offset % 4 == 0 ? 1.6 : -1.2) })
            return u
        }
        let recognizer = try Recognizer(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary)
        var decodes = 0
        func decode(_ scorer: GMMHMM) -> [[TimedWord]?] {
            decodes += 1
            return test.map { recognizer.decode($0.features, scorer: scorer, grammar: .loop)?.words }
        }
        func correct(_ paths: [[TimedWord]?]) -> Int { zip(test, paths).filter { $0.words == $1?.map(\.word) }.count }
        let first = decode(model)
        var unsupervised = UnsupervisedMAP()
        unsupervised.rounds = 10
        let outcome = unsupervised.adapt(model, speaker: "new", utterances: test.map { [$0.features] }, paths: first, jobs: 2) { decode($0) }
        #expect(outcome.failure == nil && outcome.rounds == decodes - 1)
        #expect(correct(outcome.paths) > correct(first), "\(correct(first)) → \(correct(outcome.paths)) of 60")
        #expect(outcome.rounds < 10, "the words settle before the tenth round")
        // No words at all: nothing to learn from, no round.
        let none = unsupervised.adapt(model, speaker: "new", utterances: test.map { [$0.features] }, paths: test.map { _ in nil }, jobs: 2) { decode($0) }
        #expect(none.rounds == 0 && none.paths.allSatisfy { $0 == nil })
    }
}
