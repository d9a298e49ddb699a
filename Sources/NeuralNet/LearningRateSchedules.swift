import TensorCore

/// Multiplies the learning rate by `gamma` every `stepSize` epochs (`StepLR`).
public struct StepSchedule<Scalar: TensorScalar> {
    public let initial: Scalar
    public let stepSize: Int
    public let gamma: Scalar

    public init(initial: Scalar, stepSize: Int, gamma: Scalar = 0.1) {
        self.initial = initial
        self.stepSize = stepSize
        self.gamma = gamma
    }

    /// The rate for epoch `epoch` (from 0).
    public func rate(epoch: Int) -> Scalar {
        var r = initial
        for _ in 0..<(epoch / stepSize) { r *= gamma }
        return r
    }
}

/// Multiplies the learning rate by `gamma` every epoch (`ExponentialLR`).
public struct ExponentialSchedule<Scalar: TensorScalar> {
    public let initial: Scalar
    public let gamma: Scalar

    public init(initial: Scalar, gamma: Scalar) {
        self.initial = initial
        self.gamma = gamma
    }

    public func rate(epoch: Int) -> Scalar {
        var r = initial
        for _ in 0..<epoch { r *= gamma }
        return r
    }
}

/// Lowers the learning rate when a monitored value (validation loss) stops improving
/// (`ReduceLROnPlateau`, mode `min`, relative threshold): after `patience` epochs without an
/// improvement by more than `threshold`·best, the rate is multiplied by `factor` (not below
/// `minimum`), then `cooldown` epochs pass before counting again.
public struct PlateauSchedule<Scalar: TensorScalar & Codable>: Sendable, Codable {
    public var rate: Scalar
    public let factor: Scalar
    public let patience: Int
    public let threshold: Scalar
    public let cooldown: Int
    public let minimum: Scalar
    public private(set) var best: Scalar = .infinity
    public private(set) var badEpochs = 0
    private var cooldownLeft = 0

    public init(rate: Scalar, factor: Scalar = 0.1, patience: Int = 10, threshold: Scalar = 1e-4, cooldown: Int = 0, minimum: Scalar = 0) {
        self.rate = rate
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minimum = minimum
    }

    /// Records this epoch's value and returns the rate to use next.
    @discardableResult
    public mutating func record(_ value: Scalar) -> Scalar {
        if value < best * (1 - threshold) {
            best = value
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        if badEpochs > patience {
            rate = Swift.max(rate * factor, minimum)
            cooldownLeft = cooldown
            badEpochs = 0
        }
        return rate
    }
}
