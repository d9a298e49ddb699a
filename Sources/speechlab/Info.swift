import ArgumentParser
import Foundation
import NeuralNet
import TensorCore

/// `speechlab info`: what this machine gives speechlab (CPU, BLAS kernels and how they were chosen).
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the version, the CPU and the BLAS kernels in use.",
        discussion: """
            OpenBLAS chooses its kernels from a table of CPU models; on a CPU it does not know it \
            falls back to slow SSE3 kernels. speechlab then chooses AVX2 or AVX-512 kernels from the \
            CPU's own features (checked on a small GEMM) unless OPENBLAS_CORETYPE is set.
            """
    )

    func run() {
        let cpu = BLASKernels.cpu()
        let vector = ["avx512f", "avx2", "fma"].filter(cpu.flags.contains).map { $0.uppercased() }
        print("speechlab \(Speechlab.configuration.version)")
        print("CPU: \(cpu.model), \(ProcessInfo.processInfo.activeProcessorCount) cores\(vector.isEmpty ? "" : " (\(vector.joined(separator: ", ")))")")
        print("BLAS: OpenBLAS \(BLASKernels.coreName) kernels, \(BLASKernels.selection)")
        print("vector loops: \(VectorKernels.target)")
    }
}
