import AcousticModels
import AudioIO
import FeatureExtraction
import Foundation
import NeuralNet
import TensorCore

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

/// `speechlab-bench gmm-decode MODEL FEATS REPEATS`: decodes every utterance of a feature
/// directory with a GMM-HMM (isolated-word grammar) on one thread, features and model loaded
/// beforehand (as hmmlearn's timed loop has them), and prints the CPU seconds of the fastest
/// repetition of the decoding loop and the hypotheses' first words.
func benchGMMDecode(model path: String, features: String, repeats: Int) throws {
    BLAS.setThreadCount(1)
    let (model, search) = try GMMHMM.load(path)
    let recognizer = try Recognizer(transitions: model.transitions, lexicon: model.lexicon, vocabulary: model.vocabulary, options: search)
    let directory = try FeatureDirectory.open(features)
    let utterances = try directory.entries.indices.map { try directory.features($0) }
    var best = Double.infinity
    var words: [String] = []
    for _ in 0..<max(repeats, 1) {
        let start = cpuSeconds()
        words = utterances.map { recognizer.decode($0, scorer: model, grammar: .isolated)?.words.first?.word ?? "" }
        best = min(best, cpuSeconds() - start)
    }
    let ids = directory.entries.map(\.id)
    let hypotheses = zip(ids, words).map { "\"\($0.0)\": \"\($0.1)\"" }.joined(separator: ", ")
    print("{\"decode_seconds\": \(best), \"utterances\": \(utterances.count), \"hypotheses\": {\(hypotheses)}}")
}

// The kernels speechlab itself would run (see BLASKernels), so that both measure the same.
BLASKernels.relaunchWithBetterKernelsIfNeeded(arguments: CommandLine.arguments)
let arguments = CommandLine.arguments
func usage() -> Never {
    FileHandle.standardError.write(Data("""
        usage: speechlab-bench features LIST REPEATS
               speechlab-bench gemm N THREADS REPEATS
               speechlab-bench rnn-step lstm|gru HIDDEN THREADS STEPS
               speechlab-bench gmm-decode MODEL FEATS REPEATS
               speechlab-bench export-recurrent DIR
               speechlab-bench rnn-epoch FEATS ALIGNMENTS TEST_FEATS lstm|gru|bilstm|bigru THREADS

        """.utf8))
    exit(2)
}
do {
    switch (arguments.count > 1 ? arguments[1] : "", arguments.count) {
    case ("features", 4):
        guard let repeats = Int(arguments[3]) else { usage() }
        try benchFeatures(listPath: arguments[2], repeats: repeats)
    case ("gemm", 5):
        guard let n = Int(arguments[2]), let threads = Int(arguments[3]), let repeats = Int(arguments[4]) else { usage() }
        benchGEMM(size: n, threads: threads, repeats: repeats)
    case ("rnn-step", 6):
        guard let cell = RecurrentCell(rawValue: arguments[2]), let hidden = Int(arguments[3]),
              let threads = Int(arguments[4]), let steps = Int(arguments[5]) else { usage() }
        try benchRecurrentStep(cell: cell, hidden: hidden, threads: threads, steps: steps)
    case ("rnn-epoch", 7):
        // lstm, gru, or bilstm/bigru for bidirectional layers (the hybrid default).
        let name = arguments[5], bidirectional = name.hasPrefix("bi")
        guard let cell = RecurrentCell(rawValue: bidirectional ? String(name.dropFirst(2)) : name), let threads = Int(arguments[6]) else { usage() }
        try benchRecurrentEpoch(features: arguments[2], alignments: arguments[3], test: arguments[4], cell: cell, bidirectional: bidirectional,
                                threads: threads)
    case ("gmm-decode", 5):
        guard let repeats = Int(arguments[4]) else { usage() }
        try benchGMMDecode(model: arguments[2], features: arguments[3], repeats: repeats)
    case ("export-recurrent", 3):
        try exportRecurrent(to: arguments[2])
    default:
        usage()
    }
} catch {
    FileHandle.standardError.write(Data("speechlab-bench: \(error)\n".utf8))
    exit(1)
}
