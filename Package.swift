// swift-tools-version:6.0
// speechlab: speech modelling in Swift (features, GMM-HMM, LSTM/GRU). See docs/architecture.md.
import PackageDescription

let package = Package(
    name: "speechlab",
    products: [
        .executable(name: "speechlab", targets: ["speechlab"]),
        .library(name: "SpeechBase", targets: ["SpeechBase"]),
        .library(name: "AudioIO", targets: ["AudioIO"]),
        .library(name: "FeatureExtraction", targets: ["FeatureExtraction"]),
        .library(name: "SpeechCorpus", targets: ["SpeechCorpus"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "GaussianMixture", targets: ["GaussianMixture"]),
        .library(name: "HiddenMarkov", targets: ["HiddenMarkov"]),
        .library(name: "AcousticModels", targets: ["AcousticModels"]),
        .library(name: "Evaluation", targets: ["Evaluation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries from Debian (scripts/setup installs them).
        .systemLibrary(name: "CSndfile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSamplerate", pkgConfig: "samplerate", providers: [.apt(["libsamplerate0-dev"])]),

        // Files written whole, text read alike, directories swapped in one step: no other dependency.
        .target(name: "SpeechBase"),
        .target(name: "AudioIO", dependencies: ["SpeechBase", "CSndfile", "CSamplerate"]),
        .target(name: "FeatureExtraction", dependencies: ["SpeechBase", "AudioIO", "CFFTW"]),
        .target(name: "SpeechCorpus", dependencies: ["SpeechBase", "AudioIO"]),
        .target(name: "TensorCore", dependencies: ["SpeechBase", "CBLAS"]),
        .target(name: "NeuralNet", dependencies: ["SpeechBase", "TensorCore"]),
        .target(name: "GaussianMixture", dependencies: ["TensorCore"]),
        .target(name: "HiddenMarkov", dependencies: ["SpeechBase", "TensorCore"]),
        .target(name: "Evaluation", dependencies: ["SpeechBase"]),
        .target(name: "AcousticModels", dependencies: ["SpeechBase", "GaussianMixture", "HiddenMarkov", "NeuralNet", "TensorCore", "FeatureExtraction", "Evaluation"]),
        .executableTarget(
            name: "speechlab",
            dependencies: [
                "SpeechBase", "AudioIO", "FeatureExtraction", "SpeechCorpus", "AcousticModels", "Evaluation", "TensorCore", "NeuralNet", "HiddenMarkov",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "SpeechBaseTests", dependencies: ["SpeechBase"]),
        .testTarget(name: "AudioIOTests", dependencies: ["AudioIO"]),
        .testTarget(
            name: "FeatureExtractionTests",
            dependencies: ["FeatureExtraction", "AudioIO"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "SpeechCorpusTests", dependencies: ["SpeechCorpus"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "GaussianMixtureTests", dependencies: ["GaussianMixture"]),
        .testTarget(name: "HiddenMarkovTests", dependencies: ["HiddenMarkov"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "AcousticModelsTests", dependencies: ["AcousticModels", "FeatureExtraction", "SpeechCorpus", "AudioIO"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SpeechlabCLITests", dependencies: ["speechlab", "FeatureExtraction", "AudioIO"], resources: [.copy("Resources")]),
    ]
)
