import TensorCore

/// Process-wide settings of the heavy commands.
enum Runtime {
    /// BLAS single-threaded (speechlab parallelizes over utterances and batch shards; OpenBLAS's
    /// own threads would only spin against the workers), and freed memory kept for reuse.
    static func configure() {
        BLAS.setThreadCount(1)
        Allocator.keepFreedMemory()
    }
}
