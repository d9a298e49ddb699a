import Foundation
import SpeechBase
import TensorCore
import Testing

/// Random Double inputs for gradient checks.
func random(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1) -> Tensor<Double> {
    var generator = SeededGenerator(seed: seed)
    return Tensor<Double>.uniform(shape, low: low, high: high, generator: &generator)
}

/// Every operation's gradient against central finite differences, in Double.
@Suite struct OperationGradientTests {
    let tolerance = 1e-6

    @Test("binary operations, with and without broadcasting", arguments: ["add", "sub", "mul", "div"])
    func binary(_ op: String) {
        for (sa, sb) in [([3, 4], [3, 4]), ([2, 3, 4], [4]), ([2, 3, 4], [2, 3, 1]), ([4], [2, 4]), ([3], []), ([2, 1, 4], [3, 1])] {
            let a = random(sa, seed: 1)
            let b = random(sb, seed: 2, low: 0.5, high: 2)
            let error = GradientCheck.maximumError(inputs: [a, b]) { x in
                switch op {
                case "add": return x[0] + x[1]
                case "sub": return x[0] - x[1]
                case "mul": return x[0] * x[1]
                default: return x[0] / x[1]
                }
            }
            #expect(error < tolerance, "\(op) \(sa) \(sb): \(error)")
        }
    }

    @Test("unary operations", arguments: ["exp", "log", "sigmoid", "tanh", "relu", "sqrt", "squared", "neg", "scalars"])
    func unary(_ op: String) {
        let x = random([3, 5], seed: 3, low: op == "log" || op == "sqrt" ? 0.2 : -2, high: 2)
        let error = GradientCheck.maximumError(inputs: [x]) { x in
            switch op {
            case "exp": return x[0].exp()
            case "log": return x[0].log()
            case "sigmoid": return x[0].sigmoid()
            case "tanh": return x[0].tanh()
            case "relu": return x[0].relu()
            case "sqrt": return x[0].sqrt()
            case "squared": return x[0].squared()
            case "neg": return -x[0]
            default: return ((x[0] + 1.5) * 2 - 0.5) / 3
            }
        }
        #expect(error < tolerance, "\(op): \(error)")
    }

    @Test("matmul: plain, transposed, folded leading dimensions, batched")
    func matmul() {
        let cases: [([Int], [Int], Bool, Bool)] = [
            ([3, 4], [4, 5], false, false), ([4, 3], [4, 5], true, false), ([3, 4], [5, 4], false, true),
            ([4, 3], [5, 4], true, true), ([2, 3, 4], [4, 5], false, false), ([2, 3, 4], [5, 4], false, true),
            ([2, 3, 4], [2, 4, 5], false, false), ([2, 4, 3], [2, 5, 4], true, true),
        ]
        for (sa, sb, ta, tb) in cases {
            let error = GradientCheck.maximumError(inputs: [random(sa, seed: 4), random(sb, seed: 5)]) { x in
                x[0].matmul(x[1], transposeA: ta, transposeB: tb)
            }
            #expect(error < tolerance, "\(sa)\(ta ? "ᵀ" : "") × \(sb)\(tb ? "ᵀ" : ""): \(error)")
        }
    }

    @Test("matmul matches a direct product")
    func matmulValues() {
        let a = Tensor<Double>(rows: [[1, 2, 3], [4, 5, 6]])
        let b = Tensor<Double>(rows: [[1, 0], [0, 1], [1, 1]])
        #expect(a.matmul(b).values == [4, 5, 10, 11])
        #expect(b.matmul(a, transposeA: true, transposeB: true).values == [4, 10, 5, 11])
    }

    @Test("reductions and normalizations along each axis", arguments: ["sum", "mean", "max", "logSumExp", "softmax", "logSoftmax"])
    func reductions(_ op: String) {
        let x = random([2, 3, 4], seed: 6, low: -3, high: 3)
        for axis in [0, 1, 2, -1] {
            let error = GradientCheck.maximumError(inputs: [x]) { x in
                switch op {
                case "sum": return x[0].sum(axis: axis)
                case "mean": return x[0].mean(axis: axis, keepingDimension: true)
                case "max": return x[0].max(axis: axis)
                case "logSumExp": return x[0].logSumExp(axis: axis)
                case "softmax": return x[0].softmax(axis: axis)
                default: return x[0].logSoftmax(axis: axis)
                }
            }
            #expect(error < tolerance, "\(op) axis \(axis): \(error)")
        }
        #expect(GradientCheck.maximumError(inputs: [x]) { $0[0].sum() } < tolerance)
        #expect(GradientCheck.maximumError(inputs: [x]) { $0[0].mean() } < tolerance)
    }

    @Test("softmax and log-softmax values are normalized and stable")
    func softmaxValues() {
        let x = Tensor<Double>(rows: [[1000, 1001, 1002], [-5, 0, 5]])
        let p = x.softmax()
        #expect(abs(p.values[0..<3].reduce(0, +) - 1) < 1e-12)
        #expect(x.logSoftmax().values.allSatisfy { $0.isFinite })
        #expect(abs(x.logSumExp(axis: 1).values[0] - (1002 + log(1 + exp(-1) + exp(-2)))) < 1e-9)
    }

    @Test("shape operations", arguments: ["reshape", "transpose", "permute", "slice", "concatenate", "stack", "indexSelect", "maskedFill"])
    func shapes(_ op: String) {
        let a = random([2, 3, 4], seed: 7), b = random([2, 2, 4], seed: 8)
        let error = GradientCheck.maximumError(inputs: [a, b]) { x in
            switch op {
            case "reshape": return x[0].reshaped([6, -1]) + x[1].reshaped([4, 4]).slice(axis: 0, 0..<1).reshaped([4])
            case "transpose": return x[0].transposed(0, 2) * 2 + x[1].transposed().sum()
            case "permute": return x[0].permuted([2, 0, 1]) + x[1].sum()
            case "slice": return x[0].slice(axis: 1, 1..<3) * x[1]
            case "concatenate": return Tensor.concatenate([x[0], x[1]], axis: 1)
            case "stack": return Tensor.stack([x[0].slice(axis: 1, 0..<2), x[1]], axis: 1)
            case "indexSelect": return x[0].indexSelect(axis: 1, [2, 0, 2]) + x[1].indexSelect(axis: -1, [3, 3, 1, 0]).sum()
            default: return x[0].maskedFill([true, false, false, true], shape: [4], value: -7) + x[1].sum()
            }
        }
        #expect(error < tolerance, "\(op): \(error)")
    }

    @Test func shapeOperationValues() {
        let x = Tensor<Double>(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        #expect(x.transposed().values == [1, 4, 2, 5, 3, 6])
        #expect(x.slice(axis: 1, 1..<3).values == [2, 3, 5, 6])
        #expect(Tensor.concatenate([x, x], axis: 0).shape == [4, 3])
        #expect(Tensor.stack([x, x], axis: 1).shape == [2, 2, 3])
        #expect(x.indexSelect(axis: 0, [1, 1]).values == [4, 5, 6, 4, 5, 6])
        #expect(x.maskedFill([false, true, false], shape: [3], value: 0).values == [1, 0, 3, 4, 0, 6])
        #expect(x.max(axis: 1).values == [3, 6])
    }
}
