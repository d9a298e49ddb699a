import Foundation
import SpeechBase

/// A feature directory written by ``FeatureExtractionJob/run(_:output:progress:)``:
/// `feats.scp` (utterance id, `.npy` path relative to the directory) and `config.json`.
public struct FeatureDirectory: Sendable {
    public var path: String
    public var config: FeatureConfig
    /// Utterance ids and absolute `.npy` paths, in `feats.scp` order.
    public var entries: [(id: String, path: String)]

    /// Reads the index and configuration (not the features); errors name the file and line.
    public static func open(_ path: String) throws -> FeatureDirectory {
        let folder = path as NSString
        let configPath = folder.appendingPathComponent("config.json"), scpPath = folder.appendingPathComponent("feats.scp")
        guard let configData = FileManager.default.contents(atPath: configPath) else {
            throw NumpyFileError(path: path, reason: "is not a feature directory (no readable config.json)")
        }
        let config: FeatureConfig
        do { config = try JSONDecoder().decode(FeatureConfig.self, from: configData) } catch {
            throw NumpyFileError(path: configPath, reason: "is not a feature configuration (\(FileError.reason(error)))")
        }
        let lines: [Substring]
        do { lines = try TextFile.lines(of: scpPath) } catch {
            throw NumpyFileError(path: path, reason: "is not a feature directory (\(FileError.reason(error)))")
        }
        var entries: [(String, String)] = [], seen: Set<String> = []
        for (n, line) in lines.enumerated() {
            let fields = TextFile.fields(line)
            if fields.isEmpty { continue }
            guard fields.count == 2 else { throw NumpyFileError(path: scpPath, reason: "line \(n + 1) is not 'utt-id path'") }
            let id = String(fields[0]), file = String(fields[1])
            guard seen.insert(id).inserted else { throw NumpyFileError(path: scpPath, reason: "line \(n + 1): duplicate utterance id '\(id)'") }
            entries.append((id, file.hasPrefix("/") ? file : folder.appendingPathComponent(file)))
        }
        return FeatureDirectory(path: path, config: config, entries: entries)
    }

    /// The features of entry `index`, checked against the configuration's dimension.
    public func features(_ index: Int) throws -> FeatureMatrix {
        let matrix = try NumpyFile.read(entries[index].path)
        guard matrix.dimension == config.dimension else {
            throw NumpyFileError(path: entries[index].path, reason: "has \(matrix.dimension) dimensions, config.json says \(config.dimension)")
        }
        if let bad = matrix.firstNonFinite {
            throw NumpyFileError(path: entries[index].path, reason: "value at frame \(bad.frame), dimension \(bad.dim) is not finite")
        }
        return matrix
    }
}
