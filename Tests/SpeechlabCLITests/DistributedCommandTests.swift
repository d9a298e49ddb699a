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
        try runProcess(mpirun, ["-np", String(ranks), "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", Speechlab.executable] + arguments)
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

    /// Data-parallel training: two ranks of one thread take the two shards of every batch that
    /// one process's two threads take, and all-reduce the gradients: the same weights (the sums
    /// of two terms are the same either way), and rank 0 alone writes. Resumed on two ranks after
    /// more epochs are asked for, it goes on from the checkpoint.
    @Test func twoRanksTrainTheSameNetworkAsTwoThreads() throws {
        guard let mpirun = MPIRun.require() else { return }
        let out = temporaryFolder()
        let arguments = ["train", "rnn", "--kind", "hybrid", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "3", "--batch-size", "8",
                         "--train", f.data + "/train", "--alignments", f.alignments, "--quiet"]
        let one = try Speechlab.run(arguments + ["--out", out + "/one", "--jobs", "2"])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try MPIRun.run(mpirun, ranks: 2, arguments + ["--out", out + "/two", "--jobs", "1"])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stdout.components(separatedBy: "train rnn:").count == 2, "rank 0 alone reports: \(two.stdout)")
        let a = try Data(contentsOf: URL(fileURLWithPath: out + "/one/weights.safetensors"))
        let b = try Data(contentsOf: URL(fileURLWithPath: out + "/two/weights.safetensors"))
        #expect(a == b, "the 2-rank network differs from the 2-thread network")
        let more = try MPIRun.run(mpirun, ranks: 2, arguments.map { $0 == "3" ? "5" : $0 } + ["--out", out + "/two", "--jobs", "1", "--resume"])
        #expect(more.status == 0, "\(more.stderr)")
        #expect(try String(contentsOfFile: out + "/two/training.log", encoding: .utf8).split(separator: "\n").count == 5)
    }

    /// features, align, decode (two-pass adaptation per speaker) and posteriors split the
    /// utterances over two ranks, and write the files one process writes.
    @Test func theOtherCommandsWriteWhatOneProcessWrites() throws {
        guard let mpirun = MPIRun.require() else { return }
        let out = temporaryFolder()
        let runs: [(name: String, arguments: [String], outputs: [String])] = [
            ("features", ["features", "--data", f.data + "/train", "--out"], ["feats.scp", "utt2num_frames", "config.json", "feats/ann_chirp_5.npy"]),
            ("align", ["align", "--model", f.gmm, "--data", f.data + "/train", "--out"], ["alignments.txt", "transforms.json", "hmm.json"]),
            ("decode", ["decode", "--model", f.gmm, "--data", f.data + "/test", "--times", out + "/TIMES", "--out"], ["", "TIMES"]),
            ("posteriors", ["posteriors", "--model", f.gru, "--data", f.data + "/test", "--out"], ["posteriors.scp"]),
        ]
        for run in runs {
            let one = try Speechlab.run(run.arguments.map { $0.replacingOccurrences(of: "TIMES", with: run.name + "-1.times") } + [out + "/" + run.name + "-1", "--quiet"])
            #expect(one.status == 0, "\(run.name): \(one.stderr)")
            let two = try MPIRun.run(mpirun, ranks: 2, run.arguments.map { $0.replacingOccurrences(of: "TIMES", with: run.name + "-2.times") } + [out + "/" + run.name + "-2"])
            #expect(two.status == 0, "\(run.name): \(two.stderr)")
            #expect(two.stdout.components(separatedBy: "\(run.name):").count == 2, "rank 0 alone reports: \(two.stdout)")
            for file in run.outputs {
                let (a, b) = file == "TIMES" ? (out + "/\(run.name)-1.times", out + "/\(run.name)-2.times")
                    : (out + "/\(run.name)-1/" + file, out + "/\(run.name)-2/" + file)
                let (x, y) = file.isEmpty ? (out + "/\(run.name)-1", out + "/\(run.name)-2") : (a, b)
                #expect(try Data(contentsOf: URL(fileURLWithPath: x)) == Data(contentsOf: URL(fileURLWithPath: y)), "\(run.name): \(file) differs")
            }
        }
    }

    /// A command that does not share its work (score) runs on rank 0 alone, and says so.
    @Test func aCommandWithoutRanksRunsOnceUnderMPIRun() throws {
        guard let mpirun = MPIRun.require() else { return }
        let result = try MPIRun.run(mpirun, ranks: 2, ["score", "--ref", f.data + "/test/text", "--hyp", f.data + "/test/text"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.components(separatedBy: "%WER").count == 2, "\(result.stdout)")
        #expect(result.stderr.contains("'score' runs on one rank"), "\(result.stderr)")
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
        // Failures known to every rank once the outcomes are gathered: reported once, by rank 0.
        let features = try MPIRun.run(mpirun, ranks: 2, ["features", "--data", out + "/train", "--out", out + "/feats", "--quiet"])
        #expect(features.status == 1)
        #expect(features.stderr.components(separatedBy: "Error: 1 of 18 utterance(s) failed").count == 2 && !features.stderr.contains("Error: Error"),
                "\(features.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/feats/feats.scp"))
    }
}

extension DistributedCommandTests {
    /// The tiny training set `copies` times over (new utterance ids and speakers, the same audio):
    /// enough work per iteration for a test to act during a run.
    static func enlarged(_ data: String, copies: Int, into target: String) throws -> String {
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        func lines(_ name: String) throws -> [[Substring]] {
            try String(contentsOfFile: data + "/" + name, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1) }
        }
        let scp = try lines("wav.scp"), text = try lines("text"), speakers = try lines("utt2spk")
        var out = ["wav.scp": "", "text": "", "utt2spk": ""]
        for c in 0..<copies {
            for l in scp { out["wav.scp"]! += "c\(c)_\(l[0]) \(l[1])\n" }
            for l in text { out["text"]! += "c\(c)_\(l[0]) \(l[1])\n" }
            for l in speakers { out["utt2spk"]! += "c\(c)_\(l[0]) \(l[1])_\(c)\n" }
        }
        for (name, content) in out { try content.write(toFile: target + "/" + name, atomically: true, encoding: .utf8) }
        return target
    }

    /// The ranks `mpirun` (process `launcher`) started, by rank.
    static func ranks(of launcher: Int32) -> [Int: Int32] {
        let children = (try? String(contentsOfFile: "/proc/\(launcher)/task/\(launcher)/children", encoding: .utf8)) ?? ""
        var found: [Int: Int32] = [:]
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) {
            guard let environment = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { continue }
            for entry in environment.split(separator: 0) {
                let text = String(decoding: entry, as: UTF8.self)
                if text.hasPrefix("OMPI_COMM_WORLD_RANK="), let r = Int(text.dropFirst(21)) { found[r] = pid }
            }
        }
        return found
    }

    /// Rank 1 killed mid-run: the job ends with mpirun naming the rank, the last checkpoint (rank
    /// 0's, written whole) stays, and `--resume` on two ranks ends with the model one
    /// uninterrupted process trains.
    @Test func killingARankLeavesACheckpointThatResumesToTheSameModel() throws {
        guard let mpirun = MPIRun.require() else { return }
        let out = temporaryFolder()
        let data = try Self.enlarged(f.data + "/train", copies: 24, into: out + "/train")
        let arguments = ["train", "gmm-hmm", "--train", data, "--states", "3", "--gaussians", "2", "--iterations", "16", "--no-lda",
                         "--jobs", "1", "--checkpoint-every", "0", "--quiet"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "2", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", Speechlab.executable] + arguments + ["--out", out + "/model"]
        // Output to a file: nothing to drain while the test polls (and no shared null device).
        _ = FileManager.default.createFile(atPath: out + "/mpirun.out", contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/mpirun.out"))
        defer { try? output.close() }
        process.standardError = output
        process.standardOutput = output
        try process.run()
        let log = out + "/model/training.log"
        let deadline = Date().addingTimeInterval(300)
        var killed = false
        while process.isRunning, Date() < deadline {
            let saved = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
            if saved >= 2, let victim = Self.ranks(of: process.processIdentifier)[1] {
                kill(victim, SIGKILL)
                killed = true
                break
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: out + "/mpirun.out", encoding: .utf8)) ?? ""
        try #require(killed, "the run ended before rank 1 could be killed: \(stderr)")
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("rank 1") && stderr.contains("signal 9"), "\(stderr)")
        let saved = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        #expect(saved >= 2 && saved < 16)
        let resumed = try MPIRun.run(mpirun, ranks: 2, arguments + ["--out", out + "/model", "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming after iteration \(saved) of 16"), "\(resumed.stderr)")
        let reference = try Speechlab.run(arguments + ["--out", out + "/reference"])
        #expect(reference.status == 0, "\(reference.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/model/weights.safetensors"))
            == Data(contentsOf: URL(fileURLWithPath: out + "/reference/weights.safetensors")))
    }
}

/// The Slurm path on a one-node cluster started for the test (`scripts/slurm-local`): a 2-task
/// job submitted with `sbatch` (`scripts/slurm/train.sbatch`) trains the model one process
/// trains, and `srun -n 2` forms one MPI job.
@Suite(.serialized) struct SlurmTests {
    let f = TinyModels.fixture

    static var repository: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// Runs `command` (found on PATH) with `arguments` and `environment` added.
    static func run(_ command: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        try runProcess("/usr/bin/env", [command] + arguments, environment: environment)
    }

    @Test func aTwoTaskBatchJobTrainsTheOneProcessModel() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/sbatch"), FileManager.default.isExecutableFile(atPath: "/usr/sbin/slurmd") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                Issue.record("Slurm is missing (scripts/setup installs slurm-wlm and munge), and CI always has it")
            } else {
                print("skipped: Slurm is absent (scripts/setup installs slurm-wlm and munge)")
            }
            return
        }
        let out = temporaryFolder()
        let cluster = out + "/cluster"
        let started = try Self.run(Self.repository + "/scripts/slurm-local", ["start", cluster])
        defer { _ = try? Self.run(Self.repository + "/scripts/slurm-local", ["stop", cluster]) }
        try #require(started.status == 0, "the local Slurm cluster did not start: \(started.stderr)")
        let slurm = ["SLURM_CONF": cluster + "/slurm.conf", "SPEECHLAB": Speechlab.executable]
        let ranks = try Self.run("srun", ["-n", "2", "--mpi=pmix", Speechlab.executable, "ranks"], environment: slurm)
        #expect(ranks.status == 0 && ranks.stdout.contains("2 ranks") && ranks.stdout.contains("broadcast, all-gather: ok"), "\(ranks.stdout)\(ranks.stderr)")
        let options = ["--states", "3", "--gaussians", "2", "--iterations", "3"]
        let job = try Self.run("sbatch", ["--wait", "--output=" + out + "/job.out", Self.repository + "/scripts/slurm/train.sbatch", f.data + "/train", out + "/slurm"] + options,
                               environment: slurm)
        let log = (try? String(contentsOfFile: out + "/job.out", encoding: .utf8)) ?? ""
        #expect(job.status == 0, "\(job.stderr)\(log)")
        #expect(log.contains("2 ranks"), "\(log)")
        let one = try Speechlab.run(["train", "gmm-hmm", "--train", f.data + "/train", "--out", out + "/one", "--quiet"] + options)
        #expect(one.status == 0, "\(one.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/slurm/weights.safetensors")) == Data(contentsOf: URL(fileURLWithPath: out + "/one/weights.safetensors")))
    }
}
