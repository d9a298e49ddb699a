/// Features of one utterance: `frames × dimension` Float32, row-major (one row per frame).
public struct FeatureMatrix: Sendable, Equatable {
    public var frames: Int
    public var dimension: Int
    /// `frames · dimension` values, frame after frame.
    public var values: [Float]

    public init(frames: Int, dimension: Int, values: [Float]) {
        precondition(values.count == frames * dimension, "FeatureMatrix: \(values.count) values for \(frames)×\(dimension)")
        self.frames = frames
        self.dimension = dimension
        self.values = values
    }

    public init(frames: Int, dimension: Int) {
        self.init(frames: frames, dimension: dimension, values: [Float](repeating: 0, count: frames * dimension))
    }

    /// Row `frame`.
    public subscript(frame: Int) -> ArraySlice<Float> {
        values[(frame * dimension)..<((frame + 1) * dimension)]
    }

    /// Value at `frame`, `dim`.
    public subscript(frame: Int, dim: Int) -> Float {
        get { values[frame * dimension + dim] }
        set { values[frame * dimension + dim] = newValue }
    }

    /// The index of the first value that is NaN or infinite, as (frame, dim).
    public var firstNonFinite: (frame: Int, dim: Int)? {
        // x · 0 is 0 for every finite x and NaN otherwise: one vectorizable pass over the values
        // first, and a search only when something is wrong.
        let probe = values.withUnsafeBufferPointer { v in
            var sum: Float = 0
            for x in v { sum += x * 0 }
            return sum
        }
        guard probe.isNaN, let i = values.firstIndex(where: { !$0.isFinite }) else { return nil }
        return (i / dimension, i % dimension)
    }
}
