import Foundation
import NeuralNet
import SpeechBase
import TensorCore
import Testing

/// Fixtures made by scripts/make-fixtures with PyTorch (float64); see make_tensor_fixtures.py.
enum TorchFixtures {
    /// Read afresh for each use: tensors are mutable references, so tests must not share them.
    static var tensors: [String: Tensor<Double>] {
        let path = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("torch_parity.safetensors").path
        return try! Safetensors.read(path, as: Double.self).tensors
    }

    static func get<S: TensorScalar>(_ name: String, as: S.Type = S.self) -> Tensor<S> {
        guard let t = tensors[name] else { fatalError("fixture has no tensor \(name)") }
        return t.converted(to: S.self)
    }
}

func maxAbsDifference<A: TensorScalar, B: TensorScalar>(_ a: Tensor<A>?, _ b: Tensor<B>) -> Double {
    guard let a, a.shape == b.shape else { return .infinity }
    return zip(a.values, b.values).map { abs(Double($0) - Double($1)) }.max() ?? 0
}

/// Forward and backward parity with PyTorch on fixed weights and inputs: max |Δ| ≤ 1e-5 in
/// Float (and ≤ 1e-10 in Double) on outputs and gradients.
@Suite struct TorchParityTests {
    func recurrent<S: TensorScalar>(_ prefix: String, cell: RecurrentCell, batchFirst: Bool, _: S.Type) -> [(String, Double)] {
        let f = { (name: String) -> Tensor<S> in TorchFixtures.get("\(prefix).\(name)") }
        let x = f("input")
        x.requiresGrad = true
        let lengths = f("lengths").values.map { Int($0) }
        var generator = SeededGenerator(seed: 1)
        let stack = RecurrentStack<S>(cell: cell, inputSize: 5, hiddenSize: 4, layerCount: 2, bidirectional: true,
                                      batchFirst: batchFirst, generator: &generator)
        var dictionary: [String: Tensor<S>] = [:]
        for (name, _) in stack.parameters { dictionary[name] = f("param." + name) }
        try! stack.loadStateDictionary(dictionary)
        let (y, h, c) = stack.run(x, lengths: lengths)
        ((y * f("output_weights")).sum() + (h * f("hidden_weights")).sum()).backward()
        var differences = [("output", maxAbsDifference(y, f("output"))), ("hidden", maxAbsDifference(h, f("hidden"))),
                           ("grad.input", maxAbsDifference(x.grad, f("grad.input")))]
        if let c { differences.append(("cell", maxAbsDifference(c, f("cell")))) }
        for (name, p) in stack.parameters { differences.append(("grad." + name, maxAbsDifference(p.grad, f("grad." + name)))) }
        return differences
    }

    @Test("LSTM and GRU: 2 layers, bidirectional, padded batch", arguments: ["lstm", "gru"])
    func recurrentLayers(_ name: String) {
        let cell: RecurrentCell = name == "lstm" ? .lstm : .gru
        let batchFirst = name == "gru"
        for (what, d) in recurrent(name, cell: cell, batchFirst: batchFirst, Float.self) {
            #expect(d <= 1e-5, "\(name) Float \(what): \(d)")
        }
        for (what, d) in recurrent(name, cell: cell, batchFirst: batchFirst, Double.self) {
            #expect(d <= 1e-10, "\(name) Double \(what): \(d)")
        }
    }

    @Test func linearLayerNormCrossEntropy() throws {
        let f = { (name: String) -> Tensor<Float> in TorchFixtures.get("head.\(name)") }
        var generator = SeededGenerator(seed: 2)
        let linear = Linear<Float>(inputSize: 6, outputSize: 4, generator: &generator)
        let norm = LayerNorm<Float>(features: 4)
        try linear.loadStateDictionary(["weight": f("param.linear.weight"), "bias": f("param.linear.bias")])
        try norm.loadStateDictionary(["weight": f("param.norm.weight"), "bias": f("param.norm.bias")])
        let x = f("input")
        x.requiresGrad = true
        let logits = norm(linear(x))
        let loss = crossEntropy(logits, targets: f("targets").values.map { Int($0) }, classWeights: f("class_weights").values)
        loss.backward()
        #expect(maxAbsDifference(logits, f("logits")) <= 1e-5)
        #expect(abs(Double(loss.item) - Double(f("loss").values[0])) <= 1e-5)
        #expect(maxAbsDifference(x.grad, f("grad.input")) <= 1e-5)
        #expect(maxAbsDifference(linear.weight.grad, f("grad.linear.weight")) <= 1e-5)
        #expect(maxAbsDifference(linear.bias!.grad, f("grad.linear.bias")) <= 1e-5)
        #expect(maxAbsDifference(norm.weight.grad, f("grad.norm.weight")) <= 1e-5)
        #expect(maxAbsDifference(norm.bias.grad, f("grad.norm.bias")) <= 1e-5)
    }

    @Test func batchNormTrainingStepAndRunningStatistics() {
        let f = { (name: String) -> Tensor<Float> in TorchFixtures.get("bn.\(name)") }
        let bn = BatchNorm1d<Float>(features: 3)
        let x = f("input")
        x.requiresGrad = true
        let y = bn(x)
        (y * f("output_weights")).sum().backward()
        #expect(maxAbsDifference(y, f("output")) <= 1e-5)
        #expect(maxAbsDifference(x.grad, f("grad.input")) <= 1e-5)
        #expect(maxAbsDifference(bn.weight.grad, f("grad.weight")) <= 1e-5)
        #expect(maxAbsDifference(bn.bias.grad, f("grad.bias")) <= 1e-5)
        #expect(maxAbsDifference(bn.runningMean, f("running_mean")) <= 1e-6)
        #expect(maxAbsDifference(bn.runningVariance, f("running_var")) <= 1e-6)
    }

    @Test("optimizers: three steps match torch.optim", arguments: ["sgd", "adam", "adamw"])
    func optimizers(_ name: String) {
        let p = TorchFixtures.get("optim.start", as: Double.self)
        p.requiresGrad = true
        let target = TorchFixtures.get("optim.target", as: Double.self)
        let scale = Tensor<Double>(shape: [4, 3], values: (1...12).map(Double.init))
        let optimizer: any Optimizer = switch name {
        case "sgd": SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01)
        case "adam": Adam(parameters: [p], learningRate: 0.05, weightDecay: 0.01)
        default: Adam.adamW(parameters: [p], learningRate: 0.05, weightDecay: 0.1)
        }
        for _ in 0..<3 {
            p.zeroGrad()
            ((p - target).squared() * scale).sum().backward()
            optimizer.step()
        }
        #expect(maxAbsDifference(p, TorchFixtures.get("optim.\(name)", as: Double.self)) <= 1e-10)
    }
}
