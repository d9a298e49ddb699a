@testable import FeatureExtraction
import Foundation
import Testing

@Suite struct SpliceTransformTests {
    /// Frames beyond either end repeat the end frame, as Kaldi's splice-feats.
    @Test func splicingRepeatsTheEndFrames() {
        let input = FeatureMatrix(frames: 3, dimension: 2, values: [1, 2, 3, 4, 5, 6])
        let spliced = SpliceTransform.splice(input, context: 1)
        #expect(spliced.dimension == 6)
        #expect(spliced.values == [1, 2, 1, 2, 3, 4,
                                   1, 2, 3, 4, 5, 6,
                                   3, 4, 5, 6, 5, 6])
    }

    @Test func theMatrixProjectsEachSplicedFrame() {
        // Output 0: the centre frame's first value; output 1: next frame minus previous, second value.
        let matrix: [Float] = [0, 0, 1, 0, 0, 0,
                               0, -1, 0, 0, 0, 1]
        let transform = SpliceTransform(context: 1, inputDimension: 2, outputDimension: 2, matrix: matrix)
        let out = transform.apply(FeatureMatrix(frames: 3, dimension: 2, values: [1, 2, 3, 4, 5, 6]))
        #expect(out.values == [1, 2, 3, 4, 5, 2])
    }

    /// A configuration whose transform does not fit the features before it is refused with
    /// the sizes named; one that fits gives the transform's dimension.
    @Test func aTransformOfTheWrongSizeIsRefused() throws {
        var config = FeatureConfig()
        config.transform = SpliceTransform(context: 3, inputDimension: 13, outputDimension: 40, matrix: [Float](repeating: 0.1, count: 40 * 91))
        try config.validate()
        #expect(config.dimension == 40 && config.summary.contains("spliced ±3 → 40"))
        config.deltaOrder = 2
        #expect(throws: FeatureConfigurationError.self) { try config.validate() }
        config.deltaOrder = 0
        config.transform?.matrix.removeLast()
        let error = #expect(throws: FeatureConfigurationError.self) { try config.validate() }
        #expect("\(error!)".contains("40 × 91"))
        config.transform?.matrix.append(.nan)
        #expect(throws: FeatureConfigurationError.self) { try config.validate() }
    }

    /// Configurations written before the transform existed read as having none.
    @Test func aConfigurationWithoutATransformDecodes() throws {
        let encoded = try JSONEncoder().encode(FeatureConfig())
        #expect(!String(decoding: encoded, as: UTF8.self).contains("transform"))
        #expect(try JSONDecoder().decode(FeatureConfig.self, from: encoded).transform == nil)
    }
}
