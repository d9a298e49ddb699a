import Foundation

extension WindowType {
    /// The window's `length` coefficients, as Kaldi's `FeatureWindowFunction` computes them
    /// (in Double, stored as Float).
    public func coefficients(length: Int, blackmanCoefficient: Double = 0.42) -> [Float] {
        let a = 2 * Double.pi / Double(length - 1)
        return (0..<length).map { i in
            let x = Double(i)
            let value: Double
            switch self {
            case .hanning: value = 0.5 - 0.5 * cos(a * x)
            case .sine: value = sin(0.5 * a * x)
            case .hamming: value = 0.54 - 0.46 * cos(a * x)
            case .povey: value = pow(0.5 - 0.5 * cos(a * x), 0.85)
            case .rectangular: value = 1
            case .blackman:
                value = blackmanCoefficient - 0.5 * cos(a * x) + (0.5 - blackmanCoefficient) * cos(2 * a * x)
            }
            return Float(value)
        }
    }
}
