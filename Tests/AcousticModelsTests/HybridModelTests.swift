@testable import AcousticModels
import FeatureExtraction
import Foundation
import HiddenMarkov
@testable import NeuralNet
import Testing
import TensorCore

@Suite struct HybridModelTests {
    /// Perturbed copies of one recording never straddle the validation split (they would make
    /// validation a copy of training); with one utterance per recording the split is unchanged.
    @Test func validationHoldsOutWholeRecordings() {
        let architecture = HybridArchitecture(cell: .gru, inputSize: 1, hiddenSize: 2, layers: 1, bidirectional: false, dropout: 0, outputs: 2)
        func loop(grouped: Bool) -> EpochLoop<RecurrentTagger, FrameTargets, HybridArchitecture> {
            EpochLoop(options: TrainingOptions(), architecture: architecture, dataFingerprint: "", length: { $0.frames }, units: { $0.frames },
                      group: grouped ? { $0.group } : nil) { _, _ in (Tensor(shape: [1], values: [0]), 0) }
        }
        let copies = (0..<40).flatMap { r in
            ["sp0.9-", "", "sp1.1-"].map { FrameTargets(id: "\($0)r\(r)", features: [0], frames: 1, targets: [0], group: "r\(r)") }
        }
        let order = Array(copies.indices.shuffled())
        let (training, validation) = loop(grouped: true).split(copies, order: order)
        #expect(validation.count == 12 && training.count == 108)
        #expect(Set(validation.map(\.group)).isDisjoint(with: Set(training.map(\.group))))
        let originals = (0..<40).map { FrameTargets(id: "r\($0)", features: [0], frames: 1, targets: [0]) }
        let shuffled = Array(originals.indices.shuffled())
        #expect(loop(grouped: true).split(originals, order: shuffled).validation.map(\.id)
                == loop(grouped: false).split(originals, order: shuffled).validation.map(\.id))
    }

    /// Ten recordings (one take of each digit of a new voice) are all trained on, however many
    /// perturbed copies each has: holding one out would leave its word unseen by the finetuning.
    @Test func tenRecordingsWithCopiesHoldNothingOut() {
        let architecture = HybridArchitecture(cell: .gru, inputSize: 1, hiddenSize: 2, layers: 1, bidirectional: false, dropout: 0, outputs: 2)
        let loop = EpochLoop<RecurrentTagger, FrameTargets, HybridArchitecture>(
            options: TrainingOptions(), architecture: architecture, dataFingerprint: "", length: { $0.frames }, units: { $0.frames },
            group: { $0.group }) { _, _ in (Tensor(shape: [1], values: [0]), 0) }
        func copies(recordings: Int) -> [FrameTargets] {
            (0..<recordings).flatMap { r in
                ["sp0.9-", "", "sp1.1-"].map { FrameTargets(id: "\($0)r\(r)", features: [0], frames: 1, targets: [0], group: "r\(r)") }
            }
        }
        let ten = copies(recordings: 10)
        let (training, validation) = loop.split(ten, order: Array(ten.indices.shuffled()))
        #expect(validation.isEmpty && training.count == 30)
        let eleven = copies(recordings: 11)
        #expect(loop.split(eleven, order: Array(eleven.indices.shuffled())).validation.count == 3)
    }

    /// A GMM-HMM on the synthetic corpus, its alignments, and a small hybrid LSTM trained on them.
    func trainedHybrid(cell: RecurrentCell) throws -> (HybridModel, GMMHMM) {
        var options = GMMHMMTrainingOptions()
        options.statesPerUnit = 3
        options.silenceStates = 3
        options.gaussians = 2
        options.iterations = 6
        let data = syntheticCorpus(count: 60, seed: 11)
        let (gmm, _) = try GMMHMMTrainer(options: options, jobs: 2).train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        let recognizer = try Recognizer(transitions: gmm.transitions, lexicon: gmm.lexicon, vocabulary: gmm.vocabulary)
        let aligned = try data.map { ($0, try recognizer.align($0.features, words: $0.words, scorer: gmm).map(Int.init)) }
        let normalization = InputNormalization(data.map(\.features))
        let frames = aligned.map { FrameTargets(id: $0.0.id, features: normalization.apply($0.0.features), frames: $0.0.features.frames, targets: $0.1) }
        var counts = [Int](repeating: 0, count: gmm.pdfCount)
        for f in frames { for p in f.targets { counts[p] += 1 } }
        let architecture = HybridArchitecture(cell: cell, inputSize: 4, hiddenSize: 16, layers: 1, bidirectional: true, dropout: 0, outputs: gmm.pdfCount)
        let network = architecture.makeNetwork(seed: 3)
        var trainingOptions = TrainingOptions()
        trainingOptions.epochs = 25
        trainingOptions.batchSize = 8
        trainingOptions.learningRate = 0.01
        trainingOptions.workers = 2
        let log = try HybridTrainer(options: trainingOptions).train(network, architecture: architecture, data: frames) { _, _ in }
        #expect(log.last!.trainLoss < log.first!.trainLoss)
        let hmm = HMMDescription(transitions: gmm.transitions, lexicon: gmm.lexicon, vocabulary: gmm.vocabulary, features: gmm.features)
        return (HybridModel(hmm: hmm, architecture: architecture, network: network, normalization: normalization,
                            logPriors: HybridModel.logPriors(counts: counts)), gmm)
    }

    @Test("a hybrid model decodes with the GMM-HMM's graphs", arguments: [RecurrentCell.lstm, .gru])
    func hybridDecodes(_ cell: RecurrentCell) throws {
        let (hybrid, gmm) = try trainedHybrid(cell: cell)
        let recognizer = try Recognizer(transitions: gmm.transitions, lexicon: gmm.lexicon, vocabulary: gmm.vocabulary)
        let test = syntheticCorpus(count: 20, seed: 12)
        let correct = test.filter { recognizer.decode($0.features, scorer: hybrid, grammar: .loop)?.words.map(\.word) == $0.words }.count
        #expect(correct >= 18, "\(correct) of 20")
    }

    @Test func everyFamilyOpensThroughOneLoaderAndDescribesItself() throws {
        let (hybrid, gmm) = try trainedHybrid(cell: .gru)
        let root = NSTemporaryDirectory() + "speechlab-open-\(UUID().uuidString)"
        try gmm.save(to: root + "/gmm", log: [GMMHMMIterationLog(iteration: 1, logLikelihoodPerFrame: -3, gaussians: gmm.gaussianCount,
                                                                  seconds: 0.5, utterances: 1, skipped: 0)])
        try hybrid.save(to: root + "/hybrid")
        let x = syntheticCorpus(count: 1, seed: 14)[0]
        let openedGMM = try RecognitionModel.open(root + "/gmm")
        #expect(openedGMM.kind == .gmmHMM && openedGMM.hmm != nil)
        #expect(openedGMM.summary.architecture.hasPrefix("GMM-HMM, \(gmm.pdfCount) states"))
        #expect(openedGMM.summary.trainingSeconds == 0.5 && openedGMM.summary.curves.count == 1)
        let openedHybrid = try RecognitionModel.open(root + "/hybrid") { $0.beam = 50 }
        #expect(openedHybrid.kind == .hybrid && openedHybrid.hmm?.search.beam == 50)
        #expect(openedHybrid.summary.parameters == hybrid.network.parameterCount && !openedHybrid.summary.notes.isEmpty)
        #expect(openedHybrid.recognize(x.features, grammar: .loop) != nil)
    }

    @Test func theHybridRecipeRunsWithoutTheCommandLineAndResumes() throws {
        var options = GMMHMMTrainingOptions()
        (options.statesPerUnit, options.silenceStates, options.gaussians, options.iterations) = (3, 3, 1, 3)
        let data = syntheticCorpus(count: 30, seed: 15)
        let (gmm, _) = try GMMHMMTrainer(options: options, jobs: 1).train(data, lexicon: Lexicon(), features: syntheticFeatureConfig())
        let recognizer = try Recognizer(transitions: gmm.transitions, lexicon: gmm.lexicon, vocabulary: gmm.vocabulary)
        let root = NSTemporaryDirectory() + "speechlab-recipe-\(UUID().uuidString)"
        let hmm = HMMDescription(transitions: gmm.transitions, lexicon: gmm.lexicon, vocabulary: gmm.vocabulary, features: gmm.features)
        try AlignmentDirectory.write(hmm: hmm, alignments: try data.map { ($0.id, try recognizer.align($0.features, words: $0.words, scorer: gmm).map(Int.init)) },
                                     to: root + "/ali")
        var setup = RecurrentTrainingSetup()
        (setup.cell, setup.layers, setup.hiddenSize, setup.options.epochs, setup.options.batchSize, setup.options.workers) = (.gru, 1, 8, 2, 8, 1)
        let utterances = data.map { (id: $0.id, features: $0.features) }
        var epochs: [Int] = []
        _ = try NeuralRecipes.trainHybrid(setup, utterances: utterances, alignments: try AlignmentDirectory.read(root + "/ali"), out: root + "/gru",
                                          resume: false, progress: TrainingProgress(epoch: { entry, _ in epochs.append(entry.epoch) }))
        #expect(epochs == [1, 2])
        setup.options.epochs = 3
        _ = try NeuralRecipes.trainHybrid(setup, utterances: utterances, alignments: try AlignmentDirectory.read(root + "/ali"), out: root + "/gru",
                                          resume: true, progress: TrainingProgress(epoch: { entry, _ in epochs.append(entry.epoch) }))
        #expect(epochs == [1, 2, 3])
        let opened = try RecognitionModel.open(root + "/gru")
        #expect(opened.kind == .hybrid && opened.summary.trainingSeconds != nil)
        #expect(try ModelDirectory.trainingLog(root + "/gru", as: EpochLog.self).map(\.epoch) == [1, 2, 3])
    }

    @Test func modelDirectoryRoundTripsWithPyTorchNames() throws {
        let (hybrid, _) = try trainedHybrid(cell: .lstm)
        let folder = NSTemporaryDirectory() + "speechlab-hybrid-\(UUID().uuidString)"
        try hybrid.save(to: folder)
        let (back, _) = try HybridModel.load(folder)
        let x = syntheticCorpus(count: 1, seed: 13)[0].features
        #expect(back.logLikelihoods(frames: x.values, count: x.frames) == hybrid.logLikelihoods(frames: x.values, count: x.frames))
        let names = try Safetensors.read(folder + "/weights.safetensors", as: Float.self).tensors.keys.sorted()
        #expect(names.contains("rnn.weight_ih_l0") && names.contains("rnn.weight_hh_l0_reverse") && names.contains("output.weight"))
        let wrongKind = #expect(throws: ModelError.self) { try GMMHMM.load(folder) }
        #expect(wrongKind?.description.contains("hybrid") == true)
    }

    @Test func alignmentsThatDoNotFitAreNamed() throws {
        let path = NSTemporaryDirectory() + "speechlab-ali-\(UUID().uuidString).txt"
        try "u1 0 1 2\nu2 0 9\n".write(toFile: path, atomically: true, encoding: .utf8)
        let error = #expect(throws: ModelError.self) { try readAlignments(path, pdfCount: 5) }
        #expect(error?.description.contains(":2:") == true)
        try "u1 0 1\nu1 2\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ModelError.self) { try readAlignments(path, pdfCount: 5) }
    }

    @Test func alignmentDirectoriesReadBackWhatWasWritten() throws {
        let transitions = TransitionModel(units: ["a", "<sil>"], topologies: [.leftToRight(states: 2), .silence(states: 3)])
        let hmm = HMMDescription(transitions: transitions, lexicon: Lexicon(), vocabulary: ["a"], features: FeatureConfig(preset: .kaldi))
        let folder = NSTemporaryDirectory() + "speechlab-alignments-\(UUID().uuidString)"
        try AlignmentDirectory.write(hmm: hmm, alignments: [("u1", [2, 0, 0, 1, 4]), ("u2", [3])], to: folder)
        let back = try AlignmentDirectory.read(folder)
        #expect(back.hmm == hmm)
        #expect(back.alignments == ["u1": [2, 0, 0, 1, 4], "u2": [3]])
        #expect(try String(contentsOfFile: folder + "/pdfs.txt", encoding: .utf8) == "0 a 0\n1 a 1\n2 <sil> 0\n3 <sil> 1\n4 <sil> 2\n")
        try FileManager.default.removeItem(atPath: folder + "/hmm.json")
        let missing = #expect(throws: ModelError.self) { try AlignmentDirectory.read(folder) }
        #expect(missing?.description.contains("has no hmm.json") == true)
    }
}

@Suite struct HybridResumeTests {
    func setup() throws -> (HybridArchitecture, [FrameTargets]) {
        let data = syntheticCorpus(count: 30, seed: 21)
        let normalization = InputNormalization(data.map(\.features))
        // Targets: a toy frame labelling (which third of the utterance), enough to train on.
        let frames = data.map { u in
            FrameTargets(id: u.id, features: normalization.apply(u.features), frames: u.features.frames,
                         targets: (0..<u.features.frames).map { 3 * $0 / u.features.frames })
        }
        return (HybridArchitecture(cell: .gru, inputSize: 4, hiddenSize: 8, layers: 1, bidirectional: false, dropout: 0, outputs: 3), frames)
    }

    func options() -> TrainingOptions {
        var o = TrainingOptions()
        o.epochs = 5
        o.batchSize = 4
        o.learningRate = 0.01
        o.workers = 2
        o.patience = 10
        return o
    }

    @Test func anInterruptedTrainingResumesToTheSameWeights() throws {
        let (architecture, data) = try setup()
        let whole = architecture.makeNetwork(seed: 5)
        _ = try HybridTrainer(options: options()).train(whole, architecture: architecture, data: data) { _, _ in }

        let folder = NSTemporaryDirectory() + "speechlab-ckpt-\(UUID().uuidString)"
        let first = architecture.makeNetwork(seed: 5)
        #expect(throws: Interrupted.self) {
            try HybridTrainer(options: options()).train(first, architecture: architecture, data: data, checkpoint: folder) { entry, _ in
                if entry.epoch == 2 { throw Interrupted() }
            }
        }
        // The interruption came before epoch 2's checkpoint: resume from epoch 1's.
        let resumed = architecture.makeNetwork(seed: 99)
        let log = try HybridTrainer(options: options()).train(resumed, architecture: architecture, data: data, checkpoint: folder, resume: true) { _, _ in }
        #expect(log.map(\.epoch) == [1, 2, 3, 4, 5])
        for ((name, a), (_, b)) in zip(whole.parameters, resumed.parameters) {
            #expect(a.values == b.values, "\(name)")
        }
    }

    // At 0.01 the toy network still improves every epoch and the mean of its last three lags
    // behind the last; at 0.1 it has settled and wanders, and the mean of three beats them.
    @Test("averaging keeps the mean of the best epochs' weights only if it validates better",
          arguments: [(Float(0.01), false), (0.1, true)])
    func averagingKeepsTheMeanOfTheBestEpochs(learningRate: Float, keeps: Bool) throws {
        let (architecture, data) = try setup()
        var o = options()
        o.averagedEpochs = 3
        o.learningRate = learningRate
        o.epochs = 12
        let network = architecture.makeNetwork(seed: 5)
        var epochs: [(epoch: Int, loss: Double, weights: [[Float]])] = []
        var reported: [EpochAverage] = []
        _ = try HybridTrainer(options: o).train(network, architecture: architecture, data: data, onEpoch: { entry, _ in
            epochs.append((entry.epoch, entry.validationLoss, network.parameters.map(\.tensor.values)))
        }, onAverage: { reported.append($0) })
        #expect(epochs.count == 12 && reported.count == 1)
        let best = epochs.sorted { $0.loss < $1.loss }.prefix(3)
        let average = try #require(reported.first)
        #expect(average.kept == keeps)
        #expect(average.epochs == best.map(\.epoch).sorted())
        #expect(average.kept == (average.validationLoss < best.first!.loss))
        for (k, (name, tensor)) in network.parameters.enumerated() {
            // Kept: the mean of the three epochs' weights; else the last epoch's, as without averaging.
            let expected = average.kept
                ? (0..<tensor.count).map { i in best.reduce(Float(0)) { $0 + $1.weights[k][i] } / 3 }
                : epochs.last!.weights[k]
            #expect(zip(tensor.values, expected).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "\(name)")
        }
    }

    @Test func anInterruptedAveragingTrainingResumesToTheSameAverage() throws {
        let (architecture, data) = try setup()
        var o = options()
        o.averagedEpochs = 3
        let whole = architecture.makeNetwork(seed: 5)
        var wholeAverage: EpochAverage?
        _ = try HybridTrainer(options: o).train(whole, architecture: architecture, data: data, onEpoch: { _, _ in }, onAverage: { wholeAverage = $0 })

        let folder = NSTemporaryDirectory() + "speechlab-ckpt-\(UUID().uuidString)"
        #expect(throws: Interrupted.self) {
            try HybridTrainer(options: o).train(architecture.makeNetwork(seed: 5), architecture: architecture, data: data, checkpoint: folder) { entry, _ in
                if entry.epoch == 4 { throw Interrupted() }
            }
        }
        // Epoch 3's checkpoint holds the three epochs' weights kept so far.
        let resumed = architecture.makeNetwork(seed: 99)
        var resumedAverage: EpochAverage?
        _ = try HybridTrainer(options: o).train(resumed, architecture: architecture, data: data, checkpoint: folder, resume: true,
                                                onEpoch: { _, _ in }, onAverage: { resumedAverage = $0 })
        #expect(resumedAverage != nil && resumedAverage == wholeAverage)
        for ((name, a), (_, b)) in zip(whole.parameters, resumed.parameters) { #expect(a.values == b.values, "\(name)") }
    }

    @Test func aCheckpointOfAnotherArchitectureIsRefused() throws {
        let (architecture, data) = try setup()
        let folder = NSTemporaryDirectory() + "speechlab-ckpt-\(UUID().uuidString)"
        var o = options()
        o.epochs = 1
        _ = try HybridTrainer(options: o).train(architecture.makeNetwork(seed: 1), architecture: architecture, data: data, checkpoint: folder) { _, _ in }
        var other = architecture
        other.hiddenSize = 12
        let error = #expect(throws: TrainingError.self) {
            try HybridTrainer(options: o).train(other.makeNetwork(seed: 1), architecture: other, data: data, checkpoint: folder, resume: true) { _, _ in }
        }
        #expect(error?.description.contains("another architecture") == true)
    }

    @Test func aDivergingTrainingStopsWithItsEpochAndStep() throws {
        let (architecture, data) = try setup()
        var o = options()
        o.learningRate = .infinity
        let error = #expect(throws: TrainingDivergedError.self) {
            try HybridTrainer(options: o).train(architecture.makeNetwork(seed: 1), architecture: architecture, data: data) { _, _ in }
        }
        #expect(error?.epoch == 1 && error?.description.contains("step") == true)
    }
}

@Suite struct ClassifierTests {
    @Test("a classifier learns single words with each pooling", arguments: Pooling.allCases)
    func learnsWords(_ pooling: Pooling) throws {
        let data = syntheticCorpus(count: 60, seed: 31).filter { $0.words.count == 1 }
        let words = Set(data.map { $0.words[0] }).sorted()
        let normalization = InputNormalization(data.map(\.features))
        let architecture = ClassifierArchitecture(cell: .gru, inputSize: 4, hiddenSize: 12, layers: 1, bidirectional: true, dropout: 0,
                                                  pooling: pooling, words: words)
        let model = UtteranceClassifier(architecture: architecture, normalization: normalization, features: syntheticFeatureConfig(), seed: 2)
        var options = TrainingOptions()
        options.epochs = 15
        options.batchSize = 6
        options.learningRate = 0.02
        options.workers = 2
        options.validationFraction = 0
        let labelled = data.map { LabelledUtterance(features: normalization.apply($0.features), frames: $0.features.frames, label: words.firstIndex(of: $0.words[0])!) }
        _ = try ClassifierTrainer(options: options).train(model, data: labelled) { _, _ in }
        model.isTraining = false
        let test = syntheticCorpus(count: 30, seed: 32).filter { $0.words.count == 1 }
        let correct = test.filter { model.classify($0.features).word == $0.words[0] }.count
        #expect(correct == test.count, "\(pooling): \(correct) of \(test.count)")
        let folder = NSTemporaryDirectory() + "speechlab-clf-\(UUID().uuidString)"
        try model.save(to: folder)
        let back = try UtteranceClassifier.load(folder)
        #expect(back.classify(test[0].features).logProbabilities == model.classify(test[0].features).logProbabilities)
    }
}

@Suite struct ClassifierResumeTests {
    @Test func anInterruptedClassifierTrainingResumesToTheSameWeights() throws {
        let data = syntheticCorpus(count: 40, seed: 41).filter { $0.words.count == 1 }
        let words = Set(data.map { $0.words[0] }).sorted()
        let normalization = InputNormalization(data.map(\.features))
        let architecture = ClassifierArchitecture(cell: .lstm, inputSize: 4, hiddenSize: 6, layers: 1, bidirectional: false, dropout: 0,
                                                  pooling: .mean, words: words)
        let labelled = data.map { LabelledUtterance(features: normalization.apply($0.features), frames: $0.features.frames, label: words.firstIndex(of: $0.words[0])!) }
        var options = TrainingOptions()
        options.epochs = 4
        options.batchSize = 4
        options.workers = 2
        options.patience = 10
        func fresh() -> UtteranceClassifier { UtteranceClassifier(architecture: architecture, normalization: normalization, features: syntheticFeatureConfig(), seed: 3) }
        let whole = fresh()
        _ = try ClassifierTrainer(options: options).train(whole, data: labelled) { _, _ in }
        let folder = NSTemporaryDirectory() + "speechlab-clf-ckpt-\(UUID().uuidString)"
        #expect(throws: Interrupted.self) {
            try ClassifierTrainer(options: options).train(fresh(), data: labelled, checkpoint: folder) { entry, _ in
                if entry.epoch == 3 { throw Interrupted() }
            }
        }
        let resumed = fresh()
        _ = try ClassifierTrainer(options: options).train(resumed, data: labelled, checkpoint: folder, resume: true) { _, _ in }
        for ((name, a), (_, b)) in zip(whole.parameters, resumed.parameters) { #expect(a.values == b.values, "\(name)") }
    }
}
