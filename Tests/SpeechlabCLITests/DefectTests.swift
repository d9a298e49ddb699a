import AcousticModels
import AudioIO
import Foundation
import SpeechBase
import SpeechCorpus
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Tiny models trained once on synthesized tone "words" (no shared data needed), which the
/// defect tests below copy and damage.
enum TinyModels {
    struct Fixture: Sendable {
        var root: String
        var data: String { root + "/data" }
        var gmm: String { root + "/gmm" }
        var alignments: String { root + "/ali" }
        var gru: String { root + "/gru" }
    }

    static let fixture: Fixture = {
        let root = temporaryFolder()
        let recordings = try! CompareCommandTests.makeRecordings()
        func run(_ arguments: [String]) {
            let result = try! Speechlab.run(arguments)
            precondition(result.status == 0, "speechlab \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)")
        }
        run(["prepare", "fsdd", "--src", recordings, "--out", root + "/data"])
        run(["train", "gmm-hmm", "--train", root + "/data/train", "--out", root + "/gmm", "--states", "3", "--gaussians", "2",
             "--iterations", "3", "--quiet"])
        run(["align", "--model", root + "/gmm", "--data", root + "/data/train", "--out", root + "/ali", "--quiet"])
        run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "2", "--batch-size", "8",
             "--train", root + "/data/train", "--alignments", root + "/ali", "--out", root + "/gru", "--quiet"])
        return Fixture(root: root)
    }()

    /// A copy of `model` in a new folder, for a test to change.
    static func copy(_ model: String) throws -> String {
        let target = temporaryFolder() + "/" + (model as NSString).lastPathComponent
        try FileManager.default.copyItem(atPath: model, toPath: target)
        return target
    }

    /// Rewrites the JSON file at `path` through `change`.
    static func editJSON(_ path: String, _ change: (inout [String: Any]) -> Void) throws {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }
}

/// An error exit: status 1, a message, no Swift trap (signals give 128 + n) and no usage text.
private func expectFailure(_ result: CommandResult, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 1, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.contains(text), "stderr lacks '\(text)': \(result.stderr)", sourceLocation: sourceLocation)
    #expect(!result.stderr.contains("USAGE"), "a runtime failure printed the usage text", sourceLocation: sourceLocation)
}

private func expectUsageError(_ result: CommandResult, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == 64, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.contains(text), "stderr lacks '\(text)': \(result.stderr)", sourceLocation: sourceLocation)
}

@Suite struct DefectTests {
    let f = TinyModels.fixture

    // 1. Freezing parameters (the checkpoint once walked Adam moments of frozen ones too).
    @Test func finetuningWithFrozenParametersCheckpointsAndResumes() throws {
        let out = temporaryFolder() + "/tuned"
        for freeze in ["rnn", "output", "rnn.weight_ih_l0"] {
            let result = try Speechlab.run(["train", "rnn", "--init", f.gru, "--freeze", freeze, "--epochs", "2", "--batch-size", "8",
                                            "--train", f.data + "/train", "--alignments", f.alignments, "--out", out, "--overwrite", "--quiet"])
            #expect(result.status == 0, "--freeze \(freeze): \(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: out + "/checkpoint/state.json"))
        }
        let resumed = try Speechlab.run(["train", "rnn", "--init", f.gru, "--freeze", "rnn.weight_ih_l0", "--epochs", "3", "--batch-size", "8",
                                         "--train", f.data + "/train", "--alignments", f.alignments, "--out", out, "--resume", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        expectUsageError(try Speechlab.run(["train", "rnn", "--freeze", "", "--train", f.data + "/train", "--alignments", f.alignments,
                                            "--out", out + "2"]), mentioning: "--freeze needs a parameter name")
        expectUsageError(try Speechlab.run(["train", "rnn", "--kind", "classifier", "--init", f.gru, "--train", f.data + "/train",
                                            "--out", out + "3"]), mentioning: "the classifier does not take them")
    }

    // 2 and 4. Sizes in model.json are checked before anything is allocated.
    @Test func damagedArchitecturesAreRefusedNotTrapped() throws {
        for (key, value) in [("hiddenSize", 0), ("hiddenSize", -3), ("hiddenSize", 1_000_000_000), ("layers", 0), ("layers", 100_000)] {
            let model = try TinyModels.copy(f.gru)
            try TinyModels.editJSON(model + "/model.json") { object in
                var architecture = object["architecture"] as! [String: Any]
                architecture[key] = value
                object["architecture"] = architecture
            }
            expectFailure(try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--out", model + "/hyp"]), mentioning: key)
        }
    }

    // 3. A topology destination out of range was an index out of range in the decoder.
    @Test func topologiesOutOfRangeAreRefused() throws {
        let model = try TinyModels.copy(f.gmm)
        try TinyModels.editJSON(model + "/model.json") { object in
            var topologies = object["topologies"] as! [[String: Any]]
            topologies[0]["destinations"] = [[0, 99], [1, 2], [2, 3]]
            object["topologies"] = topologies
        }
        expectFailure(try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--out", model + "/hyp"]), mentioning: "destinations")
        let alignments = try TinyModels.copy(f.alignments)
        try TinyModels.editJSON(alignments + "/hmm.json") { object in
            var topologies = object["topologies"] as! [[String: Any]]
            topologies[1]["destinations"] = [[-1, 1], [1, 2], [2, 3]]
            object["topologies"] = topologies
        }
        expectFailure(try Speechlab.run(["train", "rnn", "--train", f.data + "/train", "--alignments", alignments,
                                         "--out", temporaryFolder() + "/m"]), mentioning: "destinations")
    }

    // 4 and 6. Sizes the data cannot support are refused before training.
    @Test func sizesBeyondTheDataAreRefused() throws {
        let out = temporaryFolder() + "/m"
        expectUsageError(try Speechlab.run(["train", "rnn", "--hidden", "100000000", "--train", f.data + "/train", "--alignments", f.alignments,
                                            "--out", out]), mentioning: "--hidden is at most")
        expectUsageError(try Speechlab.run(["train", "rnn", "--layers", "100000", "--train", f.data + "/train", "--alignments", f.alignments,
                                            "--out", out]), mentioning: "--layers at most")
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--states", "1000000", "--train", f.data + "/train", "--out", out, "--quiet"]),
                      mentioning: "fewer --states")
        // 0.7 s utterances (68 frames) of one word: 70 states leave every word untrained.
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--states", "70", "--gaussians", "1", "--train", f.data + "/train", "--out", out, "--quiet"]),
                      mentioning: "would never be trained")
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--gaussians", "100000", "--train", f.data + "/train", "--out", out, "--quiet"]),
                      mentioning: "fewer Gaussians")
        expectUsageError(try Speechlab.run(["train", "gmm-hmm", "--checkpoint-every=-1", "--train", f.data + "/train", "--out", out, "--quiet"]),
                         mentioning: "--checkpoint-every must be 0 or more")
        expectUsageError(try Speechlab.run(["prepare", "connected-digits", "--src", f.root, "--out", out, "--min-digits", "100000",
                                            "--max-digits", "100000"]), mentioning: "--max-digits is at most 100")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // 5. Windows line ends in every text format.
    @Test func windowsLineEndsScoreLikeUnixOnes() throws {
        let root = temporaryFolder()
        try "a one two\r\nb three\r\n".write(toFile: root + "/ref", atomically: true, encoding: .utf8)
        try "a one two\r\nb three\r\n".write(toFile: root + "/hyp", atomically: true, encoding: .utf8)
        let result = try Speechlab.run(["score", "--ref", root + "/ref", "--hyp", root + "/hyp"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("%WER 0.00 [ 0 / 3, 0 ins, 0 del, 0 sub ]"), "\(result.stdout)")
        try "--num-mel-bins=20\r\n--snip_edges=f\r\n".write(toFile: root + "/mfcc.conf", atomically: true, encoding: .utf8)
        let features = try Speechlab.run(["features", "--data", f.data + "/test", "--config", root + "/mfcc.conf", "--out", root + "/feats", "--quiet"])
        #expect(features.status == 0, "\(features.stderr)")
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/feats/config.json"))) as! [String: Any]
        #expect((config["frame"] as! [String: Any])["snipEdges"] as? Bool == false)
        let alignments = try TinyModels.copy(f.alignments)
        let unix = try String(contentsOfFile: alignments + "/alignments.txt", encoding: .utf8)
        try unix.replacingOccurrences(of: "\n", with: "\r\n").write(toFile: alignments + "/alignments.txt", atomically: true, encoding: .utf8)
        let rnn = try Speechlab.run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1", "--train", f.data + "/train",
                                     "--alignments", alignments, "--out", root + "/gru", "--quiet"])
        #expect(rnn.status == 0, "\(rnn.stderr)")
    }

    // 6. Garbage in a model or an option is refused, not decoded into garbage.
    @Test func nonFiniteModelsAndSearchOptionsAreRefused() throws {
        let model = try TinyModels.copy(f.gru)
        try TinyModels.editJSON(model + "/model.json") { object in
            var normalization = object["normalization"] as! [String: Any]
            var std = normalization["std"] as! [Double]
            std[0] = 0
            normalization["std"] = std
            object["normalization"] = normalization
        }
        expectFailure(try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--out", model + "/hyp"]), mentioning: "standard deviation")
        let nan = try TinyModels.copy(f.gru)
        var weights = try Data(contentsOf: URL(fileURLWithPath: nan + "/weights.safetensors"))
        let headerLength = Int(weights.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        withUnsafeBytes(of: Float.nan.bitPattern.littleEndian) { weights.replaceSubrange((8 + headerLength)..<(12 + headerLength), with: $0) }
        try weights.write(to: URL(fileURLWithPath: nan + "/weights.safetensors"))
        expectFailure(try Speechlab.run(["decode", "--model", nan, "--data", f.data + "/test", "--out", nan + "/hyp"]), mentioning: "NaN")
        for (flag, value) in [("--beam", "0"), ("--beam", "-1"), ("--beam", "nan"), ("--acoustic-scale", "-1"), ("--acoustic-scale", "nan"),
                              ("--word-penalty", "inf")] {
            expectUsageError(try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", model + "/hyp", flag, value]),
                             mentioning: flag)
        }
        let root = temporaryFolder()
        try "a\nb\n".write(toFile: root + "/ref", atomically: true, encoding: .utf8)
        expectFailure(try Speechlab.run(["score", "--ref", root + "/ref", "--hyp", root + "/ref"]), mentioning: "hold no words")
    }

    // 7. One policy for unreadable audio: fail naming the file, or skip with --keep-going.
    @Test func aCorruptFileFailsEveryCommandUnlessKeepGoing() throws {
        let data = temporaryFolder() + "/test"
        try FileManager.default.copyItem(atPath: f.data + "/test", toPath: data)
        let scp = try String(contentsOfFile: data + "/wav.scp", encoding: .utf8)
        let victim = String(scp.split(separator: "\n")[1].split(separator: " ")[0])
        let corrupt = temporaryFolder() + "/corrupt.wav"
        try Data("RIFF....WAVEfmt garbage".utf8).write(to: URL(fileURLWithPath: corrupt))
        let lines = scp.split(separator: "\n").map { $0.hasPrefix(victim + " ") ? "\(victim) \(corrupt)" : String($0) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: data + "/wav.scp", atomically: true, encoding: .utf8)
        let out = temporaryFolder()
        expectFailure(try Speechlab.run(["decode", "--model", f.gmm, "--data", data, "--out", out + "/hyp"]), mentioning: corrupt)
        expectFailure(try Speechlab.run(["align", "--model", f.gmm, "--data", data, "--out", out + "/ali"]), mentioning: corrupt)
        expectFailure(try Speechlab.run(["compare", "--test", data, "--models", f.gmm, "--out", out + "/cmp"]), mentioning: corrupt)
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--train", data, "--out", out + "/m"]), mentioning: corrupt)
        #expect(!FileManager.default.fileExists(atPath: out + "/hyp"))
        let skipping = try Speechlab.run(["decode", "--model", f.gmm, "--data", data, "--out", out + "/hyp", "--keep-going"])
        #expect(skipping.status == 0, "\(skipping.stderr)")
        #expect(skipping.stderr.contains("skipped 1 of"))
    }

    // 8. Kaldi segments: utterances cut out of longer recordings.
    @Test func segmentsCutUtterancesOutOfRecordings() throws {
        let data = temporaryFolder() + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let recording = try String(contentsOfFile: f.data + "/test/wav.scp", encoding: .utf8).split(separator: "\n")[0].split(separator: " ")[1]
        try "rec \(recording)\n".write(toFile: data + "/wav.scp", atomically: true, encoding: .utf8)
        try "u1 rec 0.0 0.3\nu2 rec 0.2 -1\n".write(toFile: data + "/segments", atomically: true, encoding: .utf8)
        try "u1 low\nu2 low\n".write(toFile: data + "/text", atomically: true, encoding: .utf8)
        let result = try Speechlab.run(["features", "--data", data, "--out", data + "/feats", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let frames = try String(contentsOfFile: data + "/feats/utt2num_frames", encoding: .utf8)
        // 0.3 s and 0.5 s at 8 kHz: 28 and 48 frames of 25 ms every 10 ms.
        #expect(frames == "u1 28\nu2 48\n", "\(frames)")
        try "u1 rec 0.0 0.3\nu2 other 0.2 -1\n".write(toFile: data + "/segments", atomically: true, encoding: .utf8)
        expectFailure(try Speechlab.run(["features", "--data", data, "--out", data + "/feats2"]), mentioning: "segments:2: recording 'other'")
    }

    // 17. Features made with a model's own front end, and posteriors of either neural family.
    @Test func featuresLikeAModelAreWhatItDecodes() throws {
        let root = temporaryFolder()
        let made = try Speechlab.run(["features", "--data", f.data + "/test", "--like", f.gru, "--out", root + "/feats", "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        let decoded = try Speechlab.run(["decode", "--model", f.gru, "--feats", root + "/feats", "--out", root + "/hyp", "--quiet"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        expectUsageError(try Speechlab.run(["features", "--data", f.data + "/test", "--like", f.gru, "--deltas", "--out", root + "/x"]),
                         mentioning: "--like")
        #expect(try Speechlab.run(["train", "rnn", "--kind", "classifier", "--layers", "1", "--hidden", "4", "--epochs", "1",
                                   "--train", f.data + "/train", "--out", root + "/cls", "--quiet"]).status == 0)
        let posteriors = try Speechlab.run(["posteriors", "--model", root + "/cls", "--data", f.data + "/test", "--out", root + "/post", "--quiet"])
        #expect(posteriors.status == 0, "\(posteriors.stderr)")
        let first = try String(contentsOfFile: root + "/post/posteriors.scp", encoding: .utf8).split(separator: "\n")[0].split(separator: " ")
        let header = try Data(contentsOf: URL(fileURLWithPath: root + "/post/" + first[1]))
        #expect(String(decoding: header.prefix(80), as: UTF8.self).contains("'shape': (1, 3)"))
    }

    // 9 and 18. Kaldi's resampling policy, and Kaldi's Boolean spellings on the command line.
    @Test func otherRatesAreRefusedUnlessKaldisFlagsAllowThem() throws {
        let out = temporaryFolder()
        expectFailure(try Speechlab.run(["features", "--data", f.data + "/test", "--sample-frequency", "16000", "--out", out + "/a"]),
                      mentioning: "--allow-upsample")
        for flags in [["--allow-upsample"], ["--allow_upsample=t"], ["--allow-upsample", "true"]] {
            let result = try Speechlab.run(["features", "--data", f.data + "/test", "--sample-frequency", "16000", "--snip-edges",
                                            "--out", out + "/b", "--quiet"] + flags)
            #expect(result.status == 0, "\(flags): \(result.stderr)")
        }
    }

    // 10. A training killed at any moment leaves a model that decodes and resumes to the
    // model of an uninterrupted run.
    @Test func aKilledTrainingResumesToTheSameModel() throws {
        let root = temporaryFolder()
        let options = ["--states", "3", "--gaussians", "2", "--iterations", "8", "--jobs", "1", "--checkpoint-every", "0", "--train", f.data + "/train"]
        #expect(try Speechlab.run(["train", "gmm-hmm", "--out", root + "/whole", "--quiet"] + options).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Speechlab.executable)
        process.arguments = ["train", "gmm-hmm", "--out", root + "/killed"] + options
        let errors = Pipe()
        process.standardError = errors
        // Standard output to a file of its own, not the null device every test shares.
        let outputFile = temporaryFolder() + "/killed.out"
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        defer { try? output.close() }
        process.standardOutput = output
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("iteration 4/8") {
            let chunk = try DescriptorReader.readAvailable(errors.fileHandleForReading.fileDescriptor)
            if chunk.isEmpty { break }
            seen += chunk
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let decode = try Speechlab.run(["decode", "--model", root + "/killed", "--data", f.data + "/test", "--out", root + "/hyp", "--quiet"])
        #expect(decode.status == 0, "\(decode.stderr)")
        let resumed = try Speechlab.run(["train", "gmm-hmm", "--out", root + "/killed", "--resume", "--quiet"] + options)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: root + "/killed/weights.safetensors"))
                == Data(contentsOf: URL(fileURLWithPath: root + "/whole/weights.safetensors")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).sorted() == ["hyp", "killed", "whole"])
    }

    // 11. A resume with other settings or data is refused, naming what differs.
    @Test func resumingWithOtherSettingsIsRefused() throws {
        let model = try TinyModels.copy(f.gmm)
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--train", f.data + "/train", "--out", model, "--states", "4", "--gaussians", "2",
                                         "--iterations", "3", "--resume"]), mentioning: "statesPerUnit")
        expectFailure(try Speechlab.run(["train", "gmm-hmm", "--train", f.data + "/test", "--out", model, "--states", "3", "--gaussians", "2",
                                         "--iterations", "3", "--resume"]), mentioning: "dataFingerprint")
        let gru = try TinyModels.copy(f.gru)
        expectFailure(try Speechlab.run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "3", "--batch-size", "4",
                                         "--train", f.data + "/train", "--alignments", f.alignments, "--out", gru, "--resume"]), mentioning: "batchSize")
    }

    // 12. A second features run into a folder that another run is writing is refused.
    @Test func concurrentFeatureRunsIntoOneFolderAreRefused() throws {
        let out = temporaryFolder() + "/feats"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let fd = open(out + "/.lock", O_RDWR | O_CREAT, 0o644)
        #expect(flock(fd, LOCK_EX) == 0)
        expectFailure(try Speechlab.run(["features", "--data", f.data + "/test", "--out", out]), mentioning: "another run is writing features")
        close(fd)
        #expect(try Speechlab.run(["features", "--data", f.data + "/test", "--out", out, "--quiet"]).status == 0)
    }

    // 13. Existing models are not overwritten silently; `-` is standard output; links are not replaced.
    @Test func outputsAreReplacedOnlyWhenSafe() throws {
        let gru = try TinyModels.copy(f.gru)
        let arguments = ["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1", "--train", f.data + "/train",
                         "--alignments", f.alignments, "--out", gru, "--quiet"]
        expectFailure(try Speechlab.run(arguments), mentioning: "--overwrite")
        #expect(try Speechlab.run(arguments + ["--overwrite"]).status == 0)
        let toStdout = try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", "-", "--quiet"])
        #expect(toStdout.status == 0)
        let utterances = try String(contentsOfFile: f.data + "/test/wav.scp", encoding: .utf8).split(separator: "\n").count
        #expect(toStdout.stdout.split(separator: "\n").count == utterances, "\(toStdout.stdout)")
        #expect(toStdout.stderr.contains("decode: \(utterances) utterances"))
        let folder = temporaryFolder()
        try "keep\n".write(toFile: folder + "/target", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/target")
        expectFailure(try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", folder + "/link", "--quiet"]),
                      mentioning: "symbolic link")
        #expect(try String(contentsOfFile: folder + "/target", encoding: .utf8) == "keep\n")
    }

    // 14. Runtime failures are errors with status 1, naming the file, never usage text.
    /// A feature transform whose matrix does not fit its sizes is refused by every command
    /// that reads the model, naming the file and the sizes.
    @Test func aFeatureTransformOfTheWrongSizeIsRefused() throws {
        let model = try TinyModels.copy(f.gmm)
        var dimension = 0
        try TinyModels.editJSON(model + "/model.json") { json in
            var features = json["features"] as! [String: Any]
            var transform = features["transform"] as! [String: Any]
            var matrix = transform["matrix"] as! [Any]
            dimension = transform["outputDimension"] as! Int
            matrix.removeLast()
            transform["matrix"] = matrix
            features["transform"] = transform
            json["features"] = features
        }
        #expect(dimension > 0)
        for command in [["decode", "--model", model, "--data", f.data + "/test", "--out", model + "/hyp"],
                        ["align", "--model", model, "--data", f.data + "/test", "--out", model + "/ali"]] {
            expectFailure(try Speechlab.run(command + ["--quiet"]), mentioning: "the splice transform's matrix has")
        }
        #expect(!FileManager.default.fileExists(atPath: model + "/hyp"))
    }

    @Test func runtimeFailuresNameTheFileWithoutUsageText() throws {
        expectFailure(try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", "/nonexistent-folder/hyp", "--quiet"]),
                      mentioning: "/nonexistent-folder/hyp")
        let model = try TinyModels.copy(f.gmm)
        try "{\"kind\": \"gmm-hmm\", ".write(toFile: model + "/model.json", atomically: true, encoding: .utf8)
        expectFailure(try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--out", model + "/hyp"]),
                      mentioning: "is not a JSON object")
        let missingKey = try TinyModels.copy(f.gmm)
        try TinyModels.editJSON(missingKey + "/model.json") { $0["units"] = nil }
        expectFailure(try Speechlab.run(["decode", "--model", missingKey, "--data", f.data + "/test", "--out", missingKey + "/hyp"]),
                      mentioning: "'units' is missing")
        let unknownKind = try TinyModels.copy(f.gmm)
        try TinyModels.editJSON(unknownKind + "/model.json") { $0["kind"] = "transformer" }
        expectFailure(try Speechlab.run(["decode", "--model", unknownKind, "--data", f.data + "/test", "--out", unknownKind + "/hyp"]),
                      mentioning: "kind 'transformer' is not a model family")
        let data = temporaryFolder()
        let first = try String(contentsOfFile: f.data + "/test/wav.scp", encoding: .utf8).split(separator: "\n")[0].split(separator: " ")
        try Data([0xEF, 0xBB, 0xBF] + Array("\(first[0]) \(first[1])\n".utf8)).write(to: URL(fileURLWithPath: data + "/wav.scp"))
        try Data([0xEF, 0xBB, 0xBF] + Array("\(first[0]) low\n".utf8)).write(to: URL(fileURLWithPath: data + "/text"))
        #expect(try Speechlab.run(["features", "--data", data, "--out", data + "/feats", "--quiet"]).status == 0)
        try "\(first[0]) \(first[1])[0:100]\n".write(toFile: data + "/wav.scp", atomically: true, encoding: .utf8)
        expectFailure(try Speechlab.run(["features", "--data", data, "--out", data + "/feats2"]), mentioning: "extended filenames")
    }

    // SpecAugment is a training flag recorded in the model it made.
    @Test func specAugmentIsRecordedInModelJSON() throws {
        let out = temporaryFolder() + "/gru"
        let result = try Speechlab.run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1", "--batch-size", "8",
                                        "--train", f.data + "/train", "--alignments", f.alignments, "--out", out, "--quiet",
                                        "--spec-augment", "--time-mask", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model.json"))) as! [String: Any]
        let policy = (json["training"] as? [String: Any])?["specAugment"] as? [String: Any]
        #expect(policy?["maxTimeWidth"] as? Int == 5 && policy?["featureMasks"] as? Int == 2)
        expectUsageError(try Speechlab.run(["train", "rnn", "--train", f.data + "/train", "--alignments", f.alignments, "--out", out,
                                            "--spec-augment", "--feature-mask=-1"]), mentioning: "--feature-mask")
    }

    // Gain and noise copies: deterministic by seed, recorded in the data directory and then in
    // the model trained on it.
    @Test func volumeAndNoisePerturbationAreRecordedInDataAndModel() throws {
        let root = temporaryFolder()
        let arguments = ["perturb", "--data", f.data + "/train", "--speeds", "1", "--volume", "0.5:0.5", "--noise-snr", "20:30", "--quiet"]
        for out in ["a", "b"] { #expect(try Speechlab.run(arguments + ["--out", root + "/" + out]).status == 0) }
        let first = try DataDirectory.load(root + "/a").utterances[0]
        let copy = try AudioFile.read(first.audioPath, options: AudioReadOptions(scale: 1))
        #expect(try Data(contentsOf: URL(fileURLWithPath: first.audioPath)) == Data(contentsOf: URL(fileURLWithPath: first.audioPath.replacingOccurrences(of: root + "/a/", with: root + "/b/"))))
        let original = try AudioFile.read(try DataDirectory.load(f.data + "/train").utterances.first { $0.id == first.id }!.audioPath,
                                          options: AudioReadOptions(scale: 1))
        let power = { (x: [Float]) in x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count) }
        #expect(abs(power(copy.samples) / power(original.samples) - 0.25) < 0.25 * 0.02)  // gain 0.5, noise ≥ 20 dB below
        let record = try #require(try DataDirectory.perturbation(of: root + "/a"))
        #expect(record.volume == 0.5...0.5 && record.noiseSNR == 20...30 && record.speeds == [1])
        let model = root + "/gru"
        let trained = try Speechlab.run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "1", "--batch-size", "8",
                                         "--train", root + "/a", "--alignments", f.alignments, "--out", model, "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model.json"))) as! [String: Any]
        let kept = (json["training"] as? [String: Any])?["dataPerturbation"] as? [String: Any]
        #expect(kept?["seed"] as? Int == 1 && kept?["speeds"] as? [Double] == [1])
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--noise-dir", root]), mentioning: "--noise-dir needs --noise-snr")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--volume", "2:1"]), mentioning: "--volume takes lo:hi")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--keep-clean"]), mentioning: "--keep-clean needs")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--noise-color", "pink"]), mentioning: "--noise-color colours generated noise")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--pad", "0.5:0.1"]), mentioning: "--pad takes lo:hi")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--noise-snr", "5:5", "--noise-color", "blue"]), mentioning: "--noise-color")
    }

    // Padded copies beside the clean ones: each 0.1 s longer at both ends, the take inside as it was
    // (to the 16-bit step of the FLAC copy; the samples are read in [-1, 1)).
    @Test func paddedCopiesAreLongerByTheirBackground() throws {
        let root = temporaryFolder()
        let source = try DataDirectory.load(f.data + "/train").utterances
        let result = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/pad", "--speeds", "1",
                                        "--pad", "0.1:0.1", "--keep-clean", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let byID = Dictionary(uniqueKeysWithValues: try DataDirectory.load(root + "/pad").utterances.map { ($0.id, $0) })
        for u in source.prefix(2) {
            let original = try AudioFile.read(u.audioPath, options: AudioReadOptions(scale: 1))
            let copy = try AudioFile.read(try #require(byID["aug-" + u.id]).audioPath, options: AudioReadOptions(scale: 1)).samples
            let extra = original.sampleRate / 10
            #expect(copy.count == original.samples.count + 2 * extra)
            #expect(zip(copy[extra..<(extra + original.samples.count)], original.samples).allSatisfy { abs($0 - $1) <= 1.0 / 32768 })
        }
        #expect(try DataDirectory.perturbation(of: root + "/pad")?.padding == 0.1...0.1)
    }

    // Copies through simulated rooms: each longer by its room's ring (at most RT60 + 2.5 ms),
    // the record keeps the ranges; the room's own options are checked.
    @Test func reverberantCopiesRingOnAfterTheTake() throws {
        let root = temporaryFolder()
        let source = try DataDirectory.load(f.data + "/train").utterances
        let result = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/room", "--speeds", "1",
                                        "--reverb", "0.3:0.3", "--reverb-drr", "2:4", "--keep-clean", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("rooms of RT60 0.3-0.3 s"))
        let byID = Dictionary(uniqueKeysWithValues: try DataDirectory.load(root + "/room").utterances.map { ($0.id, $0) })
        for u in source.prefix(2) {
            let original = try AudioFile.read(u.audioPath, options: AudioReadOptions(scale: 1))
            let copy = try AudioFile.read(try #require(byID["aug-" + u.id]).audioPath, options: AudioReadOptions(scale: 1)).samples
            let ring = original.sampleRate / 400 + Int(0.3 * Double(original.sampleRate)) - 1
            #expect(copy.count == original.samples.count + ring)
            #expect(zip(copy, original.samples).contains { abs($0 - $1) > 0.01 }, "\(u.id): the copy is not the take")
        }
        let record = try DataDirectory.perturbation(of: root + "/room")
        #expect(record?.reverbRT60 == 0.3...0.3 && record?.reverbDirectToReverberant == 2...4)
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--reverb", "0:0.5"]), mentioning: "--reverb takes lo:hi")
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--reverb-drr", "0:5"]), mentioning: "--reverb-drr needs --reverb")
    }

    // Options whose values may be negative take "-5" after a space as their value, as they take
    // "--option=-5" (swift-argument-parser would otherwise read "-5" as an option and refuse).
    @Test func negativeNumbersAfterASpaceAreTheOptionsValues() throws {
        let root = temporaryFolder()
        func read(_ files: [String]) throws -> [String] { try files.map { try String(contentsOfFile: $0, encoding: .utf8) } }
        func outputs(_ arguments: [String], files: [String]) throws -> [String] {
            let result = try Speechlab.run(arguments + ["--quiet"])
            #expect(result.status == 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
            return try read(files)
        }
        for (form, values) in [("space", [["--word-penalty", "-5"], ["--high-freq", "-400", "--vtln-warp", "0.9", "--vtln-high", "-600"]]),
                               ("equals", [["--word-penalty=-5"], ["--high-freq=-400", "--vtln-warp=0.9", "--vtln-high=-600"]])] {
            let decoded = try outputs(["decode", "--model", f.gmm, "--data", f.data + "/test", "--grammar", "loop", "--out", "\(root)/\(form).hyp"] + values[0],
                                      files: ["\(root)/\(form).hyp"])
            let features = try outputs(["features", "--data", f.data + "/test", "--out", "\(root)/\(form)-feats"] + values[1],
                                       files: ["\(root)/\(form)-feats/config.json"])
            if form == "equals" {
                #expect(decoded == (try read(["\(root)/space.hyp"])))
                #expect(features == (try read(["\(root)/space-feats/config.json"])))
                #expect(features[0].contains("-400") && features[0].contains("-600"))
            }
        }
        let perturbed = try Speechlab.run(["perturb", "--data", f.data + "/test", "--out", root + "/noisy", "--speeds", "1", "--noise-snr", "-5:5",
                                           "--reverb", "0.2:0.3", "--reverb-drr", "-3:0", "--quiet"])
        #expect(perturbed.status == 0, "\(perturbed.stderr)")
        let record = try DataDirectory.perturbation(of: root + "/noisy")
        #expect(record?.noiseSNR == -5...5 && record?.reverbDirectToReverberant == -3...0)
    }

    // Cut copies beside the clean and the noisy ones: three sets, each cut copy shorter than its
    // take by the lead-in and the cut, ending as the take does; the record says so.
    @Test func cutOnsetCopiesAreASetOfTheirOwn() throws {
        let root = temporaryFolder()
        let source = try DataDirectory.load(f.data + "/train").utterances
        let result = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/cut", "--speeds", "1",
                                        "--noise-snr", "20:20", "--cut-onset", "0.05:0.05", "--keep-clean"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0.05-0.05 s cut after the onset") && result.stdout.contains("the cut copies a set of their own"))
        let listed = try DataDirectory.load(root + "/cut").utterances
        #expect(listed.count == 3 * source.count)
        let byID = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0) })
        for u in source.prefix(2) {
            let take = try AudioFile.read(u.audioPath, options: AudioReadOptions(scale: 1))
            let original = take.samples
            let cut = try #require(byID["cut-" + u.id])
            #expect(cut.speaker == u.speaker.map { "cut-" + $0 } && cut.original == u.id && cut.words == u.words)
            let samples = try AudioFile.read(cut.audioPath, options: AudioReadOptions(scale: 1)).samples
            let expected = AudioAugmentation.cutOnset(original, count: take.sampleRate / 20, blockLength: take.sampleRate / 100,
                                                      minimumKept: take.sampleRate / 4)
            #expect(samples.count == expected.count && samples.count < original.count)
            #expect(zip(samples, expected).allSatisfy { abs($0 - $1) <= 1.0 / 32768 }, "\(u.id): the cut copy is the take from onset + 50 ms, clean")
            #expect(try AudioFile.read(try #require(byID["aug-" + u.id]).audioPath).samples.count == original.count)
        }
        #expect(try DataDirectory.perturbation(of: root + "/cut")?.onsetCut == 0.05...0.05)
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--cut-onset", "0.2:0.1"]), mentioning: "--cut-onset takes lo:hi")
    }

    // Both cuts go into the one set of cut copies: each is the take with its lead-in, 50 ms of
    // its start, its tail and 50 ms of its end gone; the record keeps both ranges.
    @Test func cutOffsetCopiesLoseTheEndToo() throws {
        let root = temporaryFolder()
        let source = try DataDirectory.load(f.data + "/train").utterances
        let result = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/cut", "--speeds", "1",
                                        "--cut-onset", "0.05:0.05", "--cut-offset", "0.05:0.05", "--keep-clean"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0.05-0.05 s cut before the offset"))
        let listed = try DataDirectory.load(root + "/cut").utterances
        #expect(listed.count == 2 * source.count)
        let byID = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0) })
        for u in source.prefix(2) {
            let take = try AudioFile.read(u.audioPath, options: AudioReadOptions(scale: 1))
            let block = take.sampleRate / 100, quarter = take.sampleRate / 4
            let onsetCut = AudioAugmentation.cutOnset(take.samples, count: take.sampleRate / 20, blockLength: block, minimumKept: quarter)
            let expected = AudioAugmentation.cutOffset(onsetCut, count: take.sampleRate / 20, blockLength: block, minimumKept: quarter)
            let samples = try AudioFile.read(try #require(byID["cut-" + u.id]).audioPath, options: AudioReadOptions(scale: 1)).samples
            #expect(samples.count == expected.count && samples.count < onsetCut.count)
            #expect(zip(samples, expected).allSatisfy { abs($0 - $1) <= 1.0 / 32768 }, "\(u.id): the cut copy is the take without 50 ms at each end of its speech")
        }
        let record = try #require(try DataDirectory.perturbation(of: root + "/cut"))
        #expect(record.onsetCut == 0.05...0.05 && record.offsetCut == 0.05...0.05)
        expectUsageError(try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/c", "--cut-offset", "0.3:0.1"]), mentioning: "--cut-offset takes lo:hi")
        let alone = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/end", "--speeds", "1", "--cut-offset", "0:0.1", "--keep-clean"])
        #expect(alone.status == 0, "\(alone.stderr)")
        #expect(try DataDirectory.load(root + "/end").utterances.count == 2 * source.count)
    }

    // Noise copies beside the clean ones: the clean audio listed as it is, every noisy copy (pink
    // noise) its own utterance and speaker pointing back to its original, the record saying so
    // (and then the GMM-HMM's model.json).
    @Test func noisyCopiesBesideCleanOnesKeepTheOriginals() throws {
        let root = temporaryFolder()
        let source = try DataDirectory.load(f.data + "/train").utterances
        let result = try Speechlab.run(["perturb", "--data", f.data + "/train", "--out", root + "/aug", "--speeds", "1",
                                        "--noise-snr", "10:10", "--noise-color", "pink", "--keep-clean", "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let listed = try DataDirectory.load(root + "/aug").utterances
        #expect(listed.count == 2 * source.count)
        let byID = Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0) })
        let power = { (x: [Float]) in x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count) }
        for u in source.prefix(3) {
            let clean = try #require(byID[u.id]), noisy = try #require(byID["aug-" + u.id])
            #expect(clean.audioPath == u.audioPath && clean.original == nil)
            #expect(noisy.original == u.id && noisy.speaker == u.speaker.map { "aug-" + $0 } && noisy.words == u.words)
            let original = try AudioFile.read(u.audioPath, options: AudioReadOptions(scale: 1)).samples
            let copy = try AudioFile.read(noisy.audioPath, options: AudioReadOptions(scale: 1)).samples
            // Noise at 10 dB SNR adds a tenth of the signal's power (within the 16-bit rounding).
            #expect(copy.count == original.count && abs(power(copy) / power(original) - 1.1) < 0.03)
        }
        #expect(try DataDirectory.perturbation(of: root + "/aug")?.keepsClean == true)
        #expect(try DataDirectory.perturbation(of: root + "/aug")?.noiseColor == .pink)
        let model = root + "/gmm"
        let trained = try Speechlab.run(["train", "gmm-hmm", "--train", root + "/aug", "--out", model, "--states", "3", "--gaussians", "1",
                                         "--iterations", "2", "--no-lda", "--quiet"])
        #expect(trained.status == 0, "\(trained.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model.json"))) as! [String: Any]
        let kept = (json["training"] as? [String: Any])?["dataPerturbation"] as? [String: Any]
        #expect(kept?["keepsClean"] as? Bool == true && kept?["speeds"] as? [Double] == [1])
        // Perturbing the result again would name a noisy copy of u as the listed aug-u: refused, nothing written.
        let again = try Speechlab.run(["perturb", "--data", root + "/aug", "--out", root + "/again", "--speeds", "1",
                                       "--noise-snr", "10:10", "--keep-clean", "--quiet"])
        #expect(again.status != 0 && again.stderr.contains("would be named 'aug-") && again.stderr.contains("perturbed copies"), "\(again.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/again") && !FileManager.default.fileExists(atPath: root + "/again.partial"))
    }

    // adapt: a GMM-HMM adapted from a few utterances decodes (a hybrid: the test after this one).
    @Test func adaptWritesADecodableGMMHMM() throws {
        let out = temporaryFolder()
        let adapted = try Speechlab.run(["adapt", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/map"])
        #expect(adapted.status == 0 && adapted.stdout.contains("log-likelihood per frame"), "\(adapted.stderr)")
        // By default the means adapt to the utterances at three speeds: three times the frames of --speeds 1.
        #expect(adapted.stderr.contains("utterances at speeds 0.9, 1, 1.1"), "\(adapted.stderr)")
        let asTheyAre = try Speechlab.run(["adapt", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/map1", "--speeds", "1", "--quiet"])
        #expect(asTheyAre.status == 0 && !asTheyAre.stderr.contains("speeds"), "\(asTheyAre.stderr)")
        func frames(_ stdout: String) -> Int? {
            stdout.split(separator: " ").firstIndex(of: "frames,").flatMap { Int(stdout.split(separator: " ")[$0 - 1]) }
        }
        let (all, once) = (frames(adapted.stdout), frames(asTheyAre.stdout))
        #expect(all != nil && once != nil && all! > 2 * once! && all! < 4 * once!, "\(adapted.stdout) \(asTheyAre.stdout)")
        expectUsageError(try Speechlab.run(["adapt", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/t", "--speeds", "0.9,x"]),
                         mentioning: "--speeds")
        // The speaker-adaptive model stays one: its first-pass mixtures adapted too, and decoding adapts in two passes.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/map/model.json"))) as! [String: Any]
        #expect(json["speakerAdaptation"] != nil)
        let decoded = try Speechlab.run(["decode", "--model", out + "/map", "--data", f.data + "/test", "--out", out + "/h"])
        #expect(decoded.status == 0 && decoded.stderr.contains("fMLLR for 2 speakers"), "\(decoded.stderr)")
        expectUsageError(try Speechlab.run(["adapt", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/t", "--mean-tau", "0"]),
                         mentioning: "--mean-tau")
        expectFailure(try Speechlab.run(["adapt", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/map"]), mentioning: "exists")
        // An adaptation that fails leaves the model at --out as it was, --overwrite or not.
        let unknown = out + "/unknown"
        try FileManager.default.copyItem(atPath: f.data + "/test", toPath: unknown)
        let ids = try String(contentsOfFile: unknown + "/text", encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ")[0] }
        try ids.map { "\($0) xylophone\n" }.joined().write(toFile: unknown + "/text", atomically: true, encoding: .utf8)
        let before = FileManager.default.contents(atPath: out + "/map/weights.safetensors")
        expectFailure(try Speechlab.run(["adapt", "--model", f.gmm, "--data", unknown, "--out", out + "/map", "--overwrite"]), mentioning: "word 'xylophone'")
        #expect(before != nil && FileManager.default.contents(atPath: out + "/map/weights.safetensors") == before)
    }

    @Test func adaptFinetunesAHybridOnItsOwnAlignments() throws {
        let out = temporaryFolder()
        let adapted = try Speechlab.run(["adapt", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/tuned"])
        #expect(adapted.status == 0 && adapted.stdout.contains("train rnn: hybrid gru"), "\(adapted.stderr)")
        #expect(adapted.stderr.contains("utterances aligned by \(f.gru)"), "\(adapted.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/tuned/model.json"))) as! [String: Any]
        #expect((json["training"] as? [String: Any])?["learningRate"] as? Double == 0.001)
        let weights = { (model: String) in FileManager.default.contents(atPath: model + "/weights.safetensors") }
        #expect(weights(out + "/tuned") != nil && weights(out + "/tuned") != weights(f.gru))
        let decoded = try Speechlab.run(["decode", "--model", out + "/tuned", "--data", f.data + "/test", "--out", out + "/h"])
        #expect(decoded.status == 0 && decoded.stderr.contains("fMLLR for 2 speakers"), "\(decoded.stderr)")
        // The GMM-HMM it decodes with (first pass, fMLLR) is MAP-adapted too, from the utterances at three speeds.
        #expect(adapted.stderr.contains("utterances at speeds 0.9, 1, 1.1") && adapted.stderr.contains("first pass and fMLLR: MAP of"),
                "\(adapted.stderr)")
        let embedded = { (model: String) in FileManager.default.contents(atPath: model + "/" + GMMHMM.embeddedFiles.weights) }
        #expect(embedded(out + "/tuned") != nil && embedded(f.gru) != nil && embedded(out + "/tuned") != embedded(f.gru))
        let (tunedGMM, sourceGMM) = (try GMMHMM.loadEmbedded(out + "/tuned"), try GMMHMM.loadEmbedded(f.gru))
        #expect(tunedGMM?.speakerAdaptation != nil && tunedGMM?.mixtures.count == sourceGMM?.mixtures.count)
        // Its options configure that MAP; a hybrid without such a GMM-HMM refuses them.
        let settings = try Speechlab.run(["adapt", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/t3", "--mean-tau", "3",
                                          "--speeds", "1", "--quiet"])
        #expect(settings.status == 0 && !settings.stderr.contains("speeds"), "\(settings.stderr)")
        let plain = out + "/plain"
        try FileManager.default.copyItem(atPath: f.gru, toPath: plain)
        for name in [GMMHMM.embeddedFiles.description, GMMHMM.embeddedFiles.weights] { try FileManager.default.removeItem(atPath: plain + "/" + name) }
        expectUsageError(try Speechlab.run(["adapt", "--model", plain, "--data", f.data + "/test", "--out", out + "/t", "--mean-tau", "3"]),
                         mentioning: "--mean-tau, --iterations, --mllr and --speeds adapt a GMM-HMM")
        #expect(!FileManager.default.fileExists(atPath: out + "/t"))
        let classifier = try Speechlab.run(["train", "rnn", "--kind", "classifier", "--layers", "1", "--hidden", "4", "--epochs", "1",
                                            "--train", f.data + "/train", "--out", out + "/classifier", "--quiet"])
        #expect(classifier.status == 0, "\(classifier.stderr)")
        expectFailure(try Speechlab.run(["adapt", "--model", out + "/classifier", "--data", f.data + "/test", "--out", out + "/c"]),
                      mentioning: "adapt takes a GMM-HMM or a hybrid")
        #expect(!FileManager.default.fileExists(atPath: out + "/c"))
    }

    // decode --gmm-weight: a hybrid's last pass mixed with the GMM-HMM it decodes with.
    @Test func gmmWeightMixesAHybridWithItsGMMHMM() throws {
        let out = temporaryFolder()
        // The hypotheses and the word times (which move with the scores where the words do not).
        func decode(_ model: String, _ extra: [String] = []) throws -> [String] {
            let run = try Speechlab.run(["decode", "--model", model, "--data", f.data + "/test", "--out", out + "/h", "--times", out + "/t",
                                         "--quiet"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            return try [out + "/h", out + "/t"].flatMap { try String(contentsOfFile: $0, encoding: .utf8).split(separator: "\n").map(String.init) }
        }
        // The two models decode differently, so that the equalities below say something.
        let network = try decode(f.gru, ["--gmm-weight", "0"])
        #expect(network != (try decode(f.gmm)))
        // By default a hybrid that keeps a GMM-HMM mixes it in at the weight chosen on validation speakers.
        let (byDefault, explicit) = (try decode(f.gru), try decode(f.gru, ["--gmm-weight", "0.4"]))
        #expect(RecognitionModel.defaultGMMWeight == 0.4 && byDefault == explicit)
        #expect(byDefault != network, "the mixed scores move some word times of these models")
        // w = 1: the GMM-HMM alone scores the last pass, on the same adapted frames as the GMM-HMM's own decoding.
        #expect(try decode(f.gru, ["--gmm-weight", "1"]) == (try decode(f.gmm)))
        // Without adaptation, its first-pass mixtures (the ones for unadapted frames).
        #expect(try decode(f.gru, ["--gmm-weight", "1", "--no-adapt"]) == (try decode(f.gmm, ["--no-adapt"])))
        #expect(try decode(f.gru, ["--gmm-weight", "0.5"]).count == network.count)
        expectUsageError(try Speechlab.run(["decode", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/x", "--gmm-weight", "1.5"]),
                         mentioning: "--gmm-weight must be in 0...1")
        expectFailure(try Speechlab.run(["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/x", "--gmm-weight", "0.5"]),
                      mentioning: "--gmm-weight combines a hybrid")
        #expect(!FileManager.default.fileExists(atPath: out + "/x"))
    }

    /// The mixed scorer is (1 − w)·network + w·GMM-HMM frame by frame: the GMM-HMM's own
    /// mixtures on adapted frames, its first-pass mixtures on unadapted ones.
    @Test func aMixedHybridScoresTheWeightedSumOfItsTwoModels() throws {
        let hybrid = try RecognitionModel.open(f.gru), gmm = try RecognitionModel.open(f.gmm)
        #expect(hybrid.defaultGMMWeight == RecognitionModel.defaultGMMWeight && gmm.defaultGMMWeight == 0)
        // Any frames of the models' dimension will do (both score the same features).
        let (frames, dimension) = (20, hybrid.features.dimension)
        let values = (0..<(frames * dimension)).map { Float(sin(Double($0) * 0.37)) }
        func scores(_ model: RecognitionModel) -> [Float] { model.hmm!.scorer.logLikelihoods(frames: values, count: frames) }
        let network = scores(hybrid), own = scores(gmm), firstPass = scores(gmm.unadapted)
        #expect(own != firstPass, "the SAT model's two mixtures differ, so that the choice below is checked")
        for (adapted, reference) in [(true, own), (false, firstPass)] {
            let mixed = scores(try hybrid.mixingGMMHMM(weight: 0.25, adapted: adapted))
            #expect(mixed.count == network.count && zip(mixed.indices, mixed).allSatisfy { i, x in abs(x - (0.75 * network[i] + 0.25 * reference[i])) <= 1e-4 * max(1, abs(x)) })
        }
        #expect(scores(try hybrid.mixingGMMHMM(weight: 0, adapted: true)) == network)
        #expect(throws: ModelError.self) { try gmm.mixingGMMHMM(weight: 0.5, adapted: true) }
    }

    // 15. --jobs is validated the same way by every command.
    @Test func everyCommandRefusesZeroJobs() throws {
        let out = temporaryFolder()
        for arguments in [["features", "--data", f.data + "/test", "--out", out + "/f"],
                          ["train", "gmm-hmm", "--train", f.data + "/train", "--out", out + "/g"],
                          ["train", "rnn", "--train", f.data + "/train", "--alignments", f.alignments, "--out", out + "/r"],
                          ["align", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/a"],
                          ["decode", "--model", f.gmm, "--data", f.data + "/test", "--out", out + "/d"],
                          ["compare", "--test", f.data + "/test", "--models", f.gmm, "--out", out + "/c"],
                          ["posteriors", "--model", f.gru, "--data", f.data + "/test", "--out", out + "/p"]] {
            expectUsageError(try Speechlab.run(arguments + ["--jobs", "0"]), mentioning: "--jobs must be at least 1")
        }
    }

    // 16. A FIFO where audio is expected is refused at once instead of blocking forever.
    @Test func aFIFONamedLikeAudioIsRefused() throws {
        let data = temporaryFolder()
        #expect(mkfifo(data + "/a.wav", 0o644) == 0)
        try "a \(data)/a.wav\n".write(toFile: data + "/wav.scp", atomically: true, encoding: .utf8)
        expectFailure(try Speechlab.run(["features", "--data", data, "--out", data + "/feats"]), mentioning: "FIFO")
    }
}

@Suite struct BLASKernelCommandTests {
    // 20. OpenBLAS's fallback to SSE3 kernels (reproduced by telling speechlab that OpenBLAS
    // detected Prescott) is replaced by AVX2/AVX-512 kernels; a user's OPENBLAS_CORETYPE never is.
    @Test func misdetectedKernelsAreReplacedUnlessTheUserChoseThem() throws {
        let cpu = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpu.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        guard flags.contains("avx2") && flags.contains("fma") else {
            print("skipped: this CPU has no AVX2+FMA, so no faster kernels exist to choose")
            return
        }
        let expected = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) ? "SkylakeX" : "Haswell"
        let chosen = try Speechlab.run(["info"], environment: ["SPEECHLAB_BLAS_ASSUME_DETECTED": "Prescott"], removing: ["OPENBLAS_CORETYPE"])
        #expect(chosen.status == 0)
        #expect(chosen.stdout.contains("BLAS: OpenBLAS \(expected) kernels, chosen by speechlab"), "\(chosen.stdout)")
        let user = try Speechlab.run(["info"], environment: ["SPEECHLAB_BLAS_ASSUME_DETECTED": "Prescott", "OPENBLAS_CORETYPE": "Prescott"])
        #expect(user.stdout.contains("BLAS: OpenBLAS Prescott kernels, set by OPENBLAS_CORETYPE=Prescott"), "\(user.stdout)")
    }
}

@Suite struct TrainRNNOptionsCommandTests {
    let f = TinyModels.fixture

    @Test func averageEpochsIsReportedAndRecordedInTheModel() throws {
        let out = temporaryFolder() + "/averaged"
        let result = try Speechlab.run(["train", "rnn", "--cell", "gru", "--layers", "1", "--hidden", "8", "--epochs", "3", "--batch-size", "8",
                                        "--average-epochs", "2", "--train", f.data + "/train", "--alignments", f.alignments, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains(" averaged: validation loss "), "\(result.stderr)")
        let model = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/model.json"))) as! [String: Any]
        #expect((model["training"] as? [String: Any])?["averagedEpochs"] as? Int == 2)
        expectUsageError(try Speechlab.run(["train", "rnn", "--average-epochs", "0", "--train", f.data + "/train", "--alignments", f.alignments,
                                            "--out", out + "2"]), mentioning: "--average-epochs must be at least 1")
    }

    @Test func specAugmentIsOnForHybridsAndOffForClassifiersUnlessAsked() throws {
        func policy(_ model: String) throws -> [String: Any]? {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model.json"))) as! [String: Any]
            return (object["training"] as? [String: Any])?["specAugment"] as? [String: Any]
        }
        #expect(try policy(f.gru)?["maxTimeWidth"] as? Int == 20)
        let out = temporaryFolder()
        for (arguments, name) in [(["--no-spec-augment", "--alignments", f.alignments], "/hybrid"), (["--kind", "classifier"], "/classifier"),
                                  (["--kind", "classifier", "--spec-augment"], "/classifier-masked")] {
            let result = try Speechlab.run(["train", "rnn", "--layers", "1", "--hidden", "8", "--epochs", "1", "--batch-size", "8",
                                            "--train", f.data + "/train", "--out", out + name, "--quiet"] + arguments)
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(try policy(out + "/hybrid") == nil)
        #expect(try policy(out + "/classifier") == nil)
        #expect(try policy(out + "/classifier-masked") != nil)
    }

    @Test func finetuningHasItsOwnDefaultsWhichFlagsOverride() throws {
        func schedule(_ model: String) throws -> [Double] {
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model.json"))) as! [String: Any]
            let training = object["training"] as? [String: Any] ?? [:]
            return ["epochs", "batchSize", "learningRate"].map { (training[$0] as? NSNumber)?.doubleValue ?? .nan }
        }
        let out = temporaryFolder()
        for (arguments, name) in [([String](), "/finetuned"), (["--learning-rate", "0.01", "--epochs", "2"], "/finetuned-given"),
                                  (["--hidden", "8", "--layers", "1", "--epochs", "1"], "/scratch")] {
            let initial = name == "/scratch" ? [] : ["--init", f.gru]
            let result = try Speechlab.run(["train", "rnn", "--train", f.data + "/train", "--alignments", f.alignments, "--out", out + name,
                                            "--quiet"] + initial + arguments)
            #expect(result.status == 0, "\(name): \(result.stderr)")
        }
        #expect(try schedule(out + "/finetuned") == [8, 8, 0.001])
        #expect(try schedule(out + "/finetuned-given") == [2, 8, 0.01])
        #expect(try schedule(out + "/scratch") == [1, 32, 0.002])
    }
}
