import Foundation
import SpeechBase
import Testing

/// Runs the built `speechlab` executable, as a user would.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Speechlab {
    /// The build products folder (the test resources bundle sits beside the executable).
    static let executable: String = {
        let products = Bundle.module.bundleURL.deletingLastPathComponent()
        return products.appendingPathComponent("speechlab").path
    }()

    static let resources = Bundle.module.url(forResource: "Resources", withExtension: nil)!.path

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> CommandResult {
        try runProcess(executable, arguments, environment: environment, removing: removing)
    }
}

/// Runs `executable` with `arguments` (`environment` added to this process's, `removing`
/// taken out), its output collected.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:], removing: [String] = []) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty || !removing.isEmpty {
        var merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        for name in removing { merged[name] = nil }
        process.environment = merged
    }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Both pipes read before waiting, and at once (standard error on a thread of its own), so
    // that neither can fill up and block the child.
    let stderrRead = Locked<Result<Data, any Error>>(.success(Data()))
    let reading = DispatchGroup()
    DispatchQueue.global().async(group: reading) {
        let result = Result { try DescriptorReader.readToEnd(err.fileHandleForReading.fileDescriptor) }
        stderrRead.withLock { $0 = result }
    }
    let stdout = try DescriptorReader.readToEnd(out.fileHandleForReading.fileDescriptor)
    reading.wait()
    let stderr = try stderrRead.withLock { try $0.get() }
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus,
                         stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

/// The shared FSDD recordings, when present beside the repository. Absent, a test skips with a
/// message, but under CI (CI=true) it fails: CI always has the data.
enum SharedData {
    static let fsddRecordings: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }  // Tests/SpeechlabCLITests/file → repo's parent
        let path = url.appendingPathComponent("shared/data/fsdd/recordings").path
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }()

    /// The recordings folder, or nil after recording why (a failure under CI).
    static func requireFSDD() -> String? { require("fsdd/recordings") }

    /// The AN4 training part and CMUdict, or nil after recording why (a failure under CI).
    static func requireAN4() -> (an4: String, cmudict: String)? {
        guard let an4 = require("an4"), let cmudict = require("cmudict") else { return nil }
        return (an4, cmudict + "/cmudict.dict")
    }

    /// `shared/data/<relative>` beside the repository, or nil after recording why.
    static func require(_ relative: String) -> String? {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        let path = url.appendingPathComponent("shared/data/" + relative).path
        if FileManager.default.fileExists(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("../shared/data/\(relative) is missing, and CI always has it")
        } else {
            print("skipped: ../shared/data/\(relative) is absent (tests on real speech need it)")
        }
        return nil
    }
}

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
