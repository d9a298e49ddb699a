import CVectorKernels
import TensorCore

// One time step of each cell, forward and backward side by side (llm.c's `*_forward` /
// `*_backward` pairs). A step works on every sequence of the batch: one GEMM for the recurrent
// product, then a fused elementwise loop per running sequence. `s` is the step (visit order),
// rows are step-major (`s·B + b`); the input part of the gates was computed for all steps at once.

/// LSTM forward step, in place on the gate rows:
///
///     [i, f, g, o] = [σ, σ, tanh, σ](x W_ihᵀ + b_ih + b_hh + h_{s-1} W_hhᵀ)
///     c_s = f ⊙ c_{s-1} + i ⊙ g        h_s = o ⊙ tanh(c_s)
///
/// Keeps the activated gates, c_s, tanh(c_s) and h_s for the backward step.
@inlinable
func lstmForward<Scalar: TensorScalar>(step s: Int, _ w: RecurrentWorkspace<Scalar>, weightHH: UnsafePointer<Scalar>) {
    let B = w.batch, H = w.hiddenSize, G = w.gateRows
    Scalar.gemm(transposeA: false, transposeB: true, m: B, n: G, k: H, alpha: 1, a: w.hidden(s, 0), lda: H,
                b: weightHH, ldb: H, beta: 1, c: w.gates(s * B), ldc: G)
    for b in 0..<B {
        guard w.layout.isActive(step: s, b) else { w.carryState(step: s, b); continue }
        let r = s * B + b, g = w.gates(r), tanhC = w.saved(r)
        let cPrev = w.cellState(s, b), cNext = w.cellState(s + 1, b), hNext = w.hidden(s + 1, b)
        if Scalar.self == Float.self {
            // The same steps in C, vectorized (Swift leaves the products scalar: the pointers might overlap).
            speechlab_lstm_forward_f32(H, floats(g), floats(cPrev), floats(cNext), floats(tanhC), floats(hNext), floats(w.output(r)))
            continue
        }
        Scalar.sigmoid(g, count: 2 * H)  // i, f
        Scalar.tanh(g + 2 * H, count: H)  // g
        Scalar.sigmoid(g + 3 * H, count: H)  // o
        for j in 0..<H { cNext[j] = g[H + j] * cPrev[j] + g[j] * g[2 * H + j] }
        tanhC.update(from: cNext, count: H)
        Scalar.tanh(tanhC, count: H)
        for j in 0..<H { hNext[j] = g[3 * H + j] * tanhC[j] }
        w.output(r).update(from: hNext, count: H)
    }
}

/// LSTM backward step: from ∂L/∂h_s (carried plus the output's) and ∂L/∂c_s (carried), the
/// gate pre-activation gradients, and ∂L/∂c_{s-1} = ∂L/∂c_s ⊙ f (carried to the earlier step).
@inlinable
func lstmBackward<Scalar: TensorScalar>(step s: Int, _ w: RecurrentWorkspace<Scalar>, _ d: RecurrentGradientWorkspace<Scalar>) {
    let B = w.batch, H = w.hiddenSize, G = w.gateRows
    for b in 0..<B where w.layout.isActive(step: s, b) {
        let r = s * B + b, g = w.gates(r), tanhC = w.saved(r), cPrev = w.cellState(s, b)
        let dG = d.gates + r * G, dOut = d.output + r * H, dh = d.hidden + b * H, dc = d.cellState + b * H
        if Scalar.self == Float.self {
            // The same loop in C: Swift leaves it scalar (the pointers might overlap).
            speechlab_lstm_backward_f32(H, floats(g), floats(tanhC), floats(cPrev), floats(dOut), floats(dh), floats(dc), floats(dG))
            continue
        }
        for j in 0..<H {
            let i = g[j], f = g[H + j], c̃ = g[2 * H + j], o = g[3 * H + j], tc = tanhC[j]
            let dht = dh[j] + dOut[j]
            let dct = dc[j] + dht * o * (1 - tc * tc)
            dG[j] = dct * c̃ * i * (1 - i)
            dG[H + j] = dct * cPrev[j] * f * (1 - f)
            dG[2 * H + j] = dct * i * (1 - c̃ * c̃)
            dG[3 * H + j] = dht * tc * o * (1 - o)
            dc[j] = dct * f
        }
    }
}

/// GRU forward step (PyTorch's form, b_hn inside the reset gate's product):
///
///     r = σ(x W_irᵀ + b_ir + h_{s-1} W_hrᵀ + b_hr)    z = σ(x W_izᵀ + b_iz + h_{s-1} W_hzᵀ + b_hz)
///     n = tanh(x W_inᵀ + b_in + r ⊙ (h_{s-1} W_hnᵀ + b_hn))
///     h_s = (1 − z) ⊙ n + z ⊙ h_{s-1}
///
/// Keeps r, z, n in the gate row and h_{s-1} W_hnᵀ + b_hn for the backward step.
@inlinable
func gruForward<Scalar: TensorScalar>(step s: Int, _ w: RecurrentWorkspace<Scalar>,
                                     weightHH: UnsafePointer<Scalar>, biasHH bhh: UnsafePointer<Scalar>) {
    let B = w.batch, H = w.hiddenSize, G = w.gateRows
    Scalar.gemm(transposeA: false, transposeB: true, m: B, n: G, k: H, alpha: 1, a: w.hidden(s, 0), lda: H,
                b: weightHH, ldb: H, beta: 0, c: w.hiddenProjection, ldc: G)
    for b in 0..<B {
        guard w.layout.isActive(step: s, b) else { w.carryState(step: s, b); continue }
        let r = s * B + b, g = w.gates(r), hiddenN = w.saved(r), gh = w.hiddenProjection + b * G
        let hPrev = w.hidden(s, b), hNext = w.hidden(s + 1, b)
        if Scalar.self == Float.self {
            speechlab_gru_forward_f32(H, floats(g), floats(gh), floats(bhh), floats(hPrev), floats(hiddenN), floats(hNext), floats(w.output(r)))
            continue
        }
        for j in 0..<(2 * H) { g[j] += gh[j] + bhh[j] }
        Scalar.sigmoid(g, count: 2 * H)  // r, z
        for j in 0..<H {
            hiddenN[j] = gh[2 * H + j] + bhh[2 * H + j]
            g[2 * H + j] += g[j] * hiddenN[j]
        }
        Scalar.tanh(g + 2 * H, count: H)  // n
        for j in 0..<H { hNext[j] = (1 - g[H + j]) * g[2 * H + j] + g[H + j] * hPrev[j] }
        w.output(r).update(from: hNext, count: H)
    }
}

/// GRU backward step: the input-part and hidden-part pre-activation gradients (they differ in
/// the n row, which the reset gate scales) and the direct path z ⊙ ∂L/∂h_s to h_{s-1}.
@inlinable
func gruBackward<Scalar: TensorScalar>(step s: Int, _ w: RecurrentWorkspace<Scalar>, _ d: RecurrentGradientWorkspace<Scalar>) {
    let B = w.batch, H = w.hiddenSize, G = w.gateRows
    for b in 0..<B where w.layout.isActive(step: s, b) {
        let r = s * B + b, g = w.gates(r), hiddenN = w.saved(r), hPrev = w.hidden(s, b)
        let dG = d.gates + r * G, dGh = d.hiddenGates + r * G, dOut = d.output + r * H
        let dh = d.hidden + b * H, direct = d.direct + b * H
        if Scalar.self == Float.self {
            // The same loop in C: Swift leaves it scalar (the pointers might overlap).
            speechlab_gru_backward_f32(H, floats(g), floats(hiddenN), floats(hPrev), floats(dOut), floats(dh), floats(dG), floats(dGh), floats(direct))
            continue
        }
        for j in 0..<H {
            let rg = g[j], z = g[H + j], n = g[2 * H + j]
            let dht = dh[j] + dOut[j]
            let dnPre = dht * (1 - z) * (1 - n * n)
            let drPre = dnPre * hiddenN[j] * rg * (1 - rg)
            let dzPre = dht * (hPrev[j] - n) * z * (1 - z)
            dG[j] = drPre; dG[H + j] = dzPre; dG[2 * H + j] = dnPre
            dGh[j] = drPre; dGh[H + j] = dzPre; dGh[2 * H + j] = dnPre * rg
            direct[j] = dht * z
        }
    }
}

/// A Float buffer seen as what it is, for the C kernels (callers check `Scalar.self == Float.self` first).
@inlinable
func floats<Scalar: TensorScalar>(_ p: UnsafeMutablePointer<Scalar>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inlinable
func floats<Scalar: TensorScalar>(_ p: UnsafePointer<Scalar>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}
