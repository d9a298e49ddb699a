import SpeechBase
/// Finite-difference checking of gradients, in Double.
public enum GradientCheck {
    /// The largest relative difference between the autograd gradient and a central finite
    /// difference, over every value of every input.
    ///
    /// The scalar checked is `Σ f(inputs) ⊙ R` for fixed random `R`, so that every output
    /// value's gradient takes part. Each difference is relative to `max(1, |analytic|)`.
    /// - Parameter step: the finite-difference step h (error O(h²)).
    public static func maximumError(inputs: [Tensor<Double>], step: Double = 1e-6, seed: UInt64 = 7,
                                    _ f: ([Tensor<Double>]) -> Tensor<Double>) -> Double {
        for x in inputs {
            x.requiresGrad = true
            x.grad = nil
        }
        let probe = f(inputs)
        var generator = SeededGenerator(seed: seed)
        let weights = Tensor<Double>.normal(probe.shape, generator: &generator)
        func objective() -> Double {
            GradMode.withoutGradients { (f(inputs) * weights).sum().item }
        }
        (probe * weights).sum().backward()
        var worst = 0.0
        for x in inputs {
            let analytic = x.grad?.values ?? [Double](repeating: 0, count: x.count)
            for i in 0..<x.count {
                let original = x.values[i]
                x.values[i] = original + step
                let plus = objective()
                x.values[i] = original - step
                let minus = objective()
                x.values[i] = original
                let numeric = (plus - minus) / (2 * step)
                worst = max(worst, abs(numeric - analytic[i]) / max(1, abs(analytic[i])))
            }
        }
        return worst
    }
}
