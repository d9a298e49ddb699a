/// What the decoder asks of an acoustic model: for one utterance's frames, a log-likelihood
/// for each frame and each emission class (pdf). The GMM-HMM returns log p(x | state); a
/// hybrid network returns log p(state | x) − log p(state). The decoder never knows which.
public protocol AcousticScorer {
    /// Emission classes S.
    var pdfCount: Int { get }
    /// Log-likelihoods `[T, S]` row-major for frames `[T, D]` row-major.
    func logLikelihoods(frames: [Float], count: Int) -> [Float]
}

/// Two scorers of the same emission classes mixed frame by frame: (1 − w)·first + w·second
/// (system combination; a hybrid network with the GMM-HMM whose alignments it learnt from).
public struct InterpolatedScorer: AcousticScorer, Sendable {
    public let first: any AcousticScorer & Sendable
    public let second: any AcousticScorer & Sendable
    /// The second scorer's weight w, in 0...1.
    public let weight: Float

    public init(_ first: any AcousticScorer & Sendable, _ second: any AcousticScorer & Sendable, weight: Float) {
        precondition(first.pdfCount == second.pdfCount && (0...1).contains(weight), "InterpolatedScorer: the scorers' classes differ, or w is outside 0...1")
        (self.first, self.second, self.weight) = (first, second, weight)
    }

    public var pdfCount: Int { first.pdfCount }

    public func logLikelihoods(frames: [Float], count: Int) -> [Float] {
        var mixed = first.logLikelihoods(frames: frames, count: count)
        let other = second.logLikelihoods(frames: frames, count: count)
        for i in mixed.indices { mixed[i] = (1 - weight) * mixed[i] + weight * other[i] }
        return mixed
    }
}
