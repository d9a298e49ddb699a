import AcousticModels
import FeatureExtraction
import Foundation
import NeuralNet
import SpeechBase
import TensorCore

/// Wall-clock seconds.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// `speechlab-bench gemm N THREADS REPEATS`: GFLOP/s of an N×N×N sgemm through the tensor core.
func benchGEMM(size n: Int, threads: Int, repeats: Int) {
    BLAS.setThreadCount(threads)
    var g = SeededGenerator(seed: 1)
    let a = Tensor<Float>.normal([n, n], generator: &g), b = Tensor<Float>.normal([n, n], generator: &g)
    _ = a.matmul(b)
    var times: [Double] = []
    for _ in 0..<repeats {
        let start = now()
        _ = a.matmul(b)
        times.append(now() - start)
    }
    print("{\"gflops\": \(2 * Double(n * n * n) / times.sorted()[times.count / 2] / 1e9)}")
}

/// A 2-layer recurrent stack with a linear output layer: the benchmark's model.
final class FrameClassifier: Layer {
    let stack: RecurrentStack<Float>
    let head: Linear<Float>
    var isTraining = true

    init(cell: RecurrentCell, input: Int, hidden: Int, classes: Int, seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        stack = RecurrentStack(cell: cell, inputSize: input, hiddenSize: hidden, layerCount: 2, generator: &g)
        head = Linear(inputSize: hidden, outputSize: classes, generator: &g)
    }

    var parameters: [(name: String, tensor: Tensor<Float>)] {
        prefixed("rnn", stack.parameters) + prefixed("output", head.parameters)
    }
}

/// `speechlab-bench rnn-step CELL HIDDEN THREADS STEPS`: seconds per training step (forward,
/// backward, Adam) of a 2-layer LSTM or GRU (input 39, batch 32, 100 frames) with a linear
/// output layer of 48 classes and frame cross-entropy; median over STEPS after 2 warm-up steps.
/// With THREADS > 1 the batch is split across threads (data parallel, gradients summed).
func benchRecurrentStep(cell: RecurrentCell, hidden: Int, threads: Int, steps: Int) throws {
    BLAS.setThreadCount(1)
    Allocator.keepFreedMemory()
    let T = 100, B = 32, I = 39, C = 48
    let model = FrameClassifier(cell: cell, input: I, hidden: hidden, classes: C, seed: 1)
    let parallel = DataParallel(master: model, workers: threads) {
        FrameClassifier(cell: cell, input: I, hidden: hidden, classes: C, seed: 2)
    }
    let optimizer = Adam(parameters: model.trainableParameters, learningRate: 1e-3)
    var g = SeededGenerator(seed: 3)
    let x = Tensor<Float>.normal([T, B, I], generator: &g)
    let targets = (0..<(T * B)).map { _ in Int(g.next() % UInt64(C)) }
    // Shard s: batch columns [s·B/threads, (s+1)·B/threads).
    let shards: [(x: Tensor<Float>, targets: [Int], share: Float)] = (0..<threads).map { s in
        let lo = s * B / threads, hi = (s + 1) * B / threads
        let xs = x.slice(axis: 1, lo..<hi)
        let ys = (0..<T).flatMap { t in targets[(t * B + lo)..<(t * B + hi)] }
        return (xs, ys, Float(hi - lo) / Float(B))
    }
    let shardData = SendableShards(shards)
    var times: [Double] = []
    for step in 0..<(steps + 2) {
        let start = now()
        optimizer.zeroGradients()
        let loss = parallel.accumulateGradients { replica, s in
            let (xs, ys, share) = shardData.value[s]
            let logits = replica.head(replica.stack.run(xs).output)
            return crossEntropy(logits.reshaped([-1, C]), targets: ys) * share
        }
        guard loss.isFinite else { throw NonFiniteLossError(step: step, value: Double(loss)) }
        optimizer.step()
        if step >= 2 { times.append(now() - start) }
    }
    print("{\"seconds\": \(times.sorted()[times.count / 2])}")
}

final class SendableShards: @unchecked Sendable {
    let value: [(x: Tensor<Float>, targets: [Int], share: Float)]
    init(_ value: [(x: Tensor<Float>, targets: [Int], share: Float)]) { self.value = value }
}

/// `speechlab-bench export-recurrent DIR`: writes a 2-layer bidirectional LSTM and GRU (input 5,
/// hidden 4) as safetensors with PyTorch's names, with an input and our outputs, so that a
/// script can load them into `torch.nn.LSTM`/`GRU` and compare.
func exportRecurrent(to folder: String) throws {
    var g = SeededGenerator(seed: 21)
    let x = Tensor<Float>.normal([6, 3, 5], generator: &g)
    for cell in [RecurrentCell.lstm, .gru] {
        let stack = RecurrentStack<Float>(cell: cell, inputSize: 5, hiddenSize: 4, layerCount: 2, bidirectional: true, generator: &g)
        stack.isTraining = false
        let (y, h, _) = stack.run(x)
        try Safetensors.write(stack.stateDictionary(), to: "\(folder)/\(cell).safetensors")
        try Safetensors.write(["input": x, "output": y, "hidden": h], to: "\(folder)/\(cell)-io.safetensors")
    }
}

/// `speechlab-bench rnn-epoch FEATS ALIGNMENTS TEST_FEATS CELL THREADS`: one training epoch of a
/// 2-layer hybrid LSTM or GRU (hidden 128) on a feature directory with its alignments (batches
/// of 32 utterances of similar length, Adam, frame cross-entropy), then the forward pass over
/// every test utterance one at a time. Prints seconds, frames and audio seconds.
func benchRecurrentEpoch(features: String, alignments: String, test: String, cell: RecurrentCell, bidirectional: Bool = false, threads: Int) throws {
    BLAS.setThreadCount(1)
    Allocator.keepFreedMemory()
    let directory = try FeatureDirectory.open(features)
    let targets = try readAlignments(alignments + "/alignments.txt", pdfCount: 1 << 20)
    var data: [FrameTargets] = []
    var pdfs = 0
    for i in directory.entries.indices {
        guard let t = targets[directory.entries[i].id] else { continue }
        let f = try directory.features(i)
        data.append(FrameTargets(id: directory.entries[i].id, features: f.values, frames: f.frames, targets: t))
        pdfs = max(pdfs, (t.max() ?? 0) + 1)
    }
    let architecture = HybridArchitecture(cell: cell, inputSize: directory.config.dimension, hiddenSize: 128, layers: 2, bidirectional: bidirectional,
                                          dropout: 0, outputs: pdfs)
    let network = architecture.makeNetwork(seed: 1)
    var options = TrainingOptions()
    options.epochs = 1
    options.batchSize = 32
    options.workers = threads
    options.validationFraction = 0
    let start = now()
    _ = try HybridTrainer(options: options).train(network, architecture: architecture, data: data) { _, _ in }
    let training = now() - start
    let testDirectory = try FeatureDirectory.open(test)
    let utterances = try testDirectory.entries.indices.map { try testDirectory.features($0) }
    network.isTraining = false
    let decodeStart = now()
    GradMode.withoutGradients {
        for f in utterances {
            _ = network.logits(Tensor(shape: [1, f.frames, f.dimension], values: f.values), lengths: [f.frames]).logSoftmax(axis: -1)
        }
    }
    let decoding = now() - decodeStart
    let frames = data.reduce(0) { $0 + $1.frames }, testFrames = utterances.reduce(0) { $0 + $1.frames }
    print("{\"train_seconds\": \(training), \"train_frames\": \(frames), \"decode_seconds\": \(decoding), \"test_audio_seconds\": \(Double(testFrames) / 100)}")
}
