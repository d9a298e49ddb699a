// swift-tools-version:6.0
// Fuzz targets for every parser of outside input (libFuzzer). Not part of the normal build:
// scripts/fuzz builds this package with -sanitize=fuzzer,address. See scripts/fuzz.
import PackageDescription

/// Each fuzz target and the library products its parser lives in.
let targets: [String: [String]] = [
    "FuzzNumpy": ["FeatureExtraction"],
    "FuzzSafetensors": ["TensorCore"],
    "FuzzModelJSON": ["AcousticModels", "FeatureExtraction", "GaussianMixture", "HiddenMarkov", "NeuralNet"],
    "FuzzKaldiTables": ["SpeechCorpus", "FeatureExtraction"],
    "FuzzTextFormats": ["AcousticModels", "Evaluation", "FeatureExtraction"],
    "FuzzAudio": ["AudioIO"],
    "FuzzLanguageModel": ["LanguageModel", "DecodingGraphs", "SpeechCorpus"],
]

let package = Package(
    name: "speechlab-fuzz",
    dependencies: [.package(name: "speechlab", path: "..")],
    targets: [.target(name: "FuzzSupport")] + targets.keys.sorted().map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport"] + targets[name]!.map { .product(name: $0, package: "speechlab") })
    }
)
