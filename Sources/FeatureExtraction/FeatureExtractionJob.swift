import AudioIO
import Dispatch
import Distributed
import Foundation
import SpeechBase
import Synchronization

/// One utterance to extract: its id, audio file and (for speaker CMVN) speaker.
public struct FeatureSource: Sendable, Equatable {
    public var id: String
    public var audioPath: String
    public var speaker: String?
    /// The part of the recording that is the utterance (a `segments` line), or nil for all of it.
    public var segment: AudioSegment?

    public init(id: String, audioPath: String, speaker: String? = nil, segment: AudioSegment? = nil) {
        self.id = id
        self.audioPath = audioPath
        self.speaker = speaker
        self.segment = segment
    }
}

/// What a finished extraction did.
public struct FeatureExtractionSummary: Sendable {
    public var utterances: Int
    public var failed: [(id: String, reason: String)]
    public var frames: Int
    public var audioSeconds: Double
    public var wallSeconds: Double
}

/// Features of a whole corpus, written as a feature directory: one float32 `.npy` per utterance
/// under `feats/`, `feats.scp` (`utt-id feats/utt-id.npy`, relative to the directory),
/// `utt2num_frames` and `config.json` (the ``FeatureConfig``).
///
/// Work is spread over utterances on `jobs` threads, each with its own ``FeatureComputer``.
/// Every `.npy` is written under a temporary name and renamed when complete; the index files are
/// written last, only when every utterance succeeded (or `keepGoing` lets failures be skipped),
/// and any index of an earlier run is removed first, so a failed run never leaves an index
/// that points at features of another configuration.
public struct FeatureExtractionJob: Sendable {
    public var config: FeatureConfig
    public var audio: AudioReadOptions
    public var jobs: Int
    /// Skip utterances that fail (warning about each) instead of failing the run.
    public var keepGoing: Bool

    public init(config: FeatureConfig, audio: AudioReadOptions = AudioReadOptions(), jobs: Int = ProcessInfo.processInfo.activeProcessorCount, keepGoing: Bool = false) {
        self.config = config
        self.audio = audio
        self.jobs = max(1, jobs)
        self.keepGoing = keepGoing
    }

    /// The run failed: lists every utterance that failed and why.
    public struct Failure: ErrorOnEveryRank, CustomStringConvertible, Sendable {
        public var failures: [(id: String, reason: String)]
        public var total: Int
        public var description: String {
            let shown = failures.prefix(20).map { "  \($0.id): \($0.reason)" }.joined(separator: "\n")
            let more = failures.count > 20 ? "\n  ... and \(failures.count - 20) more" : ""
            return "\(failures.count) of \(total) utterance(s) failed:\n\(shown)\(more)"
        }
    }

    /// Features of one utterance (CMVN per utterance and deltas included; speaker CMVN is not,
    /// as it needs the other utterances).
    public static func features(of samples: [Float], id: String, computer: FeatureComputer) throws -> FeatureMatrix {
        let config = computer.config
        var features = try baseFeatures(of: samples, id: id, computer: computer)
        if config.cmvn == .utterance {
            CMVNStatistics(features).apply(to: &features, normalizeVariance: config.normalizeVariance)
        }
        return finish(features, config: config)
    }

    /// The computer's features, refused when there are none or any is not finite.
    static func baseFeatures(of samples: [Float], id: String, computer: FeatureComputer) throws -> FeatureMatrix {
        let frame = computer.config.frame
        let features = computer.compute(samples, utterance: id)
        if features.frames == 0 {
            throw FeatureConfigurationError(
                "audio is shorter than one frame (\(samples.count) samples; a frame is \(frame.windowSize) with --snip-edges=\(frame.snipEdges))")
        }
        if let bad = features.firstNonFinite {
            throw FeatureConfigurationError("features are not finite at frame \(bad.frame), dimension \(bad.dim)")
        }
        return features
    }

    /// Deltas, then the learned transform, when the configuration has them.
    static func finish(_ features: FeatureMatrix, config: FeatureConfig) -> FeatureMatrix {
        let withDeltas = config.deltaOrder > 0 ? DeltaComputer(order: config.deltaOrder, window: config.deltaWindow).apply(features) : features
        return config.transform?.apply(withDeltas) ?? withDeltas
    }

    /// Extracts every source into the feature directory `output`.
    /// - Parameters:
    ///   - communicator: under `mpirun`/`srun`, the ranks that share the work: each extracts the
    ///     sources `mine` marks (whole speakers, for per-speaker CMVN), rank 0 prepares the
    ///     folder first and writes the indexes last, for every rank's utterances in `sources`
    ///     order: the same directory one process writes.
    ///   - progress: called after each utterance with (done, total), from worker threads.
    public func run(_ sources: [FeatureSource], output: String, communicator: any Communicator = SingleProcess(), mine: [Bool]? = nil,
                    progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> FeatureExtractionSummary {
        try config.validate()
        if config.cmvn == .speaker, let missing = sources.first(where: { $0.speaker == nil }) {
            throw FeatureConfigurationError("--cmvn speaker needs a speaker for every utterance (utt2spk); '\(missing.id)' has none")
        }
        precondition(mine.map { $0.count == sources.count } ?? true, "FeatureExtractionJob.run: mine and sources differ in length")
        let started = Date()
        let lock = communicator.isWriter ? try prepareOutput(output) : nil
        defer { withExtendedLifetime(lock) {} }
        try communicator.barrier()
        let featsFolder = (output as NSString).appendingPathComponent("feats")
        let indices = sources.indices.filter { mine?[$0] ?? true }
        let local = indices.map { sources[$0] }
        var localOutcomes = extractFeatures(local, into: featsFolder, progress: progress)
        if config.cmvn == .speaker { localOutcomes = normalizePerSpeaker(local, localOutcomes, in: featsFolder) }
        // Every rank's outcomes, by source index.
        var outcomes = [UtteranceOutcome](repeating: UtteranceOutcome(), count: sources.count)
        for part in try communicator.allGather(zip(indices, localOutcomes).map { IndexedOutcome(index: $0, outcome: $1) }) {
            for entry in part { outcomes[entry.index] = entry.outcome }
        }
        let failed = zip(sources, outcomes).compactMap { s, o in o.error.map { (id: s.id, reason: $0) } }
        if !failed.isEmpty && (!keepGoing || failed.count == sources.count) {
            throw Failure(failures: failed, total: sources.count)
        }
        if communicator.isWriter { try writeIndexes(sources, outcomes, in: output) }
        try communicator.barrier()
        return FeatureExtractionSummary(
            utterances: sources.count, failed: failed,
            frames: outcomes.reduce(0) { $0 + ($1.error == nil ? $1.frames : 0) },
            audioSeconds: outcomes.reduce(0) { $0 + ($1.error == nil ? $1.audioSeconds : 0) },
            wallSeconds: Date().timeIntervalSince(started))
    }

    /// Makes `output/feats`, locks `output` (two runs into one folder would mix their files
    /// undetectably: the second is refused), and removes the indexes and the temporary files of
    /// an earlier run (never mistaken for features: hidden names).
    private func prepareOutput(_ output: String) throws -> DirectoryLock {
        let fm = FileManager.default
        let featsFolder = (output as NSString).appendingPathComponent("feats")
        do {
            try fm.createDirectory(atPath: featsFolder, withIntermediateDirectories: true)
        } catch {
            throw NumpyFileError(path: output, reason: "cannot be created: \(FileError.reason(error))")
        }
        let lock: DirectoryLock
        do { lock = try DirectoryLock(output, purpose: "writing features into it") } catch {
            throw NumpyFileError(path: output, reason: FileError.reason(error, about: output))
        }
        for index in ["feats.scp", "utt2num_frames", "config.json"] {
            try? fm.removeItem(atPath: (output as NSString).appendingPathComponent(index))
        }
        for name in (try? fm.contentsOfDirectory(atPath: featsFolder)) ?? [] where name.hasPrefix(".") && name.contains(".tmp") {
            try? fm.removeItem(atPath: (featsFolder as NSString).appendingPathComponent(name))
        }
        return lock
    }

    /// Pass 1: audio → features, written as `.npy` (for speaker CMVN, raw features as temporary
    /// files with their statistics, normalized in pass 2).
    private func extractFeatures(_ sources: [FeatureSource], into featsFolder: String,
                                 progress: (@Sendable (Int, Int) -> Void)?) -> [UtteranceOutcome] {
        let count = sources.count
        let state = Locked(JobState(count: count))
        var audioOptions = self.audio
        audioOptions.sampleRate = Int(config.frame.sampleFrequency)
        let (audio, config) = (audioOptions, self.config)
        let deferCMVN = config.cmvn == .speaker
        // validate() passed, so making a computer cannot fail here.
        _ = parallelForEach(count, workers: min(jobs, max(count, 1)), state: { try! FeatureComputer(config: config) }) { computer, i in
            let source = sources[i]
            var outcome = UtteranceOutcome()
            do {
                let wave = try AudioFile.read(source.audioPath, segment: source.segment, options: audio)
                outcome.audioSeconds = wave.duration
                if deferCMVN {
                    let raw = try Self.baseFeatures(of: wave.samples, id: source.id, computer: computer)
                    outcome.statistics = CMVNStatistics(raw)
                    outcome.frames = raw.frames
                    try NumpyFile.write(raw, to: Self.rawPath(featsFolder, source.id))
                } else {
                    let features = try Self.features(of: wave.samples, id: source.id, computer: computer)
                    outcome.frames = features.frames
                    try NumpyFile.write(features, to: Self.featurePath(featsFolder, source.id))
                }
            } catch {
                outcome.error = "\(error)"
            }
            let done = state.withLock { $0.record(i, outcome) }
            progress?(done, count)
        }
        return state.withLock { $0.outcomes }
    }

    /// Pass 2 (speaker CMVN): pools statistics per speaker, normalizes, adds deltas.
    private func normalizePerSpeaker(_ sources: [FeatureSource], _ outcomes: [UtteranceOutcome], in featsFolder: String) -> [UtteranceOutcome] {
        var bySpeaker: [String: CMVNStatistics] = [:]
        for (i, source) in sources.enumerated() {
            guard let stats = outcomes[i].statistics else { continue }
            bySpeaker[source.speaker!, default: CMVNStatistics(dimension: stats.dimension)].add(stats)
        }
        let (pooled, config) = (bySpeaker, self.config)
        let second = Locked(outcomes)
        parallelForEach(sources.count, workers: min(jobs, max(sources.count, 1))) { i in
            guard second.withLock({ $0[i].error == nil }) else { return }
            let source = sources[i]
            let rawPath = Self.rawPath(featsFolder, source.id)
            do {
                var raw = try NumpyFile.read(rawPath)
                pooled[source.speaker!]!.apply(to: &raw, normalizeVariance: config.normalizeVariance)
                try NumpyFile.write(Self.finish(raw, config: config), to: Self.featurePath(featsFolder, source.id))
            } catch {
                second.withLock { $0[i].error = "\(error)" }
            }
            try? FileManager.default.removeItem(atPath: rawPath)
        }
        return second.withLock { $0 }
    }

    /// `config.json`, `utt2num_frames` and `feats.scp` (last: its presence says the run completed).
    private func writeIndexes(_ sources: [FeatureSource], _ outcomes: [UtteranceOutcome], in output: String) throws {
        var scp: [String] = [], lengths: [String] = []
        for (source, outcome) in zip(sources, outcomes) where outcome.error == nil {
            scp.append("\(source.id) feats/\(source.id).npy")
            lengths.append("\(source.id) \(outcome.frames)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try writeAtomically(Data(encoder.encode(config)), (output as NSString).appendingPathComponent("config.json"))
        try writeAtomically(Data(lengths.map { $0 + "\n" }.joined().utf8), (output as NSString).appendingPathComponent("utt2num_frames"))
        try writeAtomically(Data(scp.map { $0 + "\n" }.joined().utf8), (output as NSString).appendingPathComponent("feats.scp"))
    }

    // Per-utterance paths by plain concatenation (the folder never ends in "/": it is built by
    // appendingPathComponent): NSString bridging costs microseconds per call on Linux.
    static func featurePath(_ folder: String, _ id: String) -> String { folder + "/" + id + ".npy" }
    static func rawPath(_ folder: String, _ id: String) -> String { folder + "/." + id + ".raw.npy.tmp" }

    private func writeAtomically(_ data: Data, _ path: String) throws {
        do { try AtomicFile.write(data, to: path) } catch {
            throw NumpyFileError(path: path, reason: "cannot be written: \(FileError.reason(error))")
        }
    }
}

private struct UtteranceOutcome: Sendable, Codable {
    var frames = 0
    var audioSeconds = 0.0
    /// Speaker CMVN's statistics, used on the rank that extracted the utterance.
    var statistics: CMVNStatistics?
    var error: String?

    private enum CodingKeys: String, CodingKey { case frames, audioSeconds, error }
}

private struct IndexedOutcome: Codable {
    var index: Int
    var outcome: UtteranceOutcome
}

private struct JobState: Sendable {
    var done = 0
    var outcomes: [UtteranceOutcome]

    init(count: Int) { outcomes = Array(repeating: UtteranceOutcome(), count: count) }

    mutating func record(_ i: Int, _ outcome: UtteranceOutcome) -> Int {
        outcomes[i] = outcome
        done += 1
        return done
    }
}
