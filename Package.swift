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
        .library(name: "LanguageModel", targets: ["LanguageModel"]),
        .library(name: "DecodingGraphs", targets: ["DecodingGraphs"]),
        .library(name: "Distributed", targets: ["Distributed"]),
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
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),

        // Files written whole, text read alike, directories swapped in one step: no other dependency.
        .target(name: "SpeechBase"),
        // Ranks of an MPI job (mpirun, srun), or one process alone without MPI.
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "AudioIO", dependencies: ["SpeechBase", "CSndfile", "CSamplerate"]),
        .target(name: "FeatureExtraction", dependencies: ["SpeechBase", "AudioIO", "CFFTW", "Distributed"]),
        .target(name: "SpeechCorpus", dependencies: ["SpeechBase", "AudioIO"]),
        .target(name: "TensorCore", dependencies: ["SpeechBase", "CBLAS"]),
        // Float loops Swift leaves scalar, in C compiled for AVX2 and the baseline (chosen at run
        // time); no contraction into FMAs, so both give the same bits.
        .target(name: "CVectorKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off", "-fno-math-errno"])]),
        .target(name: "NeuralNet", dependencies: ["SpeechBase", "TensorCore", "Distributed", "CVectorKernels"]),
        .target(name: "GaussianMixture", dependencies: ["TensorCore"]),
        .target(name: "HiddenMarkov", dependencies: ["SpeechBase", "TensorCore"]),
        .target(name: "Evaluation", dependencies: ["SpeechBase"]),
        .target(name: "LanguageModel", dependencies: ["SpeechBase"]),
        // OpenFst through a small C shim: the library's composition, determinization, minimization.
        // OpenFst 1.7.9's headers hold template code clang rejects before instantiation (GCC
        // never checks it): delayed template parsing checks only what the shim instantiates.
        .target(name: "CFstShim", cxxSettings: [.unsafeFlags(["-fdelayed-template-parsing"])],
                linkerSettings: [.linkedLibrary("fst"), .linkedLibrary("dl")]),
        .target(name: "DecodingGraphs", dependencies: ["SpeechBase", "CFstShim", "HiddenMarkov", "LanguageModel"]),
        .target(name: "AcousticModels", dependencies: ["SpeechBase", "GaussianMixture", "HiddenMarkov", "NeuralNet", "TensorCore", "FeatureExtraction", "Evaluation", "DecodingGraphs", "LanguageModel", "Distributed"]),
        .executableTarget(
            name: "speechlab",
            dependencies: [
                "SpeechBase", "AudioIO", "FeatureExtraction", "SpeechCorpus", "AcousticModels", "Evaluation", "TensorCore", "NeuralNet", "HiddenMarkov", "LanguageModel", "DecodingGraphs", "GaussianMixture", "Distributed",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "SpeechBaseTests", dependencies: ["SpeechBase"]),
        .testTarget(name: "DistributedTests", dependencies: ["Distributed"]),
        .testTarget(name: "AudioIOTests", dependencies: ["AudioIO"]),
        .testTarget(
            name: "FeatureExtractionTests",
            dependencies: ["FeatureExtraction", "AudioIO"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "SpeechCorpusTests", dependencies: ["SpeechCorpus", "AudioIO"]),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore"]),
        .testTarget(name: "GaussianMixtureTests", dependencies: ["GaussianMixture"]),
        .testTarget(name: "HiddenMarkovTests", dependencies: ["HiddenMarkov"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "DecodingGraphsTests", dependencies: ["DecodingGraphs", "HiddenMarkov", "LanguageModel", "SpeechBase"]),
        .testTarget(name: "LanguageModelTests", dependencies: ["LanguageModel"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AcousticModelsTests", dependencies: ["AcousticModels", "FeatureExtraction", "SpeechCorpus", "AudioIO", "GaussianMixture"]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TensorCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SpeechlabCLITests", dependencies: ["speechlab", "FeatureExtraction", "AudioIO", "SpeechCorpus", "SpeechBase", "AcousticModels"], resources: [.copy("Resources")]),
    ],
    cxxLanguageStandard: .cxx17
)
