import Foundation
import NeuralNet
import SpeechBase
import TensorCore
import Testing

/// Resident memory in bytes (Linux /proc/self/statm).
func residentBytes() -> Int {
    let text = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    return (Int(text.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

@Suite(.serialized) struct TrainingTests {
    /// In a child process, so that other tests' allocations do not count.
    @Test func memoryStaysFlatOverTenThousandSteps() async {
        await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            var g = SeededGenerator(seed: 1)
            let lstm = LSTM<Float>(inputSize: 3, hiddenSize: 4, generator: &g)
            let head = Linear<Float>(inputSize: 4, outputSize: 2, generator: &g)
            let optimizer = Adam(parameters: lstm.trainableParameters + head.trainableParameters, learningRate: 0.01)
            let x = Tensor<Float>.normal([5, 2, 3], generator: &g)
            var before = 0
            for step in 0..<10_000 {
                if step == 500 { before = residentBytes() }
                try! trainingStep(step: step, optimizer: optimizer, maxGradientNorm: 5) {
                    crossEntropy(head(lstm(x).hidden.reshaped([2, 4])), targets: [0, 1])
                }
            }
            let growth = residentBytes() - before
            // AddressSanitizer's quarantine holds freed memory on purpose: resident memory says
            // nothing about leaks there (its own leak checker does).
            let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
            precondition(underAddressSanitizer || growth < 2 << 20, "resident memory grew by \(growth) bytes between step 500 and 10,000")
        }.map { result in
            #expect(result.exitStatus == .exitCode(0), "\(String(decoding: result.standardErrorContent, as: UTF8.self))")
        }
    }

    @Test func trainingLearnsASmallSequenceTask() throws {
        // Classify whether a sequence's values sum above zero: needs the recurrence.
        var g = SeededGenerator(seed: 2)
        let gru = GRU<Float>(inputSize: 1, hiddenSize: 8, batchFirst: true, generator: &g)
        let head = Linear<Float>(inputSize: 8, outputSize: 2, generator: &g)
        let optimizer = Adam(parameters: gru.trainableParameters + head.trainableParameters, learningRate: 0.02)
        let x = Tensor<Float>.normal([64, 6, 1], generator: &g)
        let targets = (0..<64).map { b in x.values[(b * 6)..<(b * 6 + 6)].reduce(0, +) > 0 ? 1 : 0 }
        var first: Float = 0, last: Float = 0
        for step in 0..<150 {
            last = try trainingStep(step: step, optimizer: optimizer) {
                crossEntropy(head(gru(x).hidden.reshaped([64, 8])), targets: targets)
            }
            if step == 0 { first = last }
        }
        #expect(last < first * 0.3, "loss \(first) → \(last)")
    }

    @Test func aNonFiniteLossStopsTrainingWithItsStep() {
        let w = Tensor<Float>([1, 2], requiresGrad: true)
        let optimizer = SGD(parameters: [w], learningRate: 0.1)
        let error = #expect(throws: NonFiniteLossError.self) {
            try trainingStep(step: 17, optimizer: optimizer) { (w * .infinity).sum() }
        }
        #expect(error?.step == 17)
        #expect(w.values == [1, 2])
    }

    @Test func schedulesFollowPyTorch() {
        let step = StepSchedule<Double>(initial: 1, stepSize: 2, gamma: 0.5)
        #expect((0..<5).map { step.rate(epoch: $0) } == [1, 1, 0.5, 0.5, 0.25])
        #expect(ExponentialSchedule<Double>(initial: 2, gamma: 0.5).rate(epoch: 3) == 0.25)
        var plateau = PlateauSchedule<Double>(rate: 1, factor: 0.5, patience: 1)
        let rates = [5.0, 4, 4, 4, 3, 3, 3].map { plateau.record($0) }
        #expect(rates == [1, 1, 1, 0.5, 0.5, 0.5, 0.25])
    }

    @Test func stateDictionaryRoundTripsThroughSafetensorsAndRefusesMismatches() throws {
        var g = SeededGenerator(seed: 3)
        let a = LSTM<Float>(inputSize: 3, hiddenSize: 4, layerCount: 2, bidirectional: true, generator: &g)
        let b = LSTM<Float>(inputSize: 3, hiddenSize: 4, layerCount: 2, bidirectional: true, generator: &g)
        let path = NSTemporaryDirectory() + "speechlab-\(UUID().uuidString).safetensors"
        try Safetensors.write(a.stateDictionary(), to: path)
        try b.loadStateDictionary(try Safetensors.read(path, as: Float.self).tensors)
        let x = Tensor<Float>.normal([2, 1, 3], generator: &g)
        #expect(a(x).output.values == b(x).output.values)
        #expect(a.parameters.map(\.name).contains("weight_hh_l1_reverse"))
        let small = LSTM<Float>(inputSize: 3, hiddenSize: 5, generator: &g)
        let shape = #expect(throws: StateDictionaryError.self) { try small.loadStateDictionary(a.stateDictionary(), strict: false) }
        #expect(shape?.description.contains("weight_ih_l0") == true)
        let unexpected = #expect(throws: StateDictionaryError.self) { try small.loadStateDictionary(["nonsense": Tensor<Float>(1)]) }
        #expect(unexpected?.description.contains("nonsense") == true)
    }

    @Test func freezingKeepsParametersFixed() throws {
        var g = SeededGenerator(seed: 4)
        let lstm = LSTM<Float>(inputSize: 2, hiddenSize: 2, layerCount: 2, generator: &g)
        lstm.freeze(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
        #expect(lstm.trainableParameters.count == 4)
        let frozen = lstm.parameters[0].tensor.values, trained = lstm.parameters[4].tensor.values
        let optimizer = SGD(parameters: lstm.trainableParameters, learningRate: 0.5)
        try trainingStep(step: 0, optimizer: optimizer) { lstm(Tensor<Float>.ones([3, 1, 2])).output.sum() }
        #expect(lstm.parameters[0].tensor.values == frozen)
        #expect(lstm.parameters[4].tensor.values != trained)
    }
}

/// A small frame classifier for data-parallel tests.
final class TinyTagger: Layer {
    let gru: GRU<Double>
    let head: Linear<Double>
    var isTraining = true

    init(seed: UInt64) {
        var g = SeededGenerator(seed: seed)
        gru = GRU(inputSize: 3, hiddenSize: 5, batchFirst: true, generator: &g)
        head = Linear(inputSize: 5, outputSize: 4, generator: &g)
    }

    var parameters: [(name: String, tensor: Tensor<Double>)] { prefixed("gru", gru.parameters) + prefixed("head", head.parameters) }
}

final class Batch: @unchecked Sendable {
    let x: Tensor<Double>
    let targets: [[Int]]
    init(x: Tensor<Double>, targets: [[Int]]) { self.x = x; self.targets = targets }
}

@Suite struct DataParallelTests {
    @Test func shardedGradientsEqualWholeBatchGradients() {
        var g = SeededGenerator(seed: 5)
        let batch = Batch(x: Tensor<Double>.normal([6, 4, 3], generator: &g),
                          targets: (0..<6).map { b in (0..<4).map { (b + $0) % 4 } })
        let whole = TinyTagger(seed: 1)
        frameCrossEntropy(whole.head(whole.gru(batch.x).output), targets: batch.targets).backward()

        let master = TinyTagger(seed: 1)
        let parallel = DataParallel(master: master, workers: 2) { TinyTagger(seed: 99) }
        let loss = parallel.accumulateGradients { replica, shard in
            let rows = shard * 3..<(shard + 1) * 3
            let logits = replica.head(replica.gru(batch.x.slice(axis: 0, rows)).output)
            return frameCrossEntropy(logits, targets: Array(batch.targets[rows])) * 0.5
        }
        let expected = frameCrossEntropy(whole.head(whole.gru(batch.x).output), targets: batch.targets).item
        #expect(abs(loss - expected) < 1e-12)
        for ((name, a), (_, b)) in zip(whole.parameters, master.parameters) {
            let d = zip(a.grad!.values, b.grad!.values).map { abs($0 - $1) }.max()!
            #expect(d < 1e-12, "\(name): \(d)")
        }
    }
}

@Suite struct EpochLogTests {
    @Test func logsOfEitherNamingAreRead() throws {
        let old = #"{"epoch":2,"trainLoss":0.5,"trainFrameAccuracy":0.8,"validationLoss":0.6,"validationFrameAccuracy":0.7,"learningRate":0.002,"seconds":1.5}"#
        let entry = try JSONDecoder().decode(EpochLog.self, from: Data(old.utf8))
        #expect(entry == EpochLog(epoch: 2, trainLoss: 0.5, trainAccuracy: 0.8, validationLoss: 0.6, validationAccuracy: 0.7, learningRate: 0.002, seconds: 1.5))
        let written = String(decoding: try JSONEncoder().encode(entry), as: UTF8.self)
        #expect(written.contains("\"trainAccuracy\"") && !written.contains("Frame"))
        #expect(try JSONDecoder().decode(EpochLog.self, from: Data(written.utf8)) == entry)
    }
}
