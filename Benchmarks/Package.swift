// swift-tools-version:6.0
// Benchmarks of speechlab, kept out of the main package so that its users never build them.
// Run through scripts/bench, which also runs the peer tools in the same run.
import PackageDescription

let package = Package(
    name: "speechlab-benchmarks",
    dependencies: [.package(name: "speechlab", path: "..")],
    targets: [
        .executableTarget(
            name: "speechlab-bench",
            dependencies: [
                .product(name: "AudioIO", package: "speechlab"),
                .product(name: "FeatureExtraction", package: "speechlab"),
                .product(name: "TensorCore", package: "speechlab"),
                .product(name: "NeuralNet", package: "speechlab"),
                .product(name: "AcousticModels", package: "speechlab"),
            ]
        ),
    ]
)
