import ArgumentParser
import AudioIO
import Foundation
import SpeechBase
import SpeechCorpus

/// `speechlab perturb`: speed-perturbed copies of a data directory, for training.
struct Perturb: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Speed-perturbed (and noisy) copies of a data directory (Kaldi's perturb_data_dir_speed), for training.",
        discussion: """
            Writes OUT, a data directory with every utterance of DATA at every --speeds factor f: the \
            audio resampled by 1/f (tempo and pitch scaled by f, as sox's 'speed f'), written as 16-bit \
            FLAC under OUT/wav/sp<f>/, the utterance named sp<f>-<utt>, its speaker sp<f>-<speaker>, and \
            utt2uniq pointing each copy back to its original so that training keeps the copies of one \
            utterance on the same side of its validation split. Factor 1 lists the original audio as it is. \
            Align the result with the GMM-HMM (speechlab align) and train hybrids on it: three times the \
            data, the way Kaldi's neural recipes train. OUT appears only when complete.

            --cut-onset, --cut-offset, --volume, --reverb, --noise-snr and --pad change every copy, in that order. With --keep-clean the \
            clean copies stay and the changed ones are added beside them as aug-<id> (speaker aug-<speaker>), as \
            Kaldi's recipes combine noise-augmented copies with the clean data: train on both, and a voice \
            recorded in more noise than the training speakers is no longer a new condition. With --keep-clean, \
            --cut-onset's and --cut-offset's copies are a set of their own, cut-<id> (speaker cut-<speaker>), \
            clean apart from the cuts: a take whose first or last sound is missing (a recorder that started \
            late or stopped early, an endpointer that trimmed tightly) is then no longer new either.

            Examples:
              speechlab perturb --data data/train --out data/train_sp --speeds 0.9,1.0,1.1
              speechlab perturb --data data/train --out data/train_noisy --speeds 1 --noise-snr 0:20 --keep-clean
              speechlab perturb --data data/train --out data/train_aug --speeds 1 --noise-snr 0:20 --cut-onset 0:0.15 --cut-offset 0:0.15 --keep-clean
            """
    )

    @Option(help: ArgumentHelp("Data directory to perturb.", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("Data directory to write.", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("Comma-separated speed factors, each in 0.5...2 (default 0.9,1.0,1.1).", valueName: "f,f,..."))
    var speeds: String = "0.9,1.0,1.1"

    @Option(help: ArgumentHelp("Multiply each copy by a gain drawn uniformly from LO:HI (Kaldi's volume perturbation: 0.125:2).", valueName: "lo:hi"))
    var volume: String?

    @Option(help: ArgumentHelp("Put each copy through a simulated room whose reverberation time (RT60, the time its sound takes to fall by 60 dB) is drawn uniformly from LO:HI seconds: a direct sound and a tail of exponentially decaying noise (Polack's model), the copy kept at its level. Offices and living rooms are 0.2-0.6 s.", valueName: "lo:hi"))
    var reverb: String?

    @Option(name: .customLong("reverb-drr"), parsing: .unconditional, help: ArgumentHelp("With --reverb: the rooms' direct-to-reverberant energy ratio, drawn uniformly from LO:HI dB (default \(Self.defaultReverbDRR): a talker about a metre from the microphone; lower is farther).", valueName: "lo:hi"))
    var reverbDRR: String?

    /// The rooms' direct-to-reverberant ratio range without --reverb-drr.
    static let defaultReverbDRR = "0:10"

    @Option(name: .customLong("noise-snr"), parsing: .unconditional, help: ArgumentHelp("Add noise to each copy at an SNR drawn uniformly from LO:HI dB: generated noise (--noise-color), or a random stretch of a random recording of --noise-dir.", valueName: "lo:hi"))
    var noiseSNR: String?

    @Option(name: .customLong("noise-color"), help: ArgumentHelp("With --noise-snr and no --noise-dir: the generated noise's spectrum: white, pink (-3 dB an octave), brown (-6 dB an octave) or mixed (each copy one of them).", valueName: "color"))
    var noiseColor: NoiseColor = .white

    @Option(name: .customLong("noise-dir"), help: ArgumentHelp("With --noise-snr: a folder of noise recordings (any format libsndfile reads).", valueName: "dir"))
    var noiseDir: String?

    @Option(help: ArgumentHelp("Add LO:HI seconds (drawn for each end of each copy) of the recording's own background at both ends: noise at the level of its quietest 10 ms, after any gain and noise.", valueName: "lo:hi"))
    var pad: String?

    @Option(name: .customLong("cut-onset"), help: ArgumentHelp("Cut LO:HI seconds (drawn for each copy) of speech from the start of each copy, after its onset (the first 10 ms within 35 dB of its loudest): takes whose first sound is missing, as a recorder or voice-activity detector that starts late leaves them. At most half of the speech goes, and at least 0.25 s of it stays.", valueName: "lo:hi"))
    var cutOnset: String?

    @Option(name: .customLong("cut-offset"), help: ArgumentHelp("Cut LO:HI seconds (drawn for each copy) of speech from the end of each copy, before its offset (the last 10 ms within 35 dB of its loudest): takes whose last sound is missing, as a recorder that stops early or an endpointer that trims tightly leaves them. With --cut-onset, the same copies lose both. At most half of what precedes the offset goes, and at least 0.25 s of it stays, counted from where --cut-onset left the take: a copy with both cuts can be shorter than 0.25 s (a copy too short for its transcript is skipped by training, with a warning).", valueName: "lo:hi"))
    var cutOffset: String?

    @Flag(name: .customLong("keep-clean"), help: "With --volume, --reverb, --noise-snr, --pad, --cut-onset or --cut-offset: list the clean copies too, the changed ones beside them as aug-<id> (and cut-<id>).")
    var keepClean = false

    @Option(help: ArgumentHelp("Seed of the gain, room, noise, padding and cut draws (the same seed makes the same copies).", valueName: "n"))
    var seed: UInt64 = 1

    @Flag(help: "Replace OUT if it exists.")
    var overwrite = false

    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func parsedSpeeds() throws -> SpeedPerturbation { try Self.speeds(speeds) }

    /// Comma-separated speed factors, checked (each in 0.5...2, none twice).
    static func speeds(_ speeds: String) throws -> SpeedPerturbation {
        let factors = try speeds.split(separator: ",").map { field -> Double in
            guard let f = Double(field.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--speeds: '\(field)' is not a number")
            }
            return f
        }
        do { return try SpeedPerturbation(factors: factors) } catch { throw ValidationError("--speeds: \(error)") }
    }

    /// `lo:hi` as a range, or nil when the option is absent.
    static func range(_ text: String?, option: String, within bounds: ClosedRange<Double>) throws -> ClosedRange<Double>? {
        guard let text else { return nil }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
        guard parts.count == 2, let lo = parts[0], let hi = parts[1], lo <= hi, bounds.contains(lo), bounds.contains(hi) else {
            throw ValidationError("\(option) takes lo:hi with lo ≤ hi, both in \(bounds.lowerBound)...\(bounds.upperBound), not '\(text)'")
        }
        return lo...hi
    }

    /// The range options parsed and checked against their bounds (nil: the option is absent).
    func parsedRanges() throws -> (volume: ClosedRange<Double>?, noiseSNR: ClosedRange<Double>?, pad: ClosedRange<Double>?,
                                   cutOnset: ClosedRange<Double>?, cutOffset: ClosedRange<Double>?,
                                   reverb: ClosedRange<Double>?, reverbDRR: ClosedRange<Double>?) {
        let reverb = try Self.range(reverb, option: "--reverb", within: 0.05...3)
        return (try Self.range(volume, option: "--volume", within: 0.01...10), try Self.range(noiseSNR, option: "--noise-snr", within: -20...100),
                try Self.range(pad, option: "--pad", within: 0...10), try Self.range(cutOnset, option: "--cut-onset", within: 0...10),
                try Self.range(cutOffset, option: "--cut-offset", within: 0...10), reverb,
                reverb == nil ? nil : try Self.range(reverbDRR ?? Self.defaultReverbDRR, option: "--reverb-drr", within: -20...40))
    }

    func validate() throws {
        _ = try parsedSpeeds()
        _ = try parsedRanges()
        if noiseDir != nil && noiseSNR == nil { throw ValidationError("--noise-dir needs --noise-snr (the SNR range to add its noise at)") }
        if noiseColor != .white && (noiseSNR == nil || noiseDir != nil) {
            throw ValidationError("--noise-color colours generated noise: it needs --noise-snr, and not --noise-dir")
        }
        if reverbDRR != nil && reverb == nil { throw ValidationError("--reverb-drr needs --reverb (the rooms' reverberation times)") }
        if keepClean && volume == nil && reverb == nil && noiseSNR == nil && pad == nil && cutOnset == nil && cutOffset == nil {
            throw ValidationError("--keep-clean needs --volume, --reverb, --noise-snr, --pad, --cut-onset or --cut-offset (copies to keep the clean ones beside)")
        }
    }

    /// The noise recordings of --noise-dir, read once (each at its own rate), sorted by path.
    func noiseRecordings() throws -> [MonoAudio] {
        guard let noiseDir else { return [] }
        let files = try AudioFolder.load(noiseDir).map(\.audioPath).sorted()
        guard !files.isEmpty else { throw CommandFailure("\(noiseDir): holds no audio files") }
        return try files.map { try AudioFile.read($0, options: AudioReadOptions(scale: 1)) }
    }

    /// A noise recording at the utterance's rate.
    static func noise(_ recording: MonoAudio, rate: Int) throws -> [Float] {
        recording.sampleRate == rate ? recording.samples : try Resampler.resample(recording.samples, from: recording.sampleRate, to: rate)
    }

    func run() throws {
        print(try write())
    }

    /// Writes OUT and returns the one-line summary `run` prints.
    func write() throws -> String {
        let perturbation = try parsedSpeeds()
        let source = try DataDirectory.load(data).utterances
        let final = URL(fileURLWithPath: out).standardizedFileURL.path
        if FileManager.default.fileExists(atPath: final) && !overwrite {
            throw CommandFailure("\(out): exists; give --overwrite to replace it, or another --out")
        }
        // Everything is written beside OUT first and moved into place at the end: a failed run
        // leaves OUT as it was. The listing names the final paths.
        let partial = final + ".partial"
        try? FileManager.default.removeItem(atPath: partial)
        let ranges = try parsedRanges()
        let record = DataPerturbation(speeds: perturbation.factors, volume: ranges.volume, noiseSNR: ranges.noiseSNR,
                                      noiseFolder: noiseDir.map { URL(fileURLWithPath: $0).standardizedFileURL.path }, noiseColor: noiseColor,
                                      padding: ranges.pad, onsetCut: ranges.cutOnset, offsetCut: ranges.cutOffset,
                                      reverbRT60: ranges.reverb, reverbDirectToReverberant: ranges.reverbDRR, seed: seed, keepsClean: keepClean)
        let noises = try noiseRecordings()
        // Without --keep-clean every change goes into the one copy of each utterance; with it the
        // cut copies are a set of their own beside the noisy ones (on validation speakers, noisy
        // copies that were cut as well lost ~2 points on noisy test takes).
        let copies = perturbation.copies(
            of: source, audioFolder: (final as NSString).appendingPathComponent("wav"),
            augmented: keepClean ? (record.augmentsAudio ? .besideClean : .none) : (record.changesAudio ? .replacingClean : .none),
            speechCut: !record.cutsSpeech ? .none : keepClean ? .besideClean : .augmented)
        // A copy's name must not be an utterance's own (DATA already holding perturbed copies,
        // say): the listing would name two recordings alike.
        var seen: [String: String] = [:]
        for c in copies {
            if let other = seen.updateValue(c.source.id, forKey: c.copy.id) {
                let clash = other == c.copy.id ? "an utterance of DATA is" : "the copy of '\(other)' is"
                throw CommandFailure("\(data): the copy of '\(c.source.id)' would be named '\(c.copy.id)', as \(clash) "
                    + "(does DATA already hold perturbed copies? perturb the original directory)")
            }
        }
        let toWrite = copies.indices.filter { copies[$0].writesAudio }
        let progress = runOptions.quiet ? nil : ProgressReporter(label: "perturb", total: toWrite.count)
        let done = Locked(0)
        let failures = parallelMap(toWrite.count, workers: runOptions.jobs) { k -> (id: String, reason: String)? in
            let copy = copies[toWrite[k]]
            defer { progress?.update(done.withLock { $0 += 1; return $0 }) }
            do {
                let audio = try AudioFile.read(copy.source.audioPath, segment: copy.source.segment, options: AudioReadOptions(scale: 1))
                var samples = try SpeedPerturbation.perturb(audio.samples, factor: copy.factor, path: copy.source.audioPath)
                // Each copy its own generator: the draws do not depend on which worker runs it.
                var generator = SeededGenerator(seed: record.seed &+ UInt64(toWrite[k]) &* 0x9E37_79B9_7F4A_7C15)
                // The cuts first: gain and noise then treat the shortened take as the take. Each cut
                // keeps 0.25 s of what it cuts into: enough frames for a word's states.
                if copy.cutsSpeech, let cut = record.onsetCut {
                    samples = AudioAugmentation.cutOnset(samples, count: Int(AudioAugmentation.draw(cut, generator: &generator) * Double(audio.sampleRate)),
                                                         blockLength: max(1, audio.sampleRate / 100), minimumKept: audio.sampleRate / 4)
                }
                if copy.cutsSpeech, let cut = record.offsetCut {
                    samples = AudioAugmentation.cutOffset(samples, count: Int(AudioAugmentation.draw(cut, generator: &generator) * Double(audio.sampleRate)),
                                                          blockLength: max(1, audio.sampleRate / 100), minimumKept: audio.sampleRate / 4)
                }
                if copy.augmented, let gain = record.volume.map({ Float(AudioAugmentation.draw($0, generator: &generator)) }) {
                    for i in samples.indices { samples[i] *= gain }
                }
                if copy.augmented, let rt60 = record.reverbRT60, let ratio = record.reverbDirectToReverberant {
                    let room = AudioAugmentation.roomImpulseResponse(
                        rt60: AudioAugmentation.draw(rt60, generator: &generator),
                        directToReverberant: AudioAugmentation.draw(ratio, generator: &generator),
                        sampleRate: audio.sampleRate, generator: &generator)
                    samples = AudioAugmentation.reverberate(samples, impulseResponse: room)
                }
                if copy.augmented, let snr = record.noiseSNR {
                    let noise = noises.isEmpty
                        ? AudioAugmentation.noise(record.noiseColor, count: samples.count, generator: &generator)
                        : try Self.noise(noises[Int.random(in: 0..<noises.count, using: &generator)], rate: audio.sampleRate)
                    AudioAugmentation.addNoise(&samples, noise: noise, snr: AudioAugmentation.draw(snr, generator: &generator), generator: &generator)
                }
                if copy.augmented, let padding = record.padding {
                    let seconds = (AudioAugmentation.draw(padding, generator: &generator), AudioAugmentation.draw(padding, generator: &generator))
                    samples = AudioAugmentation.pad(samples, before: Int(seconds.0 * Double(audio.sampleRate)), after: Int(seconds.1 * Double(audio.sampleRate)),
                                                    blockLength: max(1, audio.sampleRate / 100), generator: &generator)
                }
                let target = partial + copy.copy.audioPath.dropFirst(final.count)
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try AudioFile.write(samples, sampleRate: audio.sampleRate, to: target)
                return nil
            } catch {
                return (copy.source.id, "\(error)")
            }
        }.compactMap { $0 }
        progress?.finish()
        if let first = failures.first, !runOptions.keepGoing {
            try? FileManager.default.removeItem(atPath: partial)
            throw CommandFailure("\(first.id): \(first.reason)" + (failures.count > 1 ? " (and \(failures.count - 1) more failures)" : "")
                + "; --keep-going skips such utterances")
        }
        let failed = Set(failures.map(\.id))
        for failure in failures { printError("warning: skipped \(failure.id): \(failure.reason)") }
        let listed = copies.filter { !failed.contains($0.source.id) }.map(\.copy)
        guard !listed.isEmpty else {
            try? FileManager.default.removeItem(atPath: partial)
            throw CommandFailure("\(data): no utterance could be perturbed")
        }
        try DataDirectory.write(listed, to: partial)
        try DataDirectory.writePerturbation(record, to: partial)
        do {
            if FileManager.default.fileExists(atPath: final) { try FileManager.default.removeItem(atPath: final) }
            try FileManager.default.moveItem(atPath: partial, toPath: final)
        } catch {
            throw CommandFailure("\(out): cannot be put in place: \(FileError.reason(error))")
        }
        let parts = ["\(source.count - failed.count) × speeds \(perturbation.factors.map(SpeedPerturbation.label).joined(separator: ", "))",
                     record.onsetCut.map { "\($0.lowerBound)-\($0.upperBound) s cut after the onset" },
                     record.offsetCut.map { "\($0.lowerBound)-\($0.upperBound) s cut before the offset" },
                     record.volume.map { "gain \($0.lowerBound)-\($0.upperBound)" },
                     record.reverbRT60.map { "rooms of RT60 \($0.lowerBound)-\($0.upperBound) s" },
                     record.noiseSNR.map { "noise at \($0.lowerBound)-\($0.upperBound) dB SNR" + (noiseDir.map { " from \($0)" } ?? " (\(record.noiseColor.rawValue))") },
                     record.padding.map { "\($0.lowerBound)-\($0.upperBound) s of background at each end" },
                     keepClean ? "beside the clean copies" + (record.cutsSpeech && record.augmentsAudio ? " (the cut copies a set of their own)" : "") : nil]
        return "perturb: \(listed.count) utterances (\(parts.compactMap { $0 }.joined(separator: "; "))) → \(out)"
    }
}

extension NoiseColor: ExpressibleByArgument {}
