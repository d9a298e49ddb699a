import AcousticModels
import FeatureExtraction
import Foundation
import FuzzSupport
import GaussianMixture
import HiddenMarkov
import NeuralNet

/// `model.json` of every family and `hmm.json`: each input is tried as the description of a
/// GMM-HMM, a hybrid and a classifier (beside weights that fit the seed models), and as an
/// alignment directory's `hmm.json`; whatever loads is used to decode a few frames, since a
/// description that loads must never crash the decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        for directory in Templates.shared.directories {
            try? data.write(to: URL(fileURLWithPath: directory + "/model.json"))
        }
        if let (model, search) = try? GMMHMM.load(Templates.shared.directories[0]) {
            decode(model.transitions, model.lexicon, model.vocabulary, search, scorer: model, dimension: model.dimension)
        }
        if let (model, search) = try? HybridModel.load(Templates.shared.directories[1]), let transitions = try? model.hmm.transitionModel() {
            decode(transitions, model.hmm.lexicon, model.hmm.vocabulary, search, scorer: model, dimension: model.architecture.inputSize)
        }
        if let classifier = try? UtteranceClassifier.load(Templates.shared.directories[2]), classifier.architecture.inputSize <= 64 {
            _ = classifier.classify(FeatureMatrix(frames: 5, dimension: classifier.architecture.inputSize))
        }
        let hmm = try JSONDecoder().decode(HMMDescription.self, from: data)
        decode(try hmm.transitionModel(), hmm.lexicon, hmm.vocabulary, SearchOptions(), scorer: nil, dimension: 0)
    }
}

/// Builds the decoding graphs and, with a scorer, decodes 8 frames of zeros with both grammars.
func decode(_ transitions: TransitionModel, _ lexicon: Lexicon, _ vocabulary: [String], _ search: SearchOptions,
            scorer: (any AcousticScorer)?, dimension: Int) {
    guard let recognizer = try? Recognizer(transitions: transitions, lexicon: lexicon, vocabulary: vocabulary, options: search),
          let scorer, dimension <= 64 else { return }
    for grammar in [Grammar.isolated, .loop] {
        _ = recognizer.decode(FeatureMatrix(frames: 8, dimension: dimension), scorer: scorer, grammar: grammar)
    }
}

/// Model directories of each family whose weights fit the seed descriptions.
final class Templates: @unchecked Sendable {
    static let shared = Templates()
    let directories: [String]
    let seeds: [String: Data]

    init() {
        let root = NSTemporaryDirectory() + "speechlab-fuzz-models-\(getpid())"
        directories = ["gmm-hmm", "hybrid", "classifier"].map { root + "/" + $0 }
        var features = FeatureConfig(preset: .kaldi)
        features.deltaOrder = 0
        let D = features.dimension
        let transitions = TransitionModel(units: ["a", "b", "<sil>"], topologies: [.leftToRight(states: 2), .leftToRight(states: 2), .silence(states: 3)])
        let lexicon = Lexicon(pronunciations: [:])
        let gmm = GMMHMM(transitions: transitions,
                         mixtures: (0..<transitions.pdfCount).map { s in DiagonalGMM(mean: (0..<D).map { Double($0 + s) / 10 }, variance: [Double](repeating: 1, count: D)) },
                         lexicon: lexicon, vocabulary: ["a", "b"], features: features)
        try! gmm.save(to: directories[0])
        let architecture = HybridArchitecture(cell: .gru, inputSize: D, hiddenSize: 3, layers: 1, bidirectional: false, dropout: 0, outputs: transitions.pdfCount)
        let normalization = InputNormalization([FeatureMatrix(frames: 2, dimension: D, values: (0..<(2 * D)).map { Float($0 % 7) })])
        let hybrid = HybridModel(hmm: HMMDescription(transitions: transitions, lexicon: lexicon, vocabulary: ["a", "b"], features: features),
                                 architecture: architecture, network: architecture.makeNetwork(seed: 1), normalization: normalization,
                                 logPriors: HybridModel.logPriors(counts: [Int](repeating: 1, count: transitions.pdfCount)))
        try! hybrid.save(to: directories[1])
        let classifier = UtteranceClassifier(architecture: ClassifierArchitecture(cell: .lstm, inputSize: D, hiddenSize: 3, layers: 1, bidirectional: true,
                                                                                  dropout: 0, pooling: .attention, words: ["a", "b"]),
                                             normalization: normalization, features: features, seed: 1)
        try! classifier.save(to: directories[2])
        var seeds: [String: Data] = [:]
        for directory in directories {
            seeds[(directory as NSString).lastPathComponent + ".json"] = FileManager.default.contents(atPath: directory + "/model.json")!
        }
        let encoder = JSONEncoder()
        seeds["hmm.json"] = try! encoder.encode(hybrid.hmm)
        self.seeds = seeds
    }
}

@_cdecl("FuzzModelJSON_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked(Templates.shared.seeds)
    return runFuzzer(argc, argv, testOneInput)
}
