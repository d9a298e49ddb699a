import Foundation
import SpeechBase
import TensorCore
import Testing

@Suite struct AutogradTests {
    @Test func gradientsAccumulateUntilZeroed() {
        let w = Tensor<Double>([1, 2, 3], requiresGrad: true)
        (w * w).sum().backward()
        #expect(w.grad?.values == [2, 4, 6])
        (w * 3).sum().backward()
        #expect(w.grad?.values == [5, 7, 9])
        w.zeroGrad()
        #expect(w.grad == nil)
    }

    @Test func aTensorUsedTwiceGetsBothGradients() {
        let x = Tensor<Double>([2], requiresGrad: true)
        let y = x * x + x.exp()  // dy/dx = 2x + e^x
        y.sum().backward()
        #expect(abs(x.grad!.values[0] - (4 + exp(2))) < 1e-12)
    }

    @Test func noGradientModeRecordsNothing() {
        let w = Tensor<Double>([1, 2], requiresGrad: true)
        let y = GradMode.withoutGradients { (w * 2).sum() }
        #expect(!y.requiresGrad && y.isLeaf)
        #expect(GradMode.isEnabled)
        #expect((w * 2).sum().requiresGrad)
    }

    @Test func frozenParametersGetNoGradient() {
        let frozen = Tensor<Double>([1, 2])
        let trained = Tensor<Double>([3, 4], requiresGrad: true)
        (frozen * trained).sum().backward()
        #expect(frozen.grad == nil)
        #expect(trained.grad?.values == [1, 2])
    }

    @Test func gradientModeIsPerThread() async {
        let other = await Task.detached { GradMode.isEnabled }.value
        let inside = GradMode.withoutGradients { GradMode.isEnabled }
        #expect(other && !inside && GradMode.isEnabled)
    }

    @Test func deepChainsDoNotOverflowTheStack() {
        let x = Tensor<Double>([1], requiresGrad: true)
        var y = x
        for _ in 0..<20_000 { y = y * 1.0001 }
        y.sum().backward()
        #expect(abs(x.grad!.values[0] - pow(1.0001, 20_000)) < 1e-6)
    }

    @Test func floatAndDoubleAgree() {
        let d = random([4, 6], seed: 11)
        let f: Tensor<Float> = d.converted()
        let yd = d.matmul(d, transposeB: true).tanh().softmax()
        let yf = f.matmul(f, transposeB: true).tanh().softmax()
        #expect(zip(yd.values, yf.values).allSatisfy { abs($0 - Double($1)) < 1e-6 })
    }

    @Test func seededGeneratorsRepeat() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42)
        #expect(Tensor<Float>.normal([10], generator: &a).values == Tensor<Float>.normal([10], generator: &b).values)
        var c = SeededGenerator(seed: 1)
        let n = Tensor<Double>.normal([20_000], mean: 2, std: 3, generator: &c)
        let mean = n.values.reduce(0, +) / 20_000
        let variance = n.values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20_000
        #expect(abs(mean - 2) < 0.1 && abs(variance.squareRoot() - 3) < 0.1)
    }

    @Test func shapeMismatchNamesTheOperationAndBothShapes() async {
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>.zeros([2, 3]) + Tensor<Float>.zeros([4])
        }.map { result in
            let text = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(text.contains("add") && text.contains("[2, 3]") && text.contains("[4]"))
        }
        await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor<Float>.zeros([2, 3]).matmul(Tensor<Float>.zeros([2, 3]))
        }.map { result in
            let text = String(decoding: result.standardErrorContent, as: UTF8.self)
            #expect(text.contains("matmul") && text.contains("[2, 3]"))
        }
    }
}

@Suite struct VectorMathTests {
    @Test func vectorLogMatchesLibmOverTheFloatRange() {
        var inputs: [Float] = [1, 2, 0.5, 0.70710677, 0.7071068, 1e-30, Float(1e-40 as Double), Float.leastNonzeroMagnitude, Float.greatestFiniteMagnitude, 3.3e38, 1.0000001, 0.9999999]
        var x: Float = 1e-37
        while x < 1e37 { inputs.append(x); x *= 1.37 }
        var values = inputs
        values.withUnsafeMutableBufferPointer { Float.log($0.baseAddress!, count: $0.count) }
        for (input, value) in zip(inputs, values) {
            let expected = Foundation.log(Double(input))
            #expect(abs(Double(value) - expected) <= 2e-7 * max(1, abs(expected)), "log \(input): \(value) vs \(expected)")
        }
        var special: [Float] = [0, -1, .infinity, .nan]
        special.withUnsafeMutableBufferPointer { Float.log($0.baseAddress!, count: $0.count) }
        #expect(special[0] == -.infinity && special[1].isNaN && special[2] == .infinity && special[3].isNaN)
    }
}
