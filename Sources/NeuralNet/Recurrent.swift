import SpeechBase
import TensorCore

/// The weights of one direction of one recurrent layer, in PyTorch's layout.
public struct RecurrentWeights<Scalar: TensorScalar> {
    /// `[G, I]`: input-to-gates.
    public let weightIH: Tensor<Scalar>
    /// `[G, H]`: hidden-to-gates.
    public let weightHH: Tensor<Scalar>
    /// `[G]`.
    public let biasIH: Tensor<Scalar>
    /// `[G]`.
    public let biasHH: Tensor<Scalar>
}

/// A stack of LSTM or GRU layers, optionally bidirectional, over padded batches: the shared
/// machinery of ``LSTM`` and ``GRU``.
public final class RecurrentStack<Scalar: TensorScalar>: Layer {
    public let cell: RecurrentCell
    public let inputSize: Int
    public let hiddenSize: Int
    public let layerCount: Int
    public let bidirectional: Bool
    /// `[B, T, I]` inputs and outputs instead of `[T, B, I]`.
    public let batchFirst: Bool
    /// Dropout on the outputs of every layer but the last, in training.
    public let dropout: Scalar
    /// DropConnect on the hidden-to-gates weights (one mask per forward call), in training.
    public var recurrentDropConnect: Scalar = 0
    public var isTraining = true
    /// The source of dropout and DropConnect masks.
    public var generator: SeededGenerator
    /// `weights[layer][direction]`.
    public let weights: [[RecurrentWeights<Scalar>]]

    public init(cell: RecurrentCell, inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                batchFirst: Bool = false, dropout: Scalar = 0, generator: inout SeededGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0 && layerCount > 0, "\(cell): sizes must be positive")
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layerCount = layerCount
        self.bidirectional = bidirectional
        self.batchFirst = batchFirst
        self.dropout = dropout
        self.generator = generator.split()
        // PyTorch: every weight and bias ~ U(−1/√H, 1/√H).
        let bound = 1 / Scalar(hiddenSize).squareRoot()
        let gates = cell.gateCount * hiddenSize
        weights = (0..<layerCount).map { layer in
            let layerInput = layer == 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1)
            return (0..<(bidirectional ? 2 : 1)).map { _ in
                RecurrentWeights(
                    weightIH: .uniform([gates, layerInput], low: -bound, high: bound, generator: &generator, requiresGrad: true),
                    weightHH: .uniform([gates, hiddenSize], low: -bound, high: bound, generator: &generator, requiresGrad: true),
                    biasIH: .uniform([gates], low: -bound, high: bound, generator: &generator, requiresGrad: true),
                    biasHH: .uniform([gates], low: -bound, high: bound, generator: &generator, requiresGrad: true))
            }
        }
    }

    public var directionCount: Int { bidirectional ? 2 : 1 }

    /// PyTorch's names: `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, then
    /// `..._reverse` for the backward direction, layer after layer.
    public var parameters: [(name: String, tensor: Tensor<Scalar>)] {
        var named: [(String, Tensor<Scalar>)] = []
        for (layer, directions) in weights.enumerated() {
            for (direction, w) in directions.enumerated() {
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                named += [("weight_ih" + suffix, w.weightIH), ("weight_hh" + suffix, w.weightHH),
                          ("bias_ih" + suffix, w.biasIH), ("bias_hh" + suffix, w.biasHH)]
            }
        }
        return named
    }

    /// Runs the stack.
    /// - Parameters:
    ///   - input: `[T, B, I]` (or `[B, T, I]` when batch-first).
    ///   - lengths: each sequence's length (default: all T); outputs past a length are zero and
    ///     the final state is the state at the length (PyTorch's packed sequences).
    ///   - initialHidden, initialCell: `[layers·directions, B, H]`, or nil for zeros.
    /// - Returns: outputs `[T, B, directions·H]` (or batch-first), final hidden states
    ///   `[layers·directions, B, H]`, and for LSTM final cell states (values, no gradient).
    @inlinable
    public func run(_ input: Tensor<Scalar>, lengths: [Int]? = nil, initialHidden: Tensor<Scalar>? = nil,
                    initialCell: Tensor<Scalar>? = nil) -> (output: Tensor<Scalar>, hidden: Tensor<Scalar>, cell: Tensor<Scalar>?) {
        precondition(input.rank == 3 && input.shape[2] == inputSize,
                     "\(cell): input \(input.shape) is not \(batchFirst ? "[B, T, \(inputSize)]" : "[T, B, \(inputSize)]")")
        let T = batchFirst ? input.shape[1] : input.shape[0], B = batchFirst ? input.shape[0] : input.shape[1]
        let lengths = lengths ?? [Int](repeating: T, count: B)
        precondition(lengths.count == B && lengths.allSatisfy { $0 >= 0 && $0 <= T },
                     "\(cell): lengths \(lengths.prefix(8)) do not fit \(B) sequences of at most \(T) steps")
        let stateShape = [layerCount * directionCount, B, hiddenSize]
        if let initialHidden { precondition(initialHidden.shape == stateShape, "\(cell): initial hidden \(initialHidden.shape) is not \(stateShape)") }
        if let initialCell { precondition(initialCell.shape == stateShape, "\(cell): initial cell \(initialCell.shape) is not \(stateShape)") }

        var x = input
        var finalHidden: [Tensor<Scalar>] = [], finalCell: [Scalar] = []
        for (layer, directions) in weights.enumerated() {
            var outputs: [Tensor<Scalar>] = []
            for (direction, w) in directions.enumerated() {
                let index = layer * directionCount + direction
                let layout = SequenceLayout(steps: T, batch: B, batchFirst: batchFirst, lengths: lengths, reverse: direction == 1)
                let h0 = initialHidden?.slice(axis: 0, index..<(index + 1)).reshaped([B, hiddenSize])
                let c0 = initialCell?.slice(axis: 0, index..<(index + 1)).reshaped([B, hiddenSize])
                let recurrentWeight = isTraining && recurrentDropConnect > 0
                    ? dropConnect(w.weightHH, probability: recurrentDropConnect, generator: &generator) : w.weightHH
                let result = recurrentDirection(cell: cell, input: x, weightIH: w.weightIH, weightHH: recurrentWeight,
                                                biasIH: w.biasIH, biasHH: w.biasHH, initialHidden: h0, initialCell: c0, layout: layout)
                outputs.append(result.output)
                finalCell += result.cell
                // The final hidden state is an output row (the last step of each sequence), so its
                // gradient flows through the output; a sequence of length 0 keeps its initial state.
                if lengths.allSatisfy({ $0 > 0 }) {
                    let rows = (0..<B).map { b in layout.row(time: direction == 1 ? 0 : lengths[b] - 1, b) }
                    finalHidden.append(result.output.reshaped([T * B, hiddenSize]).indexSelect(axis: 0, rows))
                } else {
                    finalHidden.append(Tensor(shape: [B, hiddenSize], values: result.hidden))
                }
            }
            x = outputs.count == 1 ? outputs[0] : Tensor.concatenate(outputs, axis: 2)
            if isTraining && dropout > 0 && layer < layerCount - 1 {
                x = x * dropoutMask(shape: x.shape, probability: dropout, generator: &generator)
            }
        }
        let hidden = Tensor.stack(finalHidden, axis: 0)
        let cellState = cell == .lstm ? Tensor(shape: stateShape, values: finalCell) : nil
        return (x, hidden, cellState)
    }
}

/// Long short-term memory layers with exactly PyTorch's `nn.LSTM` equations, gate order,
/// parameter names and shapes:
///
///     i = σ(W_ii x + b_ii + W_hi h + b_hi)     f = σ(W_if x + b_if + W_hf h + b_hf)
///     g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
///     c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')
///
/// `weight_ih_l{k}` `[4H, I_k]` stacks W_i·, W_f·, W_g·, W_o· (in that order); `weight_hh_l{k}`
/// `[4H, H]`; biases `[4H]`; `_reverse` for the backward direction.
public final class LSTM<Scalar: TensorScalar>: Layer {
    public let stack: RecurrentStack<Scalar>

    public init(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                batchFirst: Bool = false, dropout: Scalar = 0, generator: inout SeededGenerator) {
        stack = RecurrentStack(cell: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount,
                               bidirectional: bidirectional, batchFirst: batchFirst, dropout: dropout, generator: &generator)
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { stack.parameters }
    public var isTraining: Bool {
        get { stack.isTraining }
        set { stack.isTraining = newValue }
    }

    /// Outputs `[T, B, D·H]`, and final `(h_n, c_n)` each `[L·D, B, H]`; see ``RecurrentStack/run(_:lengths:initialHidden:initialCell:)``.
    @inlinable
    public func callAsFunction(_ input: Tensor<Scalar>, lengths: [Int]? = nil,
                               initialState: (hidden: Tensor<Scalar>, cell: Tensor<Scalar>)? = nil)
        -> (output: Tensor<Scalar>, hidden: Tensor<Scalar>, cell: Tensor<Scalar>) {
        let r = stack.run(input, lengths: lengths, initialHidden: initialState?.hidden, initialCell: initialState?.cell)
        return (r.output, r.hidden, r.cell!)
    }
}

/// Gated recurrent unit layers with exactly PyTorch's `nn.GRU` equations, gate order,
/// parameter names and shapes:
///
///     r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
///     n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
///     h' = (1 − z) ⊙ n + z ⊙ h
///
/// `weight_ih_l{k}` `[3H, I_k]` stacks W_r·, W_z·, W_n·; `weight_hh_l{k}` `[3H, H]`; biases `[3H]`.
public final class GRU<Scalar: TensorScalar>: Layer {
    public let stack: RecurrentStack<Scalar>

    public init(inputSize: Int, hiddenSize: Int, layerCount: Int = 1, bidirectional: Bool = false,
                batchFirst: Bool = false, dropout: Scalar = 0, generator: inout SeededGenerator) {
        stack = RecurrentStack(cell: .gru, inputSize: inputSize, hiddenSize: hiddenSize, layerCount: layerCount,
                               bidirectional: bidirectional, batchFirst: batchFirst, dropout: dropout, generator: &generator)
    }

    public var parameters: [(name: String, tensor: Tensor<Scalar>)] { stack.parameters }
    public var isTraining: Bool {
        get { stack.isTraining }
        set { stack.isTraining = newValue }
    }

    /// Outputs `[T, B, D·H]` and final hidden states `[L·D, B, H]`.
    @inlinable
    public func callAsFunction(_ input: Tensor<Scalar>, lengths: [Int]? = nil, initialHidden: Tensor<Scalar>? = nil)
        -> (output: Tensor<Scalar>, hidden: Tensor<Scalar>) {
        let r = stack.run(input, lengths: lengths, initialHidden: initialHidden)
        return (r.output, r.hidden)
    }
}
