import Testing
@testable import TensorCore

@Suite struct BLASKernelTests {
    @Test func slowKernelsOnAnAVX512CPUAreReplacedBySkylakeX() {
        let sapphireRapids: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16", "amx_tile"]
        #expect(BLASKernels.preferredCore(detected: "Prescott", cpuFlags: sapphireRapids) == "SkylakeX")
        #expect(BLASKernels.preferredCore(detected: "Prescott", cpuFlags: ["sse3", "avx", "avx2", "fma"]) == "Haswell")
    }

    @Test func aKnownCPUOrAnOldOneKeepsOpenBLASsChoice() {
        #expect(BLASKernels.preferredCore(detected: "Zen", cpuFlags: ["avx2", "fma"]) == nil)
        #expect(BLASKernels.preferredCore(detected: "SkylakeX", cpuFlags: ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl"]) == nil)
        #expect(BLASKernels.preferredCore(detected: "Prescott", cpuFlags: ["sse3"]) == nil)
    }

    @Test func theKernelsInUsePassTheGEMMCheck() {
        #expect(BLASKernels.gemmAgreesWithReference())
        #expect(!BLASKernels.coreName.isEmpty)
    }
}
