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
        let a = self, b = other
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank ≥ 2, got \(a.shape) and \(b.shape)")
        let batched = b.rank == 3
        precondition(b.rank <= 3 && (!batched || (a.rank == 3 && a.shape[0] == b.shape[0])),
                     "matmul: shapes \(a.shape) and \(b.shape) are not [.., m, k]×[k, n] or [b, m, k]×[b, k, n]")
        precondition(!(transposeA && a.rank > 2 && !batched), "matmul: transposeA needs a 2-D or batched left operand, got \(a.shape)")
        let aRows = a.shape[a.rank - 2], aCols = a.shape[a.rank - 1]
        let bRows = b.shape[b.rank - 2], bCols = b.shape[b.rank - 1]
        let m = transposeA ? aCols : aRows, k = transposeA ? aRows : aCols
        let kb = transposeB ? bCols : bRows, n = transposeB ? bRows : bCols
        precondition(k == kb, "matmul: inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") × \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batch = batched ? a.shape[0] : 1
        let lead = batched ? [batch] : Array(a.shape.dropLast(2))
        // Rows of the product in one GEMM: m per batch entry, or all folded leading rows.
        let totalRows = batched || transposeA ? m : a.count / Swift.max(aCols, 1)
        let outShape = batched ? [batch, m, n] : (transposeA ? [m, n] : lead + [aRows, n])
        var out = [Scalar](repeating: 0, count: outShape.reduce(1, *))
        let aStride = aRows * aCols, bStride = bRows * bCols, cStride = m * n
        a.values.withUnsafeBufferPointer { x in
            b.values.withUnsafeBufferPointer { y in
                out.withUnsafeMutableBufferPointer { c in
                    for i in 0..<batch {
                        Scalar.gemm(transposeA: transposeA, transposeB: transposeB,
                                    m: batched ? m : totalRows, n: n, k: k, alpha: 1,
                                    a: x.baseAddress! + i * aStride, lda: aCols,
                                    b: y.baseAddress! + (batched ? i * bStride : 0), ldb: bCols,
                                    beta: 0, c: c.baseAddress! + i * cStride, ldc: n)
                    }
                }
            }
        }
        let av = a.values, bv = b.values
        let rows = batched ? m : totalRows
        return Tensor.operation(shape: outShape, values: out, name: "matmul", inputs: [a, b]) { g in
            var ga: [Scalar]? = nil, gb: [Scalar]? = nil
            g.withUnsafeBufferPointer { g in
                if a.requiresGrad {
                    var d = [Scalar](repeating: 0, count: av.count)
                    bv.withUnsafeBufferPointer { y in
                        d.withUnsafeMutableBufferPointer { d in
                            for i in 0..<batch {
                                let gi = g.baseAddress! + i * cStride
                                let yi = y.baseAddress! + (batched ? i * bStride : 0)
                                let di = d.baseAddress! + i * aStride
                                if transposeA {
                                    // A is [k, m]: dA = op(B) · Gᵀ → [k, m]
                                    Scalar.gemm(transposeA: transposeB, transposeB: true, m: k, n: rows, k: n, alpha: 1,
                                                a: yi, lda: bCols, b: gi, ldb: n, beta: 0, c: di, ldc: aCols)
                                } else {
                                    // dA = G · op(B)ᵀ → [rows, k]
                                    Scalar.gemm(transposeA: false, transposeB: !transposeB, m: rows, n: k, k: n, alpha: 1,
                                                a: gi, lda: n, b: yi, ldb: bCols, beta: 0, c: di, ldc: aCols)
                                }
                            }
                        }
                    }
                    ga = d
                }
                if b.requiresGrad {
                    var d = [Scalar](repeating: 0, count: bv.count)
                    av.withUnsafeBufferPointer { x in
                        d.withUnsafeMutableBufferPointer { d in
                            for i in 0..<batch {
                                let gi = g.baseAddress! + i * cStride
                                let xi = x.baseAddress! + i * aStride
                                let di = d.baseAddress! + (batched ? i * bStride : 0)
                                let beta: Scalar = batched || i == 0 ? 0 : 1
                                if transposeB {
                                    // B is [n, k]: dB = Gᵀ · op(A) → [n, k]
                                    Scalar.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: rows, alpha: 1,
                                                a: gi, lda: n, b: xi, ldb: aCols, beta: beta, c: di, ldc: bCols)
                                } else {
                                    // dB = op(A)ᵀ · G → [k, n]
                                    Scalar.gemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: rows, alpha: 1,
                                                a: xi, lda: aCols, b: gi, ldb: n, beta: beta, c: di, ldc: bCols)
                                }
                            }
                        }
                    }
                    gb = d
                }
            }
            return [ga, gb]
        }
    }
}
