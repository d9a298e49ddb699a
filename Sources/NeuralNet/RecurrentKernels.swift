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
        if isIdentity || values.isEmpty { return values }
        return values.withUnsafeBufferPointer { source in
            [Scalar](unsafeUninitializedCapacity: steps * batch * width) { target, count in
                reorder(source.baseAddress!, into: target.baseAddress!, width: width, toStepMajor: true)
                count = steps * batch * width
            }
        }
    }

    /// `values` gathered into step-major order in `target` (`steps · batch · width` values).
    @inlinable
    func gather<Scalar: TensorScalar>(_ values: [Scalar], width: Int, into target: UnsafeMutablePointer<Scalar>) {
        values.withUnsafeBufferPointer { reorder($0.baseAddress!, into: target, width: width, toStepMajor: true) }
    }

    /// Step-major rows scattered back to tensor order; inactive rows become zero.
    @inlinable
    func scatter<Scalar: TensorScalar>(_ source: UnsafePointer<Scalar>, width: Int) -> [Scalar] {
        // An empty array must not be built through `unsafeUninitializedCapacity` (see `uninitializedArray`).
        guard steps * batch * width > 0 else { return [] }
        return [Scalar](unsafeUninitializedCapacity: steps * batch * width) { target, count in
            reorder(source, into: target.baseAddress!, width: width, toStepMajor: false)
            count = steps * batch * width
        }
    }

    /// Copies rows between tensor order and step-major order; rows no sequence visits become zero.
    @inlinable
    func reorder<Scalar: TensorScalar>(_ source: UnsafePointer<Scalar>, into target: UnsafeMutablePointer<Scalar>,
                                       width: Int, toStepMajor: Bool) {
        let count = steps * batch * width
        guard count > 0 else { return }
        if isIdentity { target.update(from: source, count: count); return }
        target.update(repeating: 0, count: count)
        for s in 0..<steps {
            for b in 0..<batch where isActive(step: s, b) {
                let tensorRow = row(time: time(step: s, b), b) * width, stepRow = (s * batch + b) * width
                let (from, to) = toStepMajor ? (tensorRow, stepRow) : (stepRow, tensorRow)
                (target + to).update(from: source + from, count: width)
            }
        }
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

/// Memory of one direction's forward pass, kept for its backward pass: owned pointers, allocated
/// once and freed with the autograd node that holds them (so the kernels need no nested
/// `withUnsafe…` closures). Rows are in step-major order: row `s·B + b` is sequence `b` at step `s`.
@usableFromInline
final class RecurrentWorkspace<Scalar: TensorScalar> {
    @usableFromInline let cell: RecurrentCell
    @usableFromInline let layout: SequenceLayout
    /// B, I, H and G (gate rows: 4H or 3H).
    @usableFromInline let batch: Int, inputSize: Int, hiddenSize: Int, gateRows: Int
    /// The input `[T·B, I]`.
    @usableFromInline let input: UnsafeMutablePointer<Scalar>
    /// Gate pre-activations, then activations in place `[T·B, G]`; zero in rows past a sequence's end.
    @usableFromInline let gates: UnsafeMutablePointer<Scalar>
    /// Hidden state before each step `[T + 1, B, H]`; block T is the final state.
    @usableFromInline let hidden: UnsafeMutablePointer<Scalar>
    /// LSTM: cell state before each step `[T + 1, B, H]` (GRU: unused).
    @usableFromInline let cellState: UnsafeMutablePointer<Scalar>
    /// LSTM: tanh(c_t); GRU: W_hn h_{t-1} + b_hn `[T·B, H]`, written for active rows only.
    @usableFromInline let saved: UnsafeMutablePointer<Scalar>
    /// GRU: this step's h_{t-1} W_hhᵀ `[B, G]` (LSTM: unused).
    @usableFromInline let hiddenProjection: UnsafeMutablePointer<Scalar>
    /// The outputs h_t `[T·B, H]`; zero past a sequence's end.
    @usableFromInline let output: UnsafeMutablePointer<Scalar>

    @inlinable
    init(cell: RecurrentCell, layout: SequenceLayout, inputSize: Int, hiddenSize: Int) {
        self.cell = cell
        self.layout = layout
        let T = layout.steps, B = layout.batch, H = hiddenSize, G = cell.gateCount * hiddenSize
        (batch, self.inputSize, self.hiddenSize, gateRows) = (B, inputSize, H, G)
        input = .allocate(capacity: max(T * B * inputSize, 1))
        gates = .allocate(capacity: max(T * B * G, 1))  // the input projection's GEMM writes every value
        hidden = .allocate(capacity: (T + 1) * B * H + 1)
        hidden.initialize(repeating: 0, count: (T + 1) * B * H)
        cellState = .allocate(capacity: cell == .lstm ? (T + 1) * B * H + 1 : 1)
        if cell == .lstm { cellState.initialize(repeating: 0, count: (T + 1) * B * H) }
        saved = .allocate(capacity: max(T * B * H, 1))
        hiddenProjection = .allocate(capacity: cell == .gru ? B * G + 1 : 1)
        output = .allocate(capacity: T * B * H + 1)
        output.initialize(repeating: 0, count: T * B * H)
    }

    deinit {
        for buffer in [input, gates, hidden, cellState, saved, hiddenProjection, output] { buffer.deallocate() }
    }

    /// Hidden (or cell) state block `s` (the state before step `s`), sequence `b`.
    @inlinable func hidden(_ s: Int, _ b: Int) -> UnsafeMutablePointer<Scalar> { hidden + (s * batch + b) * hiddenSize }
    @inlinable func cellState(_ s: Int, _ b: Int) -> UnsafeMutablePointer<Scalar> { cellState + (s * batch + b) * hiddenSize }
    /// Row `r` of a `[T·B, G]` or `[T·B, H]` buffer.
    @inlinable func gates(_ r: Int) -> UnsafeMutablePointer<Scalar> { gates + r * gateRows }
    @inlinable func saved(_ r: Int) -> UnsafeMutablePointer<Scalar> { saved + r * hiddenSize }
    @inlinable func output(_ r: Int) -> UnsafeMutablePointer<Scalar> { output + r * hiddenSize }

    /// gates = x · W_ihᵀ + b_ih, plus b_hh where the cell adds it before the recurrent product
    /// (LSTM; GRU keeps b_hn inside the reset gate's product).
    @inlinable
    func projectInput(weightIH: [Scalar], biasIH: [Scalar], biasHH: [Scalar]) {
        let rows = layout.steps * batch, G = gateRows
        guard rows > 0 else { return }
        weightIH.withUnsafeBufferPointer { wih in
            Scalar.gemm(transposeA: false, transposeB: true, m: rows, n: G, k: inputSize, alpha: 1, a: input, lda: inputSize,
                        b: wih.baseAddress!, ldb: inputSize, beta: 0, c: gates, ldc: G)
        }
        let bias = cell == .lstm ? zip(biasIH, biasHH).map { $0 + $1 } : biasIH
        for r in 0..<rows {
            let g = gates(r)
            for j in 0..<G { g[j] += bias[j] }
        }
    }

    /// A finished sequence keeps its state past its end; its gate row stays zero for backward.
    @inlinable
    func carryState(step s: Int, _ b: Int) {
        hidden(s + 1, b).update(from: hidden(s, b), count: hiddenSize)
        if cell == .lstm { cellState(s + 1, b).update(from: cellState(s, b), count: hiddenSize) }
        gates(s * batch + b).update(repeating: 0, count: gateRows)
    }
}

/// Gradients of one direction's backward pass, in step-major rows like `RecurrentWorkspace`.
@usableFromInline
final class RecurrentGradientWorkspace<Scalar: TensorScalar> {
    /// ∂L/∂h_t from above (the output's gradient) `[T·B, H]`.
    @usableFromInline let output: UnsafeMutablePointer<Scalar>
    /// ∂L/∂(gate pre-activations), input part `[T·B, G]`; zero in rows past a sequence's end.
    @usableFromInline let gates: UnsafeMutablePointer<Scalar>
    /// GRU: ∂L/∂(h_{t-1} W_hhᵀ + b_hh) `[T·B, G]` (the reset gate scales the n part).
    @usableFromInline let hiddenGates: UnsafeMutablePointer<Scalar>
    /// ∂L/∂h_{t} and ∂L/∂c_{t} carried from the later step `[B, H]`.
    @usableFromInline let hidden: UnsafeMutablePointer<Scalar>, cellState: UnsafeMutablePointer<Scalar>
    /// GRU: the part of ∂L/∂h_{t-1} that flows past the gates (z ⊙ ∂L/∂h_t) `[B, H]`.
    @usableFromInline let direct: UnsafeMutablePointer<Scalar>
    /// This step's dGates · W_hh `[B, H]`.
    @usableFromInline let recurrent: UnsafeMutablePointer<Scalar>
    @usableFromInline let counts: (rows: Int, gateRows: Int, state: Int)

    @inlinable
    init(for w: RecurrentWorkspace<Scalar>) {
        let rows = w.layout.steps * w.batch, G = w.gateRows, state = w.batch * w.hiddenSize
        counts = (rows, G, state)
        output = .allocate(capacity: rows * w.hiddenSize + 1)
        gates = .allocate(capacity: rows * G + 1)
        // Every row is written when every sequence runs the whole batch; otherwise finished rows must read zero.
        if !w.layout.isIdentity { gates.initialize(repeating: 0, count: rows * G) }
        hiddenGates = .allocate(capacity: w.cell == .gru ? rows * G + 1 : 1)
        if w.cell == .gru { hiddenGates.initialize(repeating: 0, count: rows * G) }
        hidden = .allocate(capacity: state + 1)
        cellState = .allocate(capacity: state + 1)
        direct = .allocate(capacity: state + 1)
        recurrent = .allocate(capacity: state + 1)
        for buffer in [hidden, cellState, direct, recurrent] { buffer.initialize(repeating: 0, count: state) }
    }

    deinit {
        for buffer in [output, gates, hiddenGates, hidden, cellState, direct, recurrent] { buffer.deallocate() }
    }
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
    let w = RecurrentWorkspace<Scalar>(cell: cell, layout: layout, inputSize: I, hiddenSize: H)
    layout.gather(input.values, width: I, into: w.input)
    if let h0 = initialHidden { h0.values.withUnsafeBufferPointer { w.hidden.update(from: $0.baseAddress!, count: B * H) } }
    if let c0 = initialCell, cell == .lstm { c0.values.withUnsafeBufferPointer { w.cellState.update(from: $0.baseAddress!, count: B * H) } }
    w.projectInput(weightIH: weightIH.values, biasIH: biasIH.values, biasHH: biasHH.values)
    weightHH.values.withUnsafeBufferPointer { whh in
        biasHH.values.withUnsafeBufferPointer { bhh in
            for s in 0..<T {
                switch cell {
                case .lstm: lstmForward(step: s, w, weightHH: whh.baseAddress!)
                case .gru: gruForward(step: s, w, weightHH: whh.baseAddress!, biasHH: bhh.baseAddress!)
                }
            }
        }
    }

    let finalHidden = Array(UnsafeBufferPointer(start: w.hidden(T, 0), count: B * H))
    let finalCell = cell == .lstm ? Array(UnsafeBufferPointer(start: w.cellState(T, 0), count: B * H)) : []
    var inputs = [input, weightIH, weightHH, biasIH, biasHH]
    if let initialHidden { inputs.append(initialHidden) }
    if let initialCell, cell == .lstm { inputs.append(initialCell) }
    let inputRequiresGrad = input.requiresGrad
    let wantsInitialHidden = initialHidden != nil, wantsInitialCell = initialCell != nil && cell == .lstm
    let output = Tensor<Scalar>.operation(shape: layout.batchFirst ? [B, T, H] : [T, B, H],
                                          values: layout.scatter(w.output, width: H),
                                          name: "\(cell)", inputs: inputs) { gradOutput in
        let d = RecurrentGradientWorkspace(for: w)
        layout.gather(gradOutput, width: H, into: d.output)
        weightHH.values.withUnsafeBufferPointer { whh in
            for s in (0..<T).reversed() {
                switch cell {
                case .lstm: lstmBackward(step: s, w, d)
                case .gru: gruBackward(step: s, w, d)
                }
                propagateToPreviousStep(s, w, d, weightHH: whh.baseAddress!)
            }
        }
        var grads = parameterGradients(w, d, weightIH: weightIH.values, inputRequiresGrad: inputRequiresGrad)
        if wantsInitialHidden { grads.append(Array(UnsafeBufferPointer(start: d.hidden, count: B * H))) }
        if wantsInitialCell { grads.append(Array(UnsafeBufferPointer(start: d.cellState, count: B * H))) }
        return grads
    }
    return (output, finalHidden, finalCell)
}

/// ∂L/∂h_{s-1} = dGates_s · W_hh (GRU: the hidden part, plus the direct path z ⊙ ∂L/∂h_s) for
/// running sequences; a finished sequence carries its gradient unchanged.
@inlinable
func propagateToPreviousStep<Scalar: TensorScalar>(_ s: Int, _ w: RecurrentWorkspace<Scalar>,
                                                  _ d: RecurrentGradientWorkspace<Scalar>, weightHH: UnsafePointer<Scalar>) {
    let B = w.batch, H = w.hiddenSize, G = w.gateRows
    let source = (w.cell == .lstm ? d.gates : d.hiddenGates) + s * B * G
    Scalar.gemm(transposeA: false, transposeB: false, m: B, n: H, k: G, alpha: 1, a: source, lda: G,
                b: weightHH, ldb: H, beta: 0, c: d.recurrent, ldc: H)
    for b in 0..<B where w.layout.isActive(step: s, b) {
        let dh = d.hidden + b * H, r = d.recurrent + b * H
        if w.cell == .gru {
            let direct = d.direct + b * H
            for j in 0..<H { dh[j] = r[j] + direct[j] }
        } else {
            dh.update(from: r, count: H)
        }
    }
}

/// The gradients of the input, W_ih, W_hh, b_ih and b_hh: one GEMM each over all T·B rows.
@inlinable
func parameterGradients<Scalar: TensorScalar>(_ w: RecurrentWorkspace<Scalar>, _ d: RecurrentGradientWorkspace<Scalar>,
                                             weightIH: [Scalar], inputRequiresGrad: Bool) -> [[Scalar]?] {
    let rows = d.counts.rows, G = w.gateRows, I = w.inputSize, H = w.hiddenSize
    let hiddenGrads = w.cell == .lstm ? d.gates : d.hiddenGates
    func product(_ count: Int, _ fill: (UnsafeMutablePointer<Scalar>) -> Void) -> [Scalar] {
        guard count > 0 else { return [] }
        return [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            if rows == 0 { buffer.initialize(repeating: 0) } else { fill(buffer.baseAddress!) }
            initialized = count
        }
    }
    let dWih = product(G * I) {
        Scalar.gemm(transposeA: true, transposeB: false, m: G, n: I, k: rows, alpha: 1, a: d.gates, lda: G,
                    b: w.input, ldb: I, beta: 0, c: $0, ldc: I)
    }
    let dWhh = product(G * H) {
        Scalar.gemm(transposeA: true, transposeB: false, m: G, n: H, k: rows, alpha: 1, a: hiddenGrads, lda: G,
                    b: w.hidden, ldb: H, beta: 0, c: $0, ldc: H)
    }
    var dInput: [Scalar]? = nil
    if inputRequiresGrad {
        let dx = UnsafeMutablePointer<Scalar>.allocate(capacity: rows * I + 1)
        defer { dx.deallocate() }
        weightIH.withUnsafeBufferPointer { wih in
            if rows > 0 {
                Scalar.gemm(transposeA: false, transposeB: false, m: rows, n: I, k: G, alpha: 1, a: d.gates, lda: G,
                            b: wih.baseAddress!, ldb: I, beta: 0, c: dx, ldc: I)
            }
        }
        dInput = w.layout.scatter(dx, width: I)
    }
    var dBih = [Scalar](repeating: 0, count: G), dBhh = [Scalar](repeating: 0, count: G)
    for r in 0..<rows {
        let dg = d.gates + r * G, dgh = hiddenGrads + r * G
        for j in 0..<G {
            dBih[j] += dg[j]
            dBhh[j] += dgh[j]
        }
    }
    return [dInput, dWih, dWhh, dBih, dBhh]
}
