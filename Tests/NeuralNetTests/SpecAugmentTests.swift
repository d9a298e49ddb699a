import NeuralNet
import SpeechBase
import Testing

@Suite struct SpecAugmentTests {
    /// Two sequences of one batch, [2, 50, 10], the second 20 frames long (then padding), all ones.
    func batch() -> (values: [Float], lengths: [Int]) {
        var values = [Float](repeating: 1, count: 2 * 50 * 10)
        for i in (50 * 10 + 20 * 10)..<values.count { values[i] = 7 }  // padding stays as it is
        return (values, [50, 20])
    }

    @Test func masksAreWholeSpansAndBandsWithinEachUtteranceAndItsBounds() {
        var policy = SpecAugment()
        (policy.maxTimeWidth, policy.maxFeatureWidth) = (8, 3)
        for seed in UInt64(0)..<50 {
            var (values, lengths) = batch()
            var generator = SeededGenerator(seed: seed)
            policy.apply(to: &values, lengths: lengths, frames: 50, dimension: 10, generator: &generator)
            #expect(values[(50 * 10 + 20 * 10)...].allSatisfy { $0 == 7 })
            for (b, length) in lengths.enumerated() {
                let frame = { (t: Int) in Array(values[(b * 500 + t * 10)..<(b * 500 + t * 10 + 10)]) }
                let maskedFrames = (0..<length).filter { frame($0).allSatisfy { $0 == 0 } }.count
                // A fifth of 20 frames is 4: the short utterance's masks are at most 4 frames each.
                #expect(maskedFrames <= 2 * min(8, length / 5))
                let unmaskedFrames = (0..<length).map(frame).filter { !$0.allSatisfy { $0 == 0 } }
                // Feature masks cover the same dimensions in every frame: a band, at most 2 × 3 wide.
                let zeroDims = Set(unmaskedFrames.flatMap { f in f.indices.filter { f[$0] == 0 } })
                #expect(zeroDims.count <= 6)
                #expect(unmaskedFrames.allSatisfy { f in zeroDims.allSatisfy { f[$0] == 0 } })
            }
        }
    }

    @Test func theSameSeedGivesTheSameMasksAndSomeSeedsMask() {
        let policy = SpecAugment()
        var outputs: [[Float]] = []
        for _ in 0..<2 {
            var (values, lengths) = batch()
            var generator = SeededGenerator(seed: 3)
            policy.apply(to: &values, lengths: lengths, frames: 50, dimension: 10, generator: &generator)
            outputs.append(values)
        }
        #expect(outputs[0] == outputs[1])
        #expect(outputs[0].contains(0))
    }
}
