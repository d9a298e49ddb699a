import AcousticModels
import ArgumentParser
import AudioIO
import Distributed
import FeatureExtraction
import Foundation
import SpeechCorpus

/// `speechlab features`: the feature-extraction tool.
struct Features: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        abstract: "Extract MFCC or log-mel filterbank features of a corpus.",
        discussion: """
            DATA is a Kaldi-style data directory (wav.scp, optional text and utt2spk) or a folder of \
            audio files (utterance id: the path below the folder, '/' as '-', no extension). \
            OUT receives feats/<utt-id>.npy (float32 [frames, dims], readable with numpy.load), \
            feats.scp (utt-id and path relative to OUT), utt2num_frames and config.json. \
            Options are Kaldi's: a Kaldi mfcc.conf works as --config, and each of its lines as a flag. \
            Example: speechlab features --data data/train --out exp/feats/train --deltas --jobs 2
            """
    )

    @Option(help: ArgumentHelp("Data directory or folder of audio files.", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("Folder to write the features into.", valueName: "dir"))
    var out: String

    @OptionGroup(title: "Feature options")
    var features: FeatureFlags

    @OptionGroup(title: "Audio input")
    var audio: AudioFlags

    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    @Option(help: ArgumentHelp("Make the features this model was trained on (its model.json's front end, its sample rate; audio at other rates is resampled); no other feature option may be given.", valueName: "model"))
    var like: String?

    func validate() throws {
        if like != nil && (!features.givenOptions.isEmpty || features.config != nil || features.deltas) {
            throw ValidationError("--like takes the model's feature options; give no other feature option with it")
        }
    }

    func run() throws {
        let world = Distributed.world
        var utterances = try Corpus.load(data)
        let shardKeys = CorpusShards.keys(utterances)
        var readOptions = audio.readOptions
        let config: FeatureConfig
        if let like {
            config = try RecognitionModel.open(like).features
            if config.cmvn == .speaker { Corpus.takeMissingSpeakersAsUtterances(&utterances, of: data, report: world.isWriter) }
            if !audio.noResample { (readOptions.allowDownsample, readOptions.allowUpsample) = (true, true) }
        } else {
            let resolved = try features.resolve()
            config = resolved.sampleRateGiven ? resolved.config : try withWorkingRate(resolved.config, of: utterances)
            if !audio.noResample { (readOptions.allowDownsample, readOptions.allowUpsample) = (resolved.allowDownsample, resolved.allowUpsample) }
        }
        try config.validate()
        let job = FeatureExtractionJob(config: config, audio: readOptions, jobs: runOptions.jobs, keepGoing: runOptions.keepGoing)
        let sources = utterances.map { FeatureSource(id: $0.id, audioPath: $0.audioPath, speaker: $0.speaker, segment: $0.segment) }
        // Under mpirun/srun each rank extracts whole speakers; rank 0 reports and writes the indexes.
        let mine = try CorpusShards.mine(keys: shardKeys, cost: { CorpusShards.duration(utterances[$0]) }, world: world, what: data)
        let quiet = runOptions.quiet || !world.isWriter
        let progress = quiet ? nil : ProgressReporter(label: world.size > 1 ? "features (rank 0)" : "features", total: mine.filter { $0 }.count)
        let summary = try job.run(sources, output: out, communicator: world, mine: mine) { done, _ in progress?.update(done) }
        progress?.finish()
        guard world.isWriter else { return }
        for failure in summary.failed {
            printError("warning: skipped \(failure.id): \(failure.reason)")
        }
        let done = summary.utterances - summary.failed.count
        let speed = summary.audioSeconds / max(summary.wallSeconds, 1e-9)
        print(String(format: "features: done %d of %d utterances, %d frames of %d dims, %.1f s of audio in %.2f s (%.0f× real time) → %@",
                     done, summary.utterances, summary.frames, config.dimension, summary.audioSeconds, summary.wallSeconds, speed,
                     (out as NSString).appendingPathComponent("feats.scp")))
    }
}

/// How audio files become mono samples.
struct AudioFlags: ParsableArguments {
    @Option(help: ArgumentHelp("Keep this channel (0-based) of multi-channel audio; default: average all.", valueName: "n"))
    var channel: Int?

    @Flag(help: "Refuse audio at another sample rate than the working rate, whatever --allow-downsample and --allow-upsample say.")
    var noResample = false

    func validate() throws {
        if let channel, channel < 0 { throw ValidationError("--channel counts from 0; \(channel) is not a channel") }
    }

    var readOptions: AudioReadOptions {
        AudioReadOptions(channel: channel, allowResampling: !noResample)
    }
}
