import AudioIO
import FeatureExtraction
import Foundation

/// CPU time of this process in seconds.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// `speechlab-bench features LIST REPEATS`: times MFCC + utterance CMVN + deltas on one thread
/// (Kaldi defaults, dither from BENCH_DITHER, default 1) for the audio files listed in LIST (one
/// path per line), already read into memory, and prints one JSON object: audio seconds, CPU
/// seconds of each repetition, and the seconds reading took.
func benchFeatures(listPath: String, repeats: Int) throws {
    let paths = try String(contentsOfFile: listPath, encoding: .utf8).split(separator: "\n").map(String.init)
    let readStart = Date()
    let waves = try paths.map { try AudioFile.read($0) }
    let readSeconds = Date().timeIntervalSince(readStart)
    var config = FeatureConfig(preset: .kaldi)
    config.frame.sampleFrequency = Double(waves[0].sampleRate)
    config.frame.dither = Double(ProcessInfo.processInfo.environment["BENCH_DITHER"] ?? "1") ?? 1
    config.deltaOrder = 2
    let computer = try FeatureComputer(config: config)
    let audioSeconds = waves.reduce(0) { $0 + $1.duration }
    var times: [Double] = []
    var frames = 0
    for _ in 0..<repeats {
        let start = cpuSeconds()
        frames = 0
        for (i, wave) in waves.enumerated() {
            frames += try FeatureExtractionJob.features(of: wave.samples, id: paths[i], computer: computer).frames
        }
        times.append(cpuSeconds() - start)
    }
    print("{\"audio_seconds\": \(audioSeconds), \"frames\": \(frames), \"compute_seconds\": \(times), \"read_seconds\": \(readSeconds)}")
}

let arguments = CommandLine.arguments
guard arguments.count == 4, arguments[1] == "features", let repeats = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: speechlab-bench features LIST REPEATS\n".utf8))
    exit(2)
}
do {
    try benchFeatures(listPath: arguments[2], repeats: repeats)
} catch {
    FileHandle.standardError.write(Data("speechlab-bench: \(error)\n".utf8))
    exit(1)
}
