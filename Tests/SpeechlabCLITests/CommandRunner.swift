import Foundation
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
        // Read before waiting, so that a full pipe cannot block the child.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }
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
    static func requireFSDD() -> String? {
        if let path = fsddRecordings { return path }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("../shared/data/fsdd/recordings is missing, and CI always has it")
        } else {
            print("skipped: ../shared/data/fsdd/recordings is absent (tests on real speech need it)")
        }
        return nil
    }
}

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
