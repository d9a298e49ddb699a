import CBLAS
import Foundation

/// Which OpenBLAS kernels run, and choosing better ones when OpenBLAS does not know the CPU.
///
/// Debian 12's OpenBLAS (0.3.21) picks its kernels from a table of CPU models. A newer CPU
/// (Sapphire Rapids, with AVX-512 BF16/FP16 and AMX) is missing from the table and gets the
/// `Prescott` (SSE3) kernels: 15 GFLOP/s of SGEMM on one core instead of 92-134. OpenBLAS reads
/// `OPENBLAS_CORETYPE` once, when the library is loaded, so the fix is to set it and start the
/// program again (``relaunchWithBetterKernelsIfNeeded(arguments:)``), choosing the kernels from
/// the CPU's own feature flags, checking them on a small GEMM, and never overriding a
/// `OPENBLAS_CORETYPE` the user set.
public enum BLASKernels {
    /// The kernels OpenBLAS runs (`openblas_get_corename()`), e.g. `Haswell`, `SkylakeX`, `Zen`.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Environment variable that carries the choice into the relaunched process.
    static let choiceVariable = "SPEECHLAB_BLAS_CHOICE"
    /// For tests: take this as the core OpenBLAS detected (to reproduce a misdetection on a CPU
    /// that OpenBLAS knows).
    static let assumedCoreVariable = "SPEECHLAB_BLAS_ASSUME_DETECTED"

    /// Kernels older than AVX2: what OpenBLAS falls back to for CPUs it does not know.
    static let slowCores: Set<String> = [
        "Prescott", "Katmai", "Coppermine", "Northwood", "Banias", "Core2", "Penryn", "Dunnington", "Nehalem",
        "Atom", "Athlon", "Opteron", "Opteron_SSE3", "Barcelona", "Nano", "Sandybridge", "Bobcat", "Bulldozer",
        "Piledriver", "Steamroller", "Excavator", "Generic", "unknown",
    ]

    /// The kernels to ask for, given what OpenBLAS detected and the CPU's feature flags (as
    /// `/proc/cpuinfo` names them), or nil to keep OpenBLAS's choice.
    public static func preferredCore(detected: String, cpuFlags: Set<String>) -> String? {
        guard slowCores.contains(detected) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The CPU's feature flags and model name (Linux `/proc/cpuinfo`; empty elsewhere).
    public static func cpu() -> (model: String, flags: Set<String>) {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return ("unknown", []) }
        var model = "unknown", flags: Set<String> = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces), value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "model name" && model == "unknown" { model = value }
            if key == "flags" && flags.isEmpty { flags = Set(value.split(separator: " ").map(String.init)) }
        }
        return (model, flags)
    }

    /// Restarts the program with `OPENBLAS_CORETYPE` set when OpenBLAS runs slow kernels on a CPU
    /// that has AVX2 or AVX-512, unless the user set `OPENBLAS_CORETYPE` (even to nothing). In the
    /// relaunched process, checks the new kernels with a small GEMM against a plain loop and
    /// goes back to OpenBLAS's own choice if they disagree. Returns only when no restart happens.
    public static func relaunchWithBetterKernelsIfNeeded(arguments: [String]) {
        let environment = ProcessInfo.processInfo.environment
        if let choice = environment[choiceVariable] {
            // The relaunched process: trust the new kernels only if they compute right.
            if choice != "rejected", !gemmAgreesWithReference() {
                FileHandle.standardError.write(Data("warning: OpenBLAS's \(coreName) kernels failed a GEMM check; using OpenBLAS's own choice\n".utf8))
                relaunch(arguments, coreType: nil, choice: "rejected")
            }
            return
        }
        guard environment["OPENBLAS_CORETYPE"] == nil else { return }
        let detected = environment[assumedCoreVariable] ?? coreName
        guard let better = preferredCore(detected: detected, cpuFlags: cpu().flags) else { return }
        relaunch(arguments, coreType: better, choice: better)
    }

    /// How the kernels in use were chosen, for `speechlab info` and benchmark headers.
    public static var selection: String {
        let environment = ProcessInfo.processInfo.environment
        if let choice = environment[choiceVariable] {
            if choice == "rejected" { return "OpenBLAS's choice (speechlab's choice failed its GEMM check)" }
            let detected = environment[assumedCoreVariable] ?? "an SSE-era core"
            return "chosen by speechlab from the CPU's features (OpenBLAS detected \(detected)); GEMM check passed"
        }
        if let set = environment["OPENBLAS_CORETYPE"] { return "set by OPENBLAS_CORETYPE=\(set)" }
        return "OpenBLAS's choice"
    }

    static func relaunch(_ arguments: [String], coreType: String?, choice: String) {
        if let coreType { setenv("OPENBLAS_CORETYPE", coreType, 1) } else { unsetenv("OPENBLAS_CORETYPE") }
        setenv(choiceVariable, choice, 1)
        var argv = arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &argv)
        // execv returns only on failure: carry on with the kernels we have.
        unsetenv(choiceVariable)
    }

    /// A 37×29×41 SGEMM against a plain triple loop (relative error below 1e-4).
    static func gemmAgreesWithReference() -> Bool {
        let m = 37, n = 29, k = 41
        var state: UInt32 = 12345
        func next() -> Float {
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
        var error = 0.0, norm = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
                error += (Double(c[i * n + j]) - sum) * (Double(c[i * n + j]) - sum)
                norm += sum * sum
            }
        }
        return (error / max(norm, 1e-30)).squareRoot() < 1e-4
    }
}
