import Foundation
import Testing

/// `mpirun` (Open MPI), when installed (scripts/setup installs it; CI always has it).
enum MPIRun {
    static let path: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":")
        return folders.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// mpirun's path, or nil after recording why (a failure under CI).
    static func require() -> String? {
        if let path { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("mpirun is missing (scripts/setup installs openmpi-bin), and CI always has it")
        } else {
            print("skipped: mpirun is absent (scripts/setup installs openmpi-bin)")
        }
        return nil
    }

    /// `speechlab arguments` as `ranks` processes of one MPI job (oversubscribed: CI has 2 cores;
    /// allowed as root, as CI runs).
    static func run(_ mpirun: String, ranks: Int, _ arguments: [String]) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", String(ranks), "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", Speechlab.executable] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// Training over MPI ranks gives the model one process gives, and a failing rank ends the job.
@Suite(.serialized) struct DistributedCommandTests {
    let f = TinyModels.fixture

    @Test func everyCollectiveGivesTheKnownSumsOnTwoRanks() throws {
        guard let mpirun = MPIRun.require() else { return }
        let result = try MPIRun.run(mpirun, ranks: 2, ["ranks"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("2 ranks") && result.stdout.contains("rank 1:") && result.stdout.contains("broadcast, all-gather: ok"), "\(result.stdout)")
        let alone = try Speechlab.run(["ranks"])
        #expect(alone.status == 0 && alone.stdout.contains("1 rank (no launcher"), "\(alone.stdout)")
    }

    /// The default recipe (Baum-Welch, LDA+MLLT, SAT) on two ranks holding one speaker each:
    /// the same bits as one process (exact sums), and rank 0 alone writes.
    @Test func twoRanksTrainTheSameModelAsOneProcess() throws {
        guard let mpirun = MPIRun.require() else { return }
        let out = temporaryFolder()
        let arguments = ["train", "gmm-hmm", "--train", f.data + "/train", "--states", "3", "--gaussians", "2", "--iterations", "3"]
        let one = try Speechlab.run(arguments + ["--out", out + "/one", "--quiet", "--jobs", "2"])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try MPIRun.run(mpirun, ranks: 2, arguments + ["--out", out + "/two", "--jobs", "1"])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stderr.contains("2 ranks") && two.stdout.components(separatedBy: "train gmm-hmm:").count == 2, "\(two.stdout)\n\(two.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: out + "/one/weights.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: out + "/two/weights.safetensors"))
        #expect(a == b, "the 2-rank model differs from the 1-process model")
        #expect(try String(contentsOfFile: out + "/two/training.log", encoding: .utf8).split(separator: "\n").count == 6)
    }

    /// A rank that fails (its speaker's audio is unreadable) ends the whole job with a message
    /// naming it, and leaves no model directory.
    @Test func aFailingRankEndsTheJobNamingTheRank() throws {
        guard let mpirun = MPIRun.require() else { return }
        let out = temporaryFolder()
        try FileManager.default.copyItem(atPath: f.data + "/train", toPath: out + "/train")
        // Point one utterance of the second speaker at a file that is not audio.
        let scp = try String(contentsOfFile: out + "/train/wav.scp", encoding: .utf8).split(separator: "\n").map(String.init)
        let speakers = try String(contentsOfFile: out + "/train/utt2spk", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        let victim = try #require(speakers.last?.first).description
        try "not audio".write(toFile: out + "/broken.wav", atomically: true, encoding: .utf8)
        let edited = scp.map { $0.hasPrefix(victim + " ") ? "\(victim) \(out)/broken.wav" : $0 }
        try (edited.joined(separator: "\n") + "\n").write(toFile: out + "/train/wav.scp", atomically: true, encoding: .utf8)
        let result = try MPIRun.run(mpirun, ranks: 2, ["train", "gmm-hmm", "--train", out + "/train", "--out", out + "/model", "--states", "3",
                                                       "--gaussians", "2", "--iterations", "3", "--quiet"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(" of 2: Error: utterance '\(victim)'") && result.stderr.contains("broken.wav"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/model/model.json"))
    }
}
