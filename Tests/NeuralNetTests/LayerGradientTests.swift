import Foundation
import NeuralNet
import SpeechBase
import TensorCore
import Testing

func random(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Tensor<Double> {
    var generator = SeededGenerator(seed: seed)
    return Tensor<Double>.uniform(shape, low: low, high: high, generator: &generator)
}

/// Every layer's gradients (inputs and parameters) against central finite differences, in Double.
@Suite struct LayerGradientTests {
    let tolerance = 1e-6

    /// Checks the gradients of `f` with respect to `input` and every parameter of `layer`.
    func check<L: Layer>(_ layer: L, input: Tensor<Double>, _ f: (Tensor<Double>) -> Tensor<Double>) -> Double where L.Scalar == Double {
        let parameters = layer.parameters.map(\.tensor)
        return GradientCheck.maximumError(inputs: [input] + parameters) { xs in f(xs[0]) }
    }

    @Test func linear() {
        var g = SeededGenerator(seed: 1)
        let layer = Linear<Double>(inputSize: 4, outputSize: 3, generator: &g)
        #expect(check(layer, input: random([2, 5, 4], seed: 2)) { layer($0) } < tolerance)
    }

    @Test func normalizations() {
        let norm = LayerNorm<Double>(features: 4)
        norm.weight.values = [0.5, 1, 1.5, 2]
        #expect(check(norm, input: random([3, 4], seed: 3)) { norm($0) } < tolerance)
        let bn = BatchNorm1d<Double>(features: 3)
        #expect(check(bn, input: random([6, 3], seed: 4)) { bn($0) } < tolerance)
        bn.isTraining = false
        #expect(check(bn, input: random([6, 3], seed: 4)) { bn($0) } < tolerance)
    }

    @Test func dropoutAndDropConnectWithAFixedMask() {
        // A fresh generator per call keeps the mask fixed across finite-difference evaluations.
        let x = random([4, 5], seed: 5), w = random([5, 3], seed: 6)
        let error = GradientCheck.maximumError(inputs: [x, w]) { xs in
            var generator = SeededGenerator(seed: 9)
            let dropped = xs[0] * dropoutMask(shape: [4, 5], probability: 0.3, generator: &generator)
            return dropped.matmul(dropConnect(xs[1], probability: 0.5, generator: &generator))
        }
        #expect(error < tolerance)
        let layer = Dropout<Double>(probability: 0.5, seed: 3)
        let y = layer(Tensor<Double>.ones([1000]))
        #expect(Set(y.values) == [0, 2])
        layer.isTraining = false
        #expect(layer(Tensor<Double>.ones([10])).values == [Double](repeating: 1, count: 10))
    }

    @Test("recurrent stacks", arguments: [
        (RecurrentCell.lstm, 1, false, false), (.lstm, 2, true, false), (.lstm, 2, true, true),
        (.gru, 1, false, true), (.gru, 2, true, false),
    ])
    func recurrent(cell: RecurrentCell, layers: Int, bidirectional: Bool, batchFirst: Bool) {
        var g = SeededGenerator(seed: 10)
        let stack = RecurrentStack<Double>(cell: cell, inputSize: 3, hiddenSize: 4, layerCount: layers,
                                           bidirectional: bidirectional, batchFirst: batchFirst, generator: &g)
        let x = random(batchFirst ? [3, 5, 3] : [5, 3, 3], seed: 11)
        let lengths = [5, 2, 4]
        let error = check(stack, input: x) { x in
            let (y, h, _) = stack.run(x, lengths: lengths)
            return Tensor.concatenate([y.reshaped([-1]), h.reshaped([-1])], axis: 0)
        }
        #expect(error < tolerance, "\(cell) layers \(layers) bidirectional \(bidirectional): \(error)")
    }

    @Test func recurrentInitialStatesGetGradients() {
        var g = SeededGenerator(seed: 12)
        let stack = RecurrentStack<Double>(cell: .lstm, inputSize: 2, hiddenSize: 3, layerCount: 2, bidirectional: true, generator: &g)
        let x = random([4, 2, 2], seed: 13), h0 = random([4, 2, 3], seed: 14), c0 = random([4, 2, 3], seed: 15)
        let error = GradientCheck.maximumError(inputs: [x, h0, c0]) { xs in
            stack.run(xs[0], lengths: [4, 3], initialHidden: xs[1], initialCell: xs[2]).output
        }
        #expect(error < tolerance)
    }

    @Test func recurrentDropConnectUsesOneMaskPerCall() {
        var g = SeededGenerator(seed: 16)
        let lstm = LSTM<Double>(inputSize: 2, hiddenSize: 3, generator: &g)
        lstm.stack.recurrentDropConnect = 0.5
        let x = random([3, 1, 2], seed: 17)
        let a = lstm(x).output.values, b = lstm(x).output.values
        #expect(a != b)  // new mask each call in training
        lstm.isTraining = false
        #expect(lstm(x).output.values == lstm(x).output.values)
    }

    @Test func paddingDoesNotChangeAShorterSequence() {
        var g = SeededGenerator(seed: 18)
        let gru = GRU<Double>(inputSize: 2, hiddenSize: 3, bidirectional: true, batchFirst: true, generator: &g)
        let long = random([1, 6, 2], seed: 19)
        let alone = gru(long.slice(axis: 1, 0..<3), lengths: [3])
        let padded = gru(long, lengths: [3])
        #expect(maxDifference(padded.output.slice(axis: 1, 0..<3), alone.output) < 1e-12)
        #expect(padded.output.slice(axis: 1, 3..<6).values.allSatisfy { $0 == 0 })
        #expect(maxDifference(padded.hidden, alone.hidden) < 1e-12)
    }

    @Test func poolingAndLosses() {
        var g = SeededGenerator(seed: 20)
        let pooling = AttentionPooling<Double>(features: 4, generator: &g)
        let x = random([3, 5, 4], seed: 21)
        #expect(check(pooling, input: x) { pooling($0, lengths: [5, 2, 3]).pooled } < tolerance)
        let weights = pooling(x, lengths: [5, 2, 3]).weights
        #expect(weights.values[5 + 2..<10].allSatisfy { $0 == 0 })
        #expect(GradientCheck.maximumError(inputs: [x]) { meanPooling($0[0], lengths: [5, 2, 3]) } < tolerance)
        #expect(GradientCheck.maximumError(inputs: [x]) { lastStep($0[0], lengths: [5, 2, 3]) } < tolerance)
        let logits = random([4, 3], seed: 22, low: -3, high: 3)
        #expect(GradientCheck.maximumError(inputs: [logits]) {
            crossEntropy($0[0], targets: [2, -100, 0, 1], classWeights: [1, 2, 0.5])
        } < tolerance)
        let frames = random([2, 3, 4], seed: 23)
        #expect(GradientCheck.maximumError(inputs: [frames]) { frameCrossEntropy($0[0], targets: [[1, 2, 3], [0]]) } < tolerance)
    }
}

func maxDifference(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
    a.shape == b.shape ? zip(a.values, b.values).map { abs($0 - $1) }.max() ?? 0 : .infinity
}
