import Foundation

/// Small dense matrix routines (row-major n × n, Double) for the feature and mean transforms
/// (LDA, MLLT, MLLR): enough for a few hundred dimensions, no LAPACK needed.
enum DenseMatrix {
    /// L with L Lᵀ = A (lower triangular), or nil when A is not positive definite.
    static func cholesky(_ A: [Double], n: Int) -> [Double]? {
        var L = [Double](repeating: 0, count: n * n)
        let scale = (0..<n).map { A[$0 * n + $0] }.max() ?? 0
        for j in 0..<n {
            var d = A[j * n + j]
            for k in 0..<j { d -= L[j * n + k] * L[j * n + k] }
            guard d > 1e-10 * scale, d > 0 else { return nil }
            L[j * n + j] = d.squareRoot()
            for i in (j + 1)..<n {
                var s = A[i * n + j]
                for k in 0..<j { s -= L[i * n + k] * L[j * n + k] }
                L[i * n + j] = s / L[j * n + j]
            }
        }
        return L
    }

    /// L⁻¹ of a lower-triangular L (forward substitution, column by column).
    static func lowerInverse(_ L: [Double], n: Int) -> [Double] {
        var X = [Double](repeating: 0, count: n * n)
        for c in 0..<n {
            for i in c..<n {
                var s = i == c ? 1.0 : 0.0
                for k in c..<i { s -= L[i * n + k] * X[k * n + c] }
                X[i * n + c] = s / L[i * n + i]
            }
        }
        return X
    }

    static func multiply(_ A: [Double], _ B: [Double], n: Int) -> [Double] {
        var C = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for k in 0..<n where A[i * n + k] != 0 { for j in 0..<n { C[i * n + j] += A[i * n + k] * B[k * n + j] } } }
        return C
    }

    static func transpose(_ A: [Double], n: Int) -> [Double] {
        var T = A
        for i in 0..<n { for j in 0..<n { T[j * n + i] = A[i * n + j] } }
        return T
    }

    /// Eigenvalues and eigenvectors (columns of the second result) of a symmetric matrix, by
    /// cyclic Jacobi rotations until the off-diagonal part vanishes.
    static func eigen(_ S: [Double], n: Int) -> (values: [Double], vectors: [Double]) {
        var A = S, V = [Double](repeating: 0, count: n * n)
        for i in 0..<n { V[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<n { off += A[i * n + j] * A[i * n + j] } }
            if off < 1e-24 * max(1e-300, (0..<n).reduce(0.0) { $0 + A[$1 * n + $1] * A[$1 * n + $1] }) { break }
            for p in 0..<n {
                for q in (p + 1)..<n where A[p * n + q] != 0 {
                    let theta = (A[q * n + q] - A[p * n + p]) / (2 * A[p * n + q])
                    let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {  // A ← Jᵀ A J, columns then rows
                        let (akp, akq) = (A[k * n + p], A[k * n + q])
                        A[k * n + p] = c * akp - s * akq
                        A[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let (apk, aqk) = (A[p * n + k], A[q * n + k])
                        A[p * n + k] = c * apk - s * aqk
                        A[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let (vkp, vkq) = (V[k * n + p], V[k * n + q])
                        V[k * n + p] = c * vkp - s * vkq
                        V[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        return ((0..<n).map { A[$0 * n + $0] }, V)
    }

    /// x with G x = k (n × n, row-major), by Gaussian elimination with partial pivoting; nil when
    /// G is singular to working precision.
    static func solve(_ G: [Double], _ k: [Double], n: Int) -> [Double]? {
        var a = G, b = k
        let scale = G.map(abs).max() ?? 0
        guard scale > 0 else { return nil }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard abs(a[pivot * n + col]) > 1e-12 * scale else { return nil }
            if pivot != col {
                for c in 0..<n { a.swapAt(pivot * n + c, col * n + c) }
                b.swapAt(pivot, col)
            }
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                guard f != 0 else { continue }
                for c in col..<n { a[r * n + c] -= f * a[col * n + c] }
                b[r] -= f * b[col]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[r]
            for c in (r + 1)..<n { sum -= a[r * n + c] * x[c] }
            x[r] = sum / a[r * n + r]
        }
        return x
    }

    /// The inverse of a general n × n matrix (Gauss-Jordan with partial pivoting), or nil.
    static func inverse(_ M: [Double], n: Int) -> [Double]? {
        var a = M, x = [Double](repeating: 0, count: n * n)
        for i in 0..<n { x[i * n + i] = 1 }
        let scale = M.map(abs).max() ?? 0
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard abs(a[pivot * n + col]) > 1e-13 * scale else { return nil }
            if pivot != col { for k in 0..<n { a.swapAt(pivot * n + k, col * n + k); x.swapAt(pivot * n + k, col * n + k) } }
            let p = a[col * n + col]
            for k in 0..<n { a[col * n + k] /= p; x[col * n + k] /= p }
            for r in 0..<n where r != col {
                let f = a[r * n + col]
                guard f != 0 else { continue }
                for k in 0..<n { a[r * n + k] -= f * a[col * n + k]; x[r * n + k] -= f * x[col * n + k] }
            }
        }
        return x
    }

    /// log|det M| (−∞ when singular), without the overflow of the determinant itself.
    static func logAbsDeterminant(_ M: [Double], n: Int) -> Double {
        var a = M, sum = 0.0
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard a[pivot * n + col] != 0 else { return -.infinity }
            if pivot != col { for k in 0..<n { a.swapAt(pivot * n + k, col * n + k) } }
            sum += Foundation.log(abs(a[col * n + col]))
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                for k in col..<n { a[r * n + k] -= f * a[col * n + k] }
            }
        }
        return sum
    }

    /// det(M) by Gaussian elimination with partial pivoting.
    static func determinant(_ M: [Double], n: Int) -> Double {
        var a = M, det = 1.0
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            guard a[pivot * n + col] != 0 else { return 0 }
            if pivot != col { for k in 0..<n { a.swapAt(pivot * n + k, col * n + k) }; det = -det }
            det *= a[col * n + col]
            for r in (col + 1)..<n {
                let f = a[r * n + col] / a[col * n + col]
                for k in col..<n { a[r * n + k] -= f * a[col * n + k] }
            }
        }
        return det
    }
}
