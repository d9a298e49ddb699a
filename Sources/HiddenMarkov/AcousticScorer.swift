/// What the decoder asks of an acoustic model: for one utterance's frames, a log-likelihood
/// for each frame and each emission class (pdf). The GMM-HMM returns log p(x | state); a
/// hybrid network returns log p(state | x) − log p(state). The decoder never knows which.
public protocol AcousticScorer {
    /// Emission classes S.
    var pdfCount: Int { get }
    /// Log-likelihoods `[T, S]` row-major for frames `[T, D]` row-major.
    func logLikelihoods(frames: [Float], count: Int) -> [Float]
}
