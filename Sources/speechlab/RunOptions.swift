import ArgumentParser
import Distributed
import Foundation
import SpeechBase

/// `--jobs` and `--quiet`, shared by every command that does heavy work.
struct RunOptions: ParsableArguments {
    static let cores = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .customLong("jobs"), help: ArgumentHelp("Parallel workers (default: all \(cores) cores; more than the cores is capped to them).", valueName: "n"))
    var requestedJobs: Int = cores
    @Flag(name: .customLong("quiet"), help: "No progress output.")
    var requestedQuiet = false
    @Flag(help: "Skip utterances whose audio cannot be read or featurized (each is reported, with a count at the end) instead of failing the run.")
    var keepGoing = false

    func validate() throws {
        guard requestedJobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(requestedJobs)") }
    }

    /// These options as arguments of a command run in-process (perturb, align, train rnn), with
    /// `quiet` in place of --quiet.
    func forwarded(quiet: Bool) -> [String] {
        ["--jobs", String(jobs)] + (quiet ? ["--quiet"] : []) + (keepGoing ? ["--keep-going"] : [])
    }

    /// No progress output: asked for, or on a rank other than 0 of an MPI job (rank 0 reports
    /// for the job; warnings about a rank's own utterances still come from every rank).
    var quiet: Bool {
        get { requestedQuiet || Self.onOtherRank }
        set { requestedQuiet = newValue }
    }

    /// Whether a launcher started this process as a rank other than 0 (read once).
    static let onOtherRank = (Distributed.launcherRank ?? 0) != 0

    /// The workers to run: `--jobs`, at most one per core (more threads than cores only wait on
    /// each other, and split training batches into shards too small for BLAS).
    var jobs: Int { min(requestedJobs, Self.cores) }
}

/// A command failed at run time (not a usage error): printed as `Error: …` with exit status 1
/// and no usage text. `ValidationError` stays for arguments.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What a training command may do with an existing `--out`: continue it (`--resume`), replace
/// it (`--overwrite`), or neither, in which case an existing model is never touched.
struct ModelOutputOptions: ParsableArguments {
    @Flag(help: "Replace the model directory at --out if it exists (its checkpoint included).")
    var overwrite = false

    /// Checks `out` before training starts; with `--overwrite`, removes what is there.
    func prepare(_ out: String, resume: Bool) throws {
        guard !resume else { return }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        guard !entries.isEmpty else { return }
        guard overwrite else {
            throw CommandFailure("\(out): exists and is not empty; give --resume to continue its training, --overwrite to replace it, or another --out")
        }
        do { try FileManager.default.removeItem(atPath: out) } catch {
            throw CommandFailure("\(out): cannot be replaced: \(FileError.reason(error))")
        }
    }
}
