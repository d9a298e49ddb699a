import ArgumentParser
import AudioIO
import Foundation
import SpeechBase
import SpeechCorpus

/// `speechlab perturb`: speed-perturbed copies of a data directory, for training.
struct Perturb: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Speed-perturbed copies of a data directory (Kaldi's perturb_data_dir_speed), for training.",
        discussion: """
            Writes OUT, a data directory with every utterance of DATA at every --speeds factor f: the \
            audio resampled by 1/f (tempo and pitch scaled by f, as sox's 'speed f'), written as 16-bit \
            FLAC under OUT/wav/sp<f>/, the utterance named sp<f>-<utt>, its speaker sp<f>-<speaker>, and \
            utt2uniq pointing each copy back to its original so that training keeps the copies of one \
            utterance on the same side of its validation split. Factor 1 lists the original audio as it is. \
            Align the result with the GMM-HMM (speechlab align) and train hybrids on it: three times the \
            data, the way Kaldi's neural recipes train. OUT appears only when complete.
            Example: speechlab perturb --data data/train --out data/train_sp --speeds 0.9,1.0,1.1
            """
    )

    @Option(help: ArgumentHelp("Data directory to perturb.", valueName: "dir"))
    var data: String

    @Option(help: ArgumentHelp("Data directory to write.", valueName: "dir"))
    var out: String

    @Option(help: ArgumentHelp("Comma-separated speed factors, each in 0.5...2 (default 0.9,1.0,1.1).", valueName: "f,f,..."))
    var speeds: String = "0.9,1.0,1.1"

    @Flag(help: "Replace OUT if it exists.")
    var overwrite = false

    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func parsedSpeeds() throws -> SpeedPerturbation {
        let factors = try speeds.split(separator: ",").map { field -> Double in
            guard let f = Double(field.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--speeds: '\(field)' is not a number")
            }
            return f
        }
        do { return try SpeedPerturbation(factors: factors) } catch { throw ValidationError("--speeds: \(error)") }
    }

    func validate() throws { _ = try parsedSpeeds() }

    func run() throws {
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
        let copies = perturbation.copies(of: source, audioFolder: (final as NSString).appendingPathComponent("wav"))
        let toWrite = copies.indices.filter { copies[$0].writesAudio }
        let progress = runOptions.quiet ? nil : ProgressReporter(label: "perturb", total: toWrite.count)
        let done = Locked(0)
        let failures = parallelMap(toWrite.count, workers: runOptions.jobs) { k -> (id: String, reason: String)? in
            let copy = copies[toWrite[k]]
            defer { progress?.update(done.withLock { $0 += 1; return $0 }) }
            do {
                let audio = try AudioFile.read(copy.source.audioPath, segment: copy.source.segment, options: AudioReadOptions(scale: 1))
                let samples = try SpeedPerturbation.perturb(audio.samples, factor: copy.factor, path: copy.source.audioPath)
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
        guard !listed.isEmpty else { throw CommandFailure("\(data): no utterance could be perturbed") }
        try DataDirectory.write(listed, to: partial)
        do {
            if FileManager.default.fileExists(atPath: final) { try FileManager.default.removeItem(atPath: final) }
            try FileManager.default.moveItem(atPath: partial, toPath: final)
        } catch {
            throw CommandFailure("\(out): cannot be put in place: \(FileError.reason(error))")
        }
        print("perturb: \(listed.count) utterances (\(source.count - failed.count) × speeds \(perturbation.factors.map(SpeedPerturbation.label).joined(separator: ", "))) → \(out)")
    }
}
