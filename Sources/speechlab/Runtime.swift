import TensorCore

/// Process-wide settings, made once when `speechlab` starts (before any command runs).
enum Runtime {
    /// BLAS single-threaded (speechlab parallelizes over utterances and batch shards; OpenBLAS's
    /// own threads would only spin against the workers), and freed memory kept for reuse.
    static func configure() {
        BLAS.setThreadCount(1)
        Allocator.keepFreedMemory()
    }
}
