import CBLAS
import Foundation

/// The element types a ``Tensor`` holds: `Float` for models, `Double` for gradient checks.
///
/// The requirements are what differs between the two: BLAS's `sgemm`/`dgemm` and the scalar
/// math functions. Everything else is written once, generically, and specialized by the
/// compiler (the public API is `@inlinable`).
public protocol TensorScalar: BinaryFloatingPoint, Sendable, CustomStringConvertible
where RawSignificand: FixedWidthInteger {
    /// The safetensors dtype name (`F32`, `F64`).
    static var safetensorsName: String { get }

    /// `C ← α·op(A)·op(B) + β·C`, row-major, through CBLAS.
    static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Self, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

    static func exp(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
}

extension Float: TensorScalar {
    public static var safetensorsName: String { "F32" }

    @inlinable
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        // One row (a recurrent step of one sequence, as in decoding): a matrix-vector product.
        // GEMM would pack the whole of B for it, every step.
        if m == 1 {
            let incX = Int32(transposeA ? lda : 1)
            if transposeB {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, incX, beta, c, 1)
            } else {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, incX, beta, c, 1)
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable public static func exp(_ x: Float) -> Float { Foundation.expf(x) }
    @inlinable public static func log(_ x: Float) -> Float { Foundation.logf(x) }
    @inlinable public static func tanh(_ x: Float) -> Float { Foundation.tanhf(x) }
}

extension Double: TensorScalar {
    public static var safetensorsName: String { "F64" }

    @inlinable
    public static func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                            alpha: Double, a: UnsafePointer<Double>, lda: Int,
                            b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        // One row (a recurrent step of one sequence, as in decoding): a matrix-vector product.
        // GEMM would pack the whole of B for it, every step.
        if m == 1 {
            let incX = Int32(transposeA ? lda : 1)
            if transposeB {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, incX, beta, c, 1)
            } else {
                cblas_dgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb), a, incX, beta, c, 1)
            }
            return
        }
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @inlinable public static func exp(_ x: Double) -> Double { Foundation.exp(x) }
    @inlinable public static func log(_ x: Double) -> Double { Foundation.log(x) }
    @inlinable public static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }
}

extension TensorScalar {
    /// `accumulator[i] += addend[i]` for every i (summing gradients), specialized so that the
    /// loop vectorizes even when called from generic code.
    @inlinable
    @_specialize(where Self == Float)
    @_specialize(where Self == Double)
    public static func add(_ addend: UnsafeBufferPointer<Self>, into accumulator: UnsafeMutableBufferPointer<Self>) {
        precondition(addend.count == accumulator.count, "add(_:into:): lengths differ")
        for i in accumulator.indices { accumulator[i] += addend[i] }
    }
}

extension TensorScalar {
    /// The logistic function 1 / (1 + e^−x), without overflow for large |x|.
    @inlinable
    public static func sigmoid(_ x: Self) -> Self {
        x >= 0 ? 1 / (1 + exp(-x)) : { let e = exp(x); return e / (1 + e) }()
    }
}

/// BLAS threading: OpenBLAS's own thread count (speechlab parallelizes over utterances and
/// batch shards instead, so it keeps BLAS single-threaded by default).
public enum BLAS {
    /// Sets OpenBLAS's thread count.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// OpenBLAS's thread count.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
}

/// Memory behaviour of the process's allocator.
public enum Allocator {
    /// Keeps freed memory in the heap instead of returning it to the system. Training allocates
    /// and frees the same large activation and gradient buffers every step; glibc would otherwise
    /// unmap them and take page faults to map them again (about 10-20% of a step's time).
    public static func keepFreedMemory() {
        mallopt(M_MMAP_THRESHOLD, 256 << 20)
        mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }
}

extension Array where Element: Numeric {
    /// Makes the first `count` elements zero, growing the array when it is shorter: a scratch
    /// buffer reused from call to call, allocated only when a call needs more.
    @inlinable
    public mutating func resetPrefix(_ count: Int) {
        if self.count < count {
            self = Array(repeating: 0, count: count)
        } else if count > 0 {
            withUnsafeMutableBufferPointer { $0.baseAddress!.update(repeating: 0, count: count) }
        }
    }
}
