import TensorCore

// Fused LSTM and GRU layers: one direction of one layer over a whole padded batch is one
// autograd node, forward and backward side by side. Letters: T steps, B batch, I input size,
// H hidden size, G gate rows (4H for LSTM, 3H for GRU). Work per step is one GEMM
// ([B, H] × [H, G]) and a fused elementwise loop; the input projection, the weight gradients
// and the input gradient are single GEMMs over all T·B rows.

/// Where each (time, batch) row of a padded batch lives, and in what order a direction visits it.
@usableFromInline
struct SequenceLayout {
    @usableFromInline let steps: Int
    @usableFromInline let batch: Int
    @usableFromInline let batchFirst: Bool
    @usableFromInline let lengths: [Int]
    @usableFromInline let reverse: Bool

    @inlinable
    init(steps: Int, batch: Int, batchFirst: Bool, lengths: [Int], reverse: Bool) {
        self.steps = steps
        self.batch = batch
        self.batchFirst = batchFirst
        self.lengths = lengths
        self.reverse = reverse
    }

    /// Row of time `t`, sequence `b` in the `[T, B, *]` (or `[B, T, *]`) tensor.
    @inlinable func row(time t: Int, _ b: Int) -> Int { batchFirst ? b * steps + t : t * batch + b }
    /// Whether sequence `b` is still running at step `s`.
    @inlinable func isActive(step s: Int, _ b: Int) -> Bool { s < lengths[b] }
    /// Time visited by sequence `b` at step `s` (backwards within its own length when reversed).
    @inlinable func time(step s: Int, _ b: Int) -> Int { reverse ? lengths[b] - 1 - s : s }
    /// Whether step-major order is the tensor's own order (no gathering needed).
    @inlinable var isIdentity: Bool { !batchFirst && !reverse && lengths.allSatisfy { $0 == steps } }

    /// `values` (rows of `width` in tensor order) gathered into step-major order; inactive rows are zero.
    @inlinable
    func gather<Scalar: TensorScalar>(_ values: [Scalar], width: Int) -> [Scalar] {
        reorder(values, width: width, toStepMajor: true)
    }

    /// Step-major rows scattered back to tensor order; inactive rows become zero.
    @inlinable
    func scatter<Scalar: TensorScalar>(_ values: [Scalar], width: Int) -> [Scalar] {
        reorder(values, width: width, toStepMajor: false)
    }

    @inlinable
    func reorder<Scalar: TensorScalar>(_ values: [Scalar], width: Int, toStepMajor: Bool) -> [Scalar] {
        if isIdentity { return values }
        var out = [Scalar](repeating: 0, count: steps * batch * width)
        for s in 0..<steps {
            for b in 0..<batch where isActive(step: s, b) {
                let tensorRow = row(time: time(step: s, b), b) * width, stepRow = (s * batch + b) * width
                let (source, target) = toStepMajor ? (tensorRow, stepRow) : (stepRow, tensorRow)
                for j in 0..<width { out[target + j] = values[source + j] }
            }
        }
        return out
    }
}

/// An array of `count` values whose contents are unspecified: for buffers that are entirely
/// written (by a GEMM with β = 0, say) before they are read, which saves zero-filling megabytes.
@inlinable
func uninitializedArray<Scalar: TensorScalar>(_: Scalar.Type, count: Int) -> [Scalar] {
    // For 0 the standard library hands back the shared empty-array storage and still writes its
    // count: a write to a global that other threads read (ThreadSanitizer reports it).
    guard count > 0 else { return [] }
    return [Scalar](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

/// Which recurrent cell.
public enum RecurrentCell: String, Codable, Sendable {
    /// `i, f, g, o` gates; state (h, c).
    case lstm
    /// `r, z, n` gates; state h.
    case gru

    /// Gate rows per hidden unit.
    public var gateCount: Int { self == .lstm ? 4 : 3 }
}

/// One direction of one recurrent layer over a padded batch, as one autograd node.
///
/// - Parameters:
///   - input: `[T, B, I]`, or `[B, T, I]` with `layout.batchFirst`.
///   - weightIH `[G, I]`, weightHH `[G, H]`, biasIH `[G]`, biasHH `[G]`: PyTorch's layout and gate order.
///   - initialHidden, initialCell: `[B, H]`, or nil for zeros (the cell only for LSTM).
/// - Returns: the outputs (input's layout, width H; zero past each sequence's length), and the
///   final hidden and cell states `[B, H]` as values (the hidden state's gradient flows through
///   the output row it equals).
@inlinable
@_specialize(exported: true, where Scalar == Float)
@_specialize(exported: true, where Scalar == Double)
func recurrentDirection<Scalar: TensorScalar>(
    cell: RecurrentCell, input: Tensor<Scalar>, weightIH: Tensor<Scalar>, weightHH: Tensor<Scalar>,
    biasIH: Tensor<Scalar>, biasHH: Tensor<Scalar>, initialHidden: Tensor<Scalar>?, initialCell: Tensor<Scalar>?,
    layout: SequenceLayout
) -> (output: Tensor<Scalar>, hidden: [Scalar], cell: [Scalar]) {
    let T = layout.steps, B = layout.batch, I = input.shape[2], H = weightHH.shape[1], G = weightHH.shape[0]
    precondition(G == cell.gateCount * H && weightIH.shape == [G, I] && biasIH.shape == [G] && biasHH.shape == [G],
                 "\(cell): weights \(weightIH.shape), \(weightHH.shape) do not fit input size \(I) and hidden size \(H)")
    let rows = T * B

    // Step-major input xs [T·B, I] and the input projection into `gates` [T·B, G].
    let xs = layout.gather(input.values, width: I)
    var gates = uninitializedArray(Scalar.self, count: rows * G)  // the GEMM writes every value
    // Hidden states before each step: hs[s] is [B, H]; hs[T] is the final state.
    var hs = [Scalar](repeating: 0, count: (T + 1) * B * H)
    if let h0 = initialHidden { for i in 0..<(B * H) { hs[i] = h0.values[i] } }
    // LSTM: cell states cs[s] like hs, and tanh(c) per step. GRU: gh_n (hidden part of n) per step.
    var cs = [Scalar](repeating: 0, count: cell == .lstm ? (T + 1) * B * H : 0)
    if let c0 = initialCell, cell == .lstm { for i in 0..<(B * H) { cs[i] = c0.values[i] } }
    var saved = uninitializedArray(Scalar.self, count: rows * H)  // LSTM: tanh(c); GRU: gh_n (active rows only)
    var hiddenProjection = [Scalar](repeating: 0, count: cell == .gru ? B * G : 0)
    var outStep = [Scalar](repeating: 0, count: rows * H)  // outputs in step-major order

    xs.withUnsafeBufferPointer { xs in
    weightIH.values.withUnsafeBufferPointer { wih in
    weightHH.values.withUnsafeBufferPointer { whh in
    gates.withUnsafeMutableBufferPointer { gates in
    hs.withUnsafeMutableBufferPointer { hs in
    cs.withUnsafeMutableBufferPointer { cs in
    saved.withUnsafeMutableBufferPointer { saved in
    hiddenProjection.withUnsafeMutableBufferPointer { gh in
    outStep.withUnsafeMutableBufferPointer { out in
    biasIH.values.withUnsafeBufferPointer { bih in
    biasHH.values.withUnsafeBufferPointer { bhh in
        Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: G, k: I, alpha: 1, a: xs.baseAddress!, lda: I,
                    b: wih.baseAddress!, ldb: I, beta: 0, c: gates.baseAddress!, ldc: G)
        for r in 0..<rows {
            let g = gates.baseAddress! + r * G
            if cell == .lstm {
                for j in 0..<G { g[j] += bih[j] + bhh[j] }
            } else {
                for j in 0..<G { g[j] += bih[j] }
            }
        }
        for s in 0..<T {
            let gs = gates.baseAddress! + s * B * G
            let hPrev = hs.baseAddress! + s * B * H, hNext = hs.baseAddress! + (s + 1) * B * H
            if cell == .lstm {
                // gates += h_{s-1} · W_hhᵀ
                Scalar.gemm(transposeA: false, transposeB: true, m: B, n: G, k: H, alpha: 1, a: hPrev, lda: H,
                            b: whh.baseAddress!, ldb: H, beta: 1, c: gs, ldc: G)
            } else {
                Scalar.gemm(transposeA: false, transposeB: true, m: B, n: G, k: H, alpha: 1, a: hPrev, lda: H,
                            b: whh.baseAddress!, ldb: H, beta: 0, c: gh.baseAddress!, ldc: G)
            }
            for b in 0..<B {
                let g = gs + b * G, hp = hPrev + b * H, hn = hNext + b * H
                guard layout.isActive(step: s, b) else {
                    // Past its end a sequence keeps its state; its gates stay zero for backward.
                    for j in 0..<H { hn[j] = hp[j] }
                    if cell == .lstm { for j in 0..<H { cs[(s + 1) * B * H + b * H + j] = cs[s * B * H + b * H + j] } }
                    for j in 0..<G { g[j] = 0 }
                    continue
                }
                let o = out.baseAddress! + (s * B + b) * H, keep = saved.baseAddress! + (s * B + b) * H
                if cell == .lstm {
                    // Activations in place, vectorized: σ on i and f, tanh on g, σ on o.
                    Scalar.sigmoid(g, count: 2 * H)
                    Scalar.tanh(g + 2 * H, count: H)
                    Scalar.sigmoid(g + 3 * H, count: H)
                    let cp = cs.baseAddress! + s * B * H + b * H, cn = cs.baseAddress! + (s + 1) * B * H + b * H
                    for j in 0..<H { cn[j] = g[H + j] * cp[j] + g[j] * g[2 * H + j] }
                    keep.update(from: cn, count: H)
                    Scalar.tanh(keep, count: H)
                    for j in 0..<H { hn[j] = g[3 * H + j] * keep[j] }
                } else {
                    let h = gh.baseAddress! + b * G
                    for j in 0..<(2 * H) { g[j] += h[j] + bhh[j] }
                    Scalar.sigmoid(g, count: 2 * H)
                    for j in 0..<H {
                        keep[j] = h[2 * H + j] + bhh[2 * H + j]
                        g[2 * H + j] += g[j] * keep[j]
                    }
                    Scalar.tanh(g + 2 * H, count: H)
                    for j in 0..<H { hn[j] = (1 - g[H + j]) * g[2 * H + j] + g[H + j] * hp[j] }
                }
                o.update(from: hn, count: H)
            }
        }
    }}}}}}}}}}}

    let finalHidden = Array(hs[(T * B * H)...])
    let finalCell = cell == .lstm ? Array(cs[(T * B * H)...]) : []
    var inputs = [input, weightIH, weightHH, biasIH, biasHH]
    if let initialHidden { inputs.append(initialHidden) }
    if let initialCell, cell == .lstm { inputs.append(initialCell) }
    let outputShape = layout.batchFirst ? [B, T, H] : [T, B, H]
    let output = Tensor<Scalar>.operation(shape: outputShape, values: layout.scatter(outStep, width: H),
                                       name: "\(cell)", inputs: inputs) { gradOutput in
        let gOut = layout.gather(gradOutput, width: H)  // step-major
        // Pre-activation gradients (GRU: input part); finished sequences' rows must read zero.
        var dGates = layout.isIdentity ? uninitializedArray(Scalar.self, count: rows * G) : [Scalar](repeating: 0, count: rows * G)
        var dHidden = [Scalar](repeating: 0, count: cell == .gru ? rows * G : 0)  // GRU: hidden part
        var dh = [Scalar](repeating: 0, count: B * H), dc = [Scalar](repeating: 0, count: B * H)
        var dhDirect = [Scalar](repeating: 0, count: B * H)
        var recurrent = [Scalar](repeating: 0, count: B * H)
        gOut.withUnsafeBufferPointer { gOut in
        gates.withUnsafeBufferPointer { gates in
        hs.withUnsafeBufferPointer { hs in
        cs.withUnsafeBufferPointer { cs in
        saved.withUnsafeBufferPointer { saved in
        weightHH.values.withUnsafeBufferPointer { whh in
        dGates.withUnsafeMutableBufferPointer { dG in
        dHidden.withUnsafeMutableBufferPointer { dGh in
        dh.withUnsafeMutableBufferPointer { dhAll in
        dc.withUnsafeMutableBufferPointer { dcAll in
        dhDirect.withUnsafeMutableBufferPointer { direct in
        recurrent.withUnsafeMutableBufferPointer { rec in
            for s in (0..<T).reversed() {
                for b in 0..<B where layout.isActive(step: s, b) {
                    let r = s * B + b
                    let g = gates.baseAddress! + r * G, d = dG.baseAddress! + r * G
                    let keep = saved.baseAddress! + r * H, go = gOut.baseAddress! + r * H
                    let dh = dhAll.baseAddress! + b * H, dc = dcAll.baseAddress! + b * H, dhz = direct.baseAddress! + b * H
                    if cell == .lstm {
                        let cp = cs.baseAddress! + s * B * H + b * H
                        for j in 0..<H {
                            let i = g[j], f = g[H + j], c̃ = g[2 * H + j], og = g[3 * H + j], tc = keep[j]
                            let dht = dh[j] + go[j]
                            let dct = dc[j] + dht * og * (1 - tc * tc)
                            d[j] = dct * c̃ * i * (1 - i)
                            d[H + j] = dct * cp[j] * f * (1 - f)
                            d[2 * H + j] = dct * i * (1 - c̃ * c̃)
                            d[3 * H + j] = dht * tc * og * (1 - og)
                            dc[j] = dct * f
                        }
                    } else {
                        let hp = hs.baseAddress! + s * B * H + b * H, dh2 = dGh.baseAddress! + r * G
                        for j in 0..<H {
                            let rg = g[j], z = g[H + j], n = g[2 * H + j], hn̂ = keep[j]
                            let dht = dh[j] + go[j]
                            let dnPre = dht * (1 - z) * (1 - n * n)
                            let drPre = dnPre * hn̂ * rg * (1 - rg)
                            let dzPre = dht * (hp[j] - n) * z * (1 - z)
                            d[j] = drPre; d[H + j] = dzPre; d[2 * H + j] = dnPre
                            dh2[j] = drPre; dh2[H + j] = dzPre; dh2[2 * H + j] = dnPre * rg
                            dhz[j] = dht * z
                        }
                    }
                }
                // dh_{s-1} = dGates_s · W_hh for running sequences; finished ones carry dh.
                let source = cell == .lstm ? dG.baseAddress! + s * B * G : dGh.baseAddress! + s * B * G
                Scalar.gemm(transposeA: false, transposeB: false, m: B, n: H, k: G, alpha: 1, a: source, lda: G,
                            b: whh.baseAddress!, ldb: H, beta: 0, c: rec.baseAddress!, ldc: H)
                for b in 0..<B where layout.isActive(step: s, b) {
                    let dh = dhAll.baseAddress! + b * H, r = rec.baseAddress! + b * H, dhz = direct.baseAddress! + b * H
                    if cell == .gru {
                        for j in 0..<H { dh[j] = r[j] + dhz[j] }
                    } else {
                        dh.update(from: r, count: H)
                    }
                }
            }
        }}}}}}}}}}}}

        // Weight, bias and input gradients: one GEMM each over all T·B rows.
        let hiddenGrads = cell == .lstm ? dGates : dHidden
        var dWih = uninitializedArray(Scalar.self, count: G * I), dWhh = uninitializedArray(Scalar.self, count: G * H)
        var dBih = [Scalar](repeating: 0, count: G), dBhh = [Scalar](repeating: 0, count: G)
        var dxs = uninitializedArray(Scalar.self, count: input.requiresGrad ? rows * I : 0)
        dGates.withUnsafeBufferPointer { dG in
        hiddenGrads.withUnsafeBufferPointer { dGh in
        xs.withUnsafeBufferPointer { xs in
        hs.withUnsafeBufferPointer { hs in
        weightIH.values.withUnsafeBufferPointer { wih in
            dWih.withUnsafeMutableBufferPointer { dW in
                Scalar.gemm(transposeA: true, transposeB: false, m: G, n: I, k: rows, alpha: 1, a: dG.baseAddress!, lda: G,
                            b: xs.baseAddress!, ldb: I, beta: 0, c: dW.baseAddress!, ldc: I)
            }
            dWhh.withUnsafeMutableBufferPointer { dW in
                Scalar.gemm(transposeA: true, transposeB: false, m: G, n: H, k: rows, alpha: 1, a: dGh.baseAddress!, lda: G,
                            b: hs.baseAddress!, ldb: H, beta: 0, c: dW.baseAddress!, ldc: H)
            }
            if input.requiresGrad {
                dxs.withUnsafeMutableBufferPointer { dx in
                    Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: I, k: G, alpha: 1, a: dG.baseAddress!, lda: G,
                                b: wih.baseAddress!, ldb: I, beta: 0, c: dx.baseAddress!, ldc: I)
                }
            }
            for r in 0..<rows {
                for j in 0..<G {
                    dBih[j] += dG[r * G + j]
                    dBhh[j] += dGh[r * G + j]
                }
            }
        }}}}}
        var grads: [[Scalar]?] = [input.requiresGrad ? layout.scatter(dxs, width: I) : nil, dWih, dWhh, dBih, dBhh]
        if initialHidden != nil { grads.append(dh) }
        if initialCell != nil && cell == .lstm { grads.append(dc) }
        return grads
    }
    return (output, finalHidden, finalCell)
}
