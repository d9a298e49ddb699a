extension Tensor {
    /// Matrix product through BLAS GEMM, with optional transposes of either operand.
    ///
    /// - `[m, k] × [k, n] → [m, n]`;
    /// - `[..., m, k] × [k, n] → [..., m, n]`: leading dimensions of the left operand fold into
    ///   its rows (one GEMM, as `x @ W.T` in a linear layer);
    /// - `[b, m, k] × [b, k, n] → [b, m, n]`: batched, one GEMM per batch entry.
    ///
    /// `transposeA` / `transposeB` transpose the last two dimensions of that operand.
    /// - Complexity: O(m·n·k) per batch entry.
    @inlinable
    public func matmul(_ other: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let p = MatMulShape(self.shape, other.shape, transposeA: transposeA, transposeB: transposeB)
        let av = values, bv = other.values
        let out = p.product(av, bv)
        let (aNeedsGrad, bNeedsGrad) = (requiresGrad, other.requiresGrad)
        return Tensor.operation(shape: p.outputShape, values: out, name: "matmul", inputs: [self, other]) { g in
            [aNeedsGrad ? p.leftGradient(g, bv) : nil, bNeedsGrad ? p.rightGradient(g, av) : nil]
        }
    }
}

/// The sizes of one `matmul` and its three GEMM passes: the product, and the gradients of each
/// operand. `rows` is m per batch entry, or all folded leading rows of the left operand.
@usableFromInline
struct MatMulShape {
    @usableFromInline let transposeA: Bool, transposeB: Bool, batched: Bool
    @usableFromInline let m: Int, n: Int, k: Int, batch: Int, rows: Int
    /// Rows and columns of each operand as stored (before any transpose).
    @usableFromInline let aRows: Int, aCols: Int, bRows: Int, bCols: Int
    /// Values in the left operand (its leading dimensions included).
    @usableFromInline let aCount: Int
    @usableFromInline let outputShape: [Int]

    @inlinable
    init(_ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool) {
        precondition(a.count >= 2 && b.count >= 2, "matmul: operands need rank ≥ 2, got \(a) and \(b)")
        let batched = b.count == 3
        precondition(b.count <= 3 && (!batched || (a.count == 3 && a[0] == b[0])),
                     "matmul: shapes \(a) and \(b) are not [.., m, k]×[k, n] or [b, m, k]×[b, k, n]")
        precondition(!(transposeA && a.count > 2 && !batched), "matmul: transposeA needs a 2-D or batched left operand, got \(a)")
        (aRows, aCols, bRows, bCols) = (a[a.count - 2], a[a.count - 1], b[b.count - 2], b[b.count - 1])
        m = transposeA ? aCols : aRows
        k = transposeA ? aRows : aCols
        let kb = transposeB ? bCols : bRows
        n = transposeB ? bRows : bCols
        precondition(k == kb, "matmul: inner dimensions differ: \(a)\(transposeA ? "ᵀ" : "") × \(b)\(transposeB ? "ᵀ" : "")")
        (self.transposeA, self.transposeB, self.batched) = (transposeA, transposeB, batched)
        batch = batched ? a[0] : 1
        aCount = a.reduce(1, *)
        rows = batched || transposeA ? m : aCount / Swift.max(aCols, 1)
        outputShape = batched ? [batch, m, n] : (transposeA ? [m, n] : Array(a.dropLast(2)) + [aRows, n])
    }

    @inlinable var aStride: Int { aRows * aCols }
    /// The right operand's offset per batch entry: 0 when one B serves every entry.
    @inlinable var bStride: Int { batched ? bRows * bCols : 0 }
    @inlinable var cStride: Int { m * n }

    /// C = op(A) · op(B).
    @inlinable
    func product<Scalar: TensorScalar>(_ a: [Scalar], _ b: [Scalar]) -> [Scalar] {
        var out = [Scalar](repeating: 0, count: outputShape.reduce(1, *))
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { c in
                    for i in 0..<batch {
                        Scalar.gemm(transposeA: transposeA, transposeB: transposeB, m: rows, n: n, k: k, alpha: 1,
                                    a: x.baseAddress! + i * aStride, lda: aCols, b: y.baseAddress! + i * bStride, ldb: bCols,
                                    beta: 0, c: c.baseAddress! + i * cStride, ldc: n)
                    }
                }
            }
        }
        return out
    }

    /// dA from the output gradient G: G · op(B)ᵀ, or op(B) · Gᵀ when A is stored transposed.
    @inlinable
    func leftGradient<Scalar: TensorScalar>(_ g: [Scalar], _ b: [Scalar]) -> [Scalar] {
        var d = [Scalar](repeating: 0, count: aCount)
        g.withUnsafeBufferPointer { g in
            b.withUnsafeBufferPointer { y in
                d.withUnsafeMutableBufferPointer { d in
                    for i in 0..<batch {
                        let gi = g.baseAddress! + i * cStride, yi = y.baseAddress! + i * bStride, di = d.baseAddress! + i * aStride
                        if transposeA {  // A is [k, m]
                            Scalar.gemm(transposeA: transposeB, transposeB: true, m: k, n: rows, k: n, alpha: 1,
                                        a: yi, lda: bCols, b: gi, ldb: n, beta: 0, c: di, ldc: aCols)
                        } else {
                            Scalar.gemm(transposeA: false, transposeB: !transposeB, m: rows, n: k, k: n, alpha: 1,
                                        a: gi, lda: n, b: yi, ldb: bCols, beta: 0, c: di, ldc: aCols)
                        }
                    }
                }
            }
        }
        return d
    }

    /// dB from the output gradient G: op(A)ᵀ · G, or Gᵀ · op(A) when B is stored transposed;
    /// summed over the batch when one B served every entry.
    @inlinable
    func rightGradient<Scalar: TensorScalar>(_ g: [Scalar], _ a: [Scalar]) -> [Scalar] {
        var d = [Scalar](repeating: 0, count: (batched ? batch : 1) * bRows * bCols)
        g.withUnsafeBufferPointer { g in
            a.withUnsafeBufferPointer { x in
                d.withUnsafeMutableBufferPointer { d in
                    for i in 0..<batch {
                        let gi = g.baseAddress! + i * cStride, xi = x.baseAddress! + i * aStride, di = d.baseAddress! + i * bStride
                        let beta: Scalar = batched || i == 0 ? 0 : 1
                        if transposeB {  // B is [n, k]
                            Scalar.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: rows, alpha: 1,
                                        a: gi, lda: n, b: xi, ldb: aCols, beta: beta, c: di, ldc: bCols)
                        } else {
                            Scalar.gemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: rows, alpha: 1,
                                        a: xi, lda: aCols, b: gi, ldb: n, beta: beta, c: di, ldc: bCols)
                        }
                    }
                }
            }
        }
        return d
    }
}
