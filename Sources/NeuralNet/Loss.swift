import TensorCore

/// Cross-entropy of logits against class indices, with optional class weights and an ignored
/// index (PyTorch's `F.cross_entropy`, reduction `mean`): `Σ_i w[y_i] · −log softmax(x_i)[y_i] / Σ_i w[y_i]`
/// over the rows whose target is not `ignoreIndex`. One fused node (log-softmax and NLL).
///
/// - Parameters:
///   - logits: `[N, C]`.
///   - targets: `N` class indices in `0..<C`, or `ignoreIndex`.
@inlinable
public func crossEntropy<Scalar: TensorScalar>(_ logits: Tensor<Scalar>, targets: [Int], classWeights: [Scalar]? = nil,
                                               ignoreIndex: Int = -100) -> Tensor<Scalar> {
    precondition(logits.rank == 2 && logits.shape[0] == targets.count,
                 "crossEntropy: logits \(logits.shape) and \(targets.count) targets do not match ([N, C] and N)")
    let N = logits.shape[0], C = logits.shape[1]
    if let classWeights { precondition(classWeights.count == C, "crossEntropy: \(classWeights.count) class weights for \(C) classes") }
    precondition(targets.allSatisfy { $0 == ignoreIndex || (0..<C).contains($0) }, "crossEntropy: a target is outside 0..<\(C)")
    var probabilities = [Scalar](repeating: 0, count: N * C)
    var total: Scalar = 0, weightSum: Scalar = 0
    logits.values.withUnsafeBufferPointer { x in
        for i in 0..<N where targets[i] != ignoreIndex {
            let row = x.baseAddress! + i * C
            var m = -Scalar.infinity
            for c in 0..<C { m = Swift.max(m, row[c]) }
            var s: Scalar = 0
            for c in 0..<C { let e = Scalar.exp(row[c] - m); probabilities[i * C + c] = e; s += e }
            for c in 0..<C { probabilities[i * C + c] /= s }
            let w = classWeights?[targets[i]] ?? 1
            total += w * (m + Scalar.log(s) - row[targets[i]])
            weightSum += w
        }
    }
    let loss = weightSum > 0 ? total / weightSum : 0
    return Tensor.operation(shape: [], values: [loss], name: "crossEntropy", inputs: [logits]) { g in
        var gx = [Scalar](repeating: 0, count: N * C)
        guard weightSum > 0 else { return [gx] }
        for i in 0..<N where targets[i] != ignoreIndex {
            let scale = g[0] * (classWeights?[targets[i]] ?? 1) / weightSum
            for c in 0..<C { gx[i * C + c] = scale * probabilities[i * C + c] }
            gx[i * C + targets[i]] -= scale
        }
        return [gx]
    }
}

/// Frame-level cross-entropy over padded sequences: logits `[B, T, C]` (batch-first) or
/// `[T, B, C]`, targets per sequence (its frames' classes), frames past each length ignored.
@inlinable
public func frameCrossEntropy<Scalar: TensorScalar>(_ logits: Tensor<Scalar>, targets: [[Int]], batchFirst: Bool = true,
                                                    classWeights: [Scalar]? = nil) -> Tensor<Scalar> {
    precondition(logits.rank == 3, "frameCrossEntropy: logits \(logits.shape) are not 3-D")
    let B = batchFirst ? logits.shape[0] : logits.shape[1], T = batchFirst ? logits.shape[1] : logits.shape[0], C = logits.shape[2]
    precondition(targets.count == B && targets.allSatisfy { $0.count <= T }, "frameCrossEntropy: \(targets.count) target sequences for \(B), or one longer than \(T)")
    var flat = [Int](repeating: -100, count: B * T)
    for b in 0..<B {
        for (t, y) in targets[b].enumerated() { flat[batchFirst ? b * T + t : t * B + b] = y }
    }
    return crossEntropy(logits.reshaped([B * T, C]), targets: flat, classWeights: classWeights, ignoreIndex: -100)
}
