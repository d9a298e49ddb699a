import Foundation

/// A folder of audio files used as a corpus: each file is an utterance whose id is its path
/// below the folder, without extension, with `/` replaced by `-`.
public enum AudioFolder {
    /// File extensions taken as audio (libsndfile's formats).
    public static let audioExtensions: Set<String> = ["wav", "flac", "ogg", "oga", "opus", "aif", "aiff", "au", "snd", "w64", "caf", "rf64", "mp3", "sph", "nist"]

    /// The audio files below `path` as utterances, sorted by id.
    public static func load(_ path: String) throws -> [Utterance] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CorpusError.at(path, "does not exist")
        }
        guard isDirectory.boolValue else {
            throw CorpusError.at(path, "is neither a data directory (with wav.scp) nor a folder of audio files")
        }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw CorpusError.at(path, "cannot be read")
        }
        var byId: [String: Utterance] = [:]
        while let relative = enumerator.nextObject() as? String {
            let ext = (relative as NSString).pathExtension.lowercased()
            guard audioExtensions.contains(ext) else { continue }
            let id = (relative as NSString).deletingPathExtension.replacingOccurrences(of: "/", with: "-")
            let full = (path as NSString).appendingPathComponent(relative)
            guard isValidIdentifier(id) else {
                throw CorpusError.at(full, "its name '\(id)' cannot be an utterance id (white space or control characters)")
            }
            if let other = byId[id] {
                throw CorpusError.at(full, "utterance id '\(id)' is also the id of \(other.audioPath)")
            }
            byId[id] = Utterance(id: id, audioPath: full)
        }
        guard !byId.isEmpty else {
            throw CorpusError.at(path, "holds no audio files (looked for \(audioExtensions.sorted().joined(separator: ", ")))")
        }
        return byId.values.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    }
}
