import CVectorKernels
import Foundation
import NeuralNet
import SpeechBase
import TensorCore
import Testing

/// The Float loops that run in C (Adam's step, the gradient norm, the LSTM and GRU steps):
/// the same operations as the formulas they replace, whichever target (AVX2 or baseline) runs.
@Suite struct VectorKernelTests {
    static func values(_ count: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(scale * generator.nextGaussian()) }
    }

    // 1,003 values: whole vectors and a tail; AdamW and L2 decay both.
    @Test("Adam's Float step is the scalar formula, bit for bit", arguments: [false, true])
    func adamStepIsTheScalarFormula(decoupled: Bool) {
        let count = 1003
        let start = Self.values(count, seed: 1)
        let p = Tensor<Float>(shape: [count], values: start, requiresGrad: true)
        let (lr, beta1, beta2, epsilon, decayWeight): (Float, Float, Float, Float, Float) = (0.01, 0.9, 0.999, 1e-8, 0.05)
        let adam = Adam(parameters: [p], learningRate: lr, weightDecay: decayWeight, decoupledWeightDecay: decoupled)
        var theta = start, m = [Float](repeating: 0, count: count), v = m
        for step in 1...3 {
            let grad = Self.values(count, seed: 10 + UInt64(step), scale: 0.1)
            p.grad = Tensor(shape: [count], values: grad)
            adam.step()
            let t = Float(step)
            let correction1 = 1 - Float.exp(t * Float.log(beta1)), correction2 = 1 - Float.exp(t * Float.log(beta2))
            let stepSize = lr / correction1, decay: Float = decoupled ? 1 - lr * decayWeight : 1, l2: Float = decoupled ? 0 : decayWeight
            for i in 0..<count {
                theta[i] *= decay
                let g = grad[i] + l2 * theta[i]
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                theta[i] -= stepSize * m[i] / ((v[i] / correction2).squareRoot() + epsilon)
            }
            #expect(p.values == theta, "step \(step)")
            #expect(adam.firstMoments[0] == m && adam.secondMoments[0] == v, "step \(step)")
        }
    }

    // The norm from eight interleaved partial sums: that order exactly, and the true norm
    // within Float rounding; the clip scales the gradient to the maximum.
    @Test func gradientNormSumsInEightLanes() {
        for count in [0, 5, 8, 1003] {
            let grad = Self.values(count, seed: 3, scale: 0.5)
            let p = Tensor<Float>(shape: [count], values: [Float](repeating: 0, count: count), requiresGrad: true)
            p.grad = Tensor(shape: [count], values: grad)
            var lane = [Float](repeating: 0, count: 8)
            for (i, g) in grad.enumerated() { lane[i % 8] += g * g }
            let lanes = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]))
            let exact = grad.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let norm = clipGradientNorm([p], maxNorm: 1)
            #expect(norm == lanes.squareRoot(), "\(count) values")
            #expect(abs(Double(norm) - exact) <= 1e-5 * max(exact, 1), "\(count) values")
            if exact > 1 {
                let clipped = p.grad!.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                #expect(abs(clipped - 1) < 1e-4)
            }
        }
    }

    // The forward steps in C against the same step in Swift's Float math (TensorCore's σ and
    // tanh, then the products), bit for bit; 13 units (vectors and a tail), pre-activations far
    // enough out to reach exp's clamps.
    @Test func lstmForwardStepIsTheSwiftFormulaBitForBit() {
        let h = 13
        var gates = Self.values(4 * h, seed: 21, scale: 4)
        gates[0] = 200; gates[h] = -200; gates[2 * h] = 60; gates[3 * h] = -.greatestFiniteMagnitude
        let cPrev = Self.values(h, seed: 22)
        var expected = gates
        expected.withUnsafeMutableBufferPointer { g in
            Float.sigmoid(g.baseAddress!, count: 2 * h)
            Float.tanh(g.baseAddress! + 2 * h, count: h)
            Float.sigmoid(g.baseAddress! + 3 * h, count: h)
        }
        let cNext = (0..<h).map { expected[h + $0] * cPrev[$0] + expected[$0] * expected[2 * h + $0] }
        var tanhC = cNext
        tanhC.withUnsafeMutableBufferPointer { Float.tanh($0.baseAddress!, count: h) }
        let hNext = (0..<h).map { expected[3 * h + $0] * tanhC[$0] }
        var c = [Float](repeating: .nan, count: h), t = c, out = c, copy = c
        speechlab_lstm_forward_f32(h, &gates, cPrev, &c, &t, &out, &copy)
        #expect(gates == expected && c == cNext && t == tanhC && out == hNext && copy == hNext)
    }

    @Test func gruForwardStepIsTheSwiftFormulaBitForBit() {
        let h = 13
        var gates = Self.values(3 * h, seed: 31, scale: 4)
        gates[0] = 200; gates[h] = -200; gates[2 * h] = 60
        let hidden = Self.values(3 * h, seed: 32, scale: 2), bias = Self.values(3 * h, seed: 33), hPrev = Self.values(h, seed: 34)
        var expected = gates
        for j in 0..<(2 * h) { expected[j] += hidden[j] + bias[j] }
        expected.withUnsafeMutableBufferPointer { Float.sigmoid($0.baseAddress!, count: 2 * h) }
        let hiddenN = (0..<h).map { hidden[2 * h + $0] + bias[2 * h + $0] }
        for j in 0..<h { expected[2 * h + j] += expected[j] * hiddenN[j] }
        expected.withUnsafeMutableBufferPointer { Float.tanh($0.baseAddress! + 2 * h, count: h) }
        let hNext = (0..<h).map { (1 - expected[h + $0]) * expected[2 * h + $0] + expected[h + $0] * hPrev[$0] }
        var n = [Float](repeating: .nan, count: h), out = n, copy = n
        speechlab_gru_forward_f32(h, &gates, hidden, bias, hPrev, &n, &out, &copy)
        #expect(gates == expected && n == hiddenN && out == hNext && copy == hNext)
    }

    // Float gradients (the C backward steps) against the Double ones (Swift's loops).
    @Test("LSTM and GRU Float gradients follow the Double ones", arguments: [RecurrentCell.lstm, .gru])
    func floatGradientsFollowTheDoubleOnes(cell: RecurrentCell) {
        var generator = SeededGenerator(seed: 5)
        let stackD = RecurrentStack<Double>(cell: cell, inputSize: 3, hiddenSize: 13, bidirectional: true, generator: &generator)
        let stackF = RecurrentStack<Float>(cell: cell, inputSize: 3, hiddenSize: 13, bidirectional: true, generator: &generator)
        for (f, d) in zip(stackF.parameters, stackD.parameters) { f.tensor.values = d.tensor.values.map(Float.init) }
        let input = Self.values(5 * 2 * 3, seed: 9)
        let xD = Tensor<Double>(shape: [5, 2, 3], values: input.map(Double.init), requiresGrad: true)
        let xF = Tensor<Float>(shape: [5, 2, 3], values: input, requiresGrad: true)
        stackD.run(xD, lengths: [5, 3]).output.squared().sum().backward()
        stackF.run(xF, lengths: [5, 3]).output.squared().sum().backward()
        #expect(maxAbsDifference(xF.grad, xD.grad!) < 1e-5)
        for (f, d) in zip(stackF.parameters, stackD.parameters) {
            #expect(maxAbsDifference(f.tensor.grad, d.tensor.grad!) < 1e-5, "\(cell) \(f.name)")
        }
    }
}
