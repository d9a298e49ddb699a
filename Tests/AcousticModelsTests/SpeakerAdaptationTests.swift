import AcousticModels
import FeatureExtraction
import Foundation
import GaussianMixture
import HiddenMarkov
import Testing

/// The synthetic corpus as spoken by another voice: every frame x becomes M x + c.
func distorted(_ data: [TrainingUtterance], scale: [Float], shift: [Float], mix: Float = 0) -> [TrainingUtterance] {
    data.map { u in
        var u = u
        let x = u.features.values
        u.features = FeatureMatrix(frames: u.features.frames, dimension: 4, values: x.indices.map { k in
            let d = k % 4, row = k - d
            return scale[d] * x[k] + mix * x[row + (d + 1) % 4] + shift[d]
        })
        return u
    }
}

@Suite struct SpeakerAdaptiveTrainingTests {
    /// Two training voices (one distorted), LDA+MLLT+SAT, and a third voice the model never
    /// heard: two-pass adaptation (first-pass words, never the transcripts) recognizes it
    /// better than the speaker-independent first pass.
    @Test func anUnseenVoiceIsRecognizedBetterAfterTwoPassAdaptation() throws {
        var options = syntheticOptions()
        options.iterations = 10
        let trainer = GMMHMMTrainer(options: options, jobs: 2)
        let voiceA = syntheticCorpus(count: 40, seed: 21)
        let voiceB = distorted(syntheticCorpus(count: 40, seed: 22), scale: [0.8, 1.3, 1, 0.7], shift: [1, -1, 0.5, 0], mix: 0.3)
        let data = voiceA + voiceB
        let speakers = voiceA.map { _ in "a" } + voiceB.map { _ in "b" }
        let (first, _) = try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        var transforms = FeatureTransformOptions()
        transforms.spliceContext = 1
        transforms.dimension = 4
        var config = syntheticFeatureConfig()
        config.deltaOrder = 0
        var stages: [String] = []
        let (model, log) = try trainer.trainWithTransforms(from: first, sourceData: data, baseData: data, speakers: speakers, baseConfig: config,
                                                          transforms: transforms.scheduled(for: options.iterations), progress: { stages.append($0) })
        #expect(log.count == options.iterations)
        #expect(model.features.transform?.outputDimension == 4 && model.features.transform?.splicedDimension == 12)
        #expect(model.alignmentMixtures != nil && model.speakerAdaptation != nil)
        #expect(stages.contains { $0.contains("MLLT") } && stages.contains { $0.contains("fMLLR for 2 speakers") })

        let transform = model.features.transform!
        let voiceC = distorted(syntheticCorpus(count: 60, seed: 23), scale: [1.4, 0.7, 1.2, 1], shift: [-1.5, 1, 0, 1.2], mix: -0.2)
        let test = voiceC.map { transform.apply($0.features) }
        let recognizer = try Recognizer(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary)
        func decode(_ features: [FeatureMatrix], _ scorer: any AcousticScorer & Sendable) -> [[TimedWord]?] {
            features.map { recognizer.decode($0, scorer: scorer, grammar: .loop)?.words }
        }
        func correct(_ paths: [[TimedWord]?]) -> Int { zip(paths, voiceC).filter { $0?.map(\.word) == $1.words }.count }
        let unadapted = correct(decode(test, model.firstPassModel))
        var adaptation = TwoPassAdaptation(model: model, recognizer: recognizer, options: model.speakerAdaptation!)
        adaptation.options.fullMinimumFrames = 200
        let (adapted, speakerTransforms) = adaptation.adapt(test, speakers: test.map { _ in "c" }, jobs: 2, decode: decode)
        #expect(speakerTransforms.count == 1 && speakerTransforms[0].transform.kind == .full && speakerTransforms[0].note == nil)
        let after = correct(decode(adapted, model))
        #expect(after > unadapted && after >= 54, "\(unadapted) → \(after) of 60")
        // Each utterance alone (no speakers): a few frames each, so simpler transforms, and said so.
        let (_, perUtterance) = adaptation.adapt(Array(test.prefix(3)), speakers: nil, jobs: 1, decode: decode)
        #expect(perUtterance.count == 3 && perUtterance.allSatisfy { $0.transform.kind != .full && $0.note?.contains("too few for a full fMLLR") == true })
    }

    /// A feature dimension that never varies makes the within-class scatter singular: the
    /// error says LDA and why.
    @Test func aSingularScatterIsAClearError() throws {
        let trainer = GMMHMMTrainer(options: syntheticOptions(), jobs: 1)
        let data = syntheticCorpus(count: 30, seed: 31).map { u -> TrainingUtterance in
            var u = u
            u.features.values = u.features.values.enumerated().map { $0.offset % 4 == 3 ? 0 : $0.element }
            return u
        }
        let (first, _) = try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        var config = syntheticFeatureConfig()
        config.deltaOrder = 0
        var transforms = FeatureTransformOptions()
        transforms.spliceContext = 1
        transforms.dimension = 4
        let error = #expect(throws: ModelError.self) {
            try trainer.trainWithTransforms(from: first, sourceData: data, baseData: data, speakers: data.map { _ in "a" }, baseConfig: config,
                                            transforms: transforms.scheduled(for: 8))
        }
        #expect("\(error!)".contains("LDA") && "\(error!)".contains("singular"), "\(error!)")
    }

    /// Two-feature statistics (Kaldi's gmm-acc-stats-twofeats): the posteriors of one corpus,
    /// the sums of another. With the same corpus twice they are the ordinary statistics; with
    /// the second corpus shifted, the sums move by the occupancy times the shift.
    @Test func statisticsFromOtherFeaturesUseTheFirstCorpusPosteriors() throws {
        let trainer = GMMHMMTrainer(options: syntheticOptions(), jobs: 1)
        let data = syntheticCorpus(count: 20, seed: 41)
        let (model, _) = try trainer.train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        let corpus = EStepCorpus(data)
        let plain = try trainer.accumulate(model, corpus)
        let same = try trainer.accumulate(model, corpus, statisticsFrom: EStepCorpus(data))
        #expect(plain.mixtures == same.mixtures && plain.logLikelihood == same.logLikelihood)
        let shifted = distorted(data, scale: [1, 1, 1, 1], shift: [2, 0, 0, 0])
        let moved = try trainer.accumulate(model, corpus, statisticsFrom: EStepCorpus(shifted))
        #expect(moved.mixtures.map(\.occupancy) == plain.mixtures.map(\.occupancy))
        for (a, b) in zip(plain.mixtures, moved.mixtures) {
            for m in 0..<a.componentCount {
                #expect(abs(b.firstOrder[m * 4] - a.firstOrder[m * 4] - 2 * a.occupancy[m]) < 1e-3 * max(1, a.occupancy[m]))
                #expect(abs(b.firstOrder[m * 4 + 1] - a.firstOrder[m * 4 + 1]) < 1e-6)
            }
        }
    }

    @Test func theRichestTransformTheFramesSupportIsChosen() {
        let options = FMLLROptions()
        #expect(options.kind(forFrames: 10_000) == .full)
        #expect(options.kind(forFrames: options.fullMinimumFrames - 1) == .diagonal)
        #expect(options.kind(forFrames: options.diagonalMinimumFrames - 1) == .bias)
        #expect(options.kind(forFrames: options.biasMinimumFrames - 1) == FMLLRTransform.Kind.none)
    }

    @Test func aScheduleIsStretchedToTheIterations() {
        let options = FeatureTransformOptions()
        #expect(options.scheduled(for: 25) == options)
        let short = options.scheduled(for: 5)
        #expect(short.mlltIterations == [1, 2] && short.fmllrIterations == [3, 4])
        #expect(options.scheduled(for: 50).mlltIterations == [4, 8, 12, 24])
    }
}
