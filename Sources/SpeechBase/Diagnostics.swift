import Foundation

/// A decoding error as one line: the key path and what is wrong there (never a raw dump).
public func describe(_ error: Error) -> String {
    func path(_ keys: [CodingKey]) -> String {
        let text = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return text.isEmpty ? "the top level" : String(text.drop { $0 == "." })
    }
    guard let error = error as? DecodingError else { return "\(error)" }
    switch error {
    case .keyNotFound(let key, let context): return "'\(path(context.codingPath + [key]))' is missing"
    case .typeMismatch(let type, let context): return "'\(path(context.codingPath))' is not of type \(type)"
    case .valueNotFound(let type, let context): return "'\(path(context.codingPath))' is null where a \(type) is needed"
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not valid JSON" : "'\(path(context.codingPath))': \(context.debugDescription)"
    @unknown default: return "\(error)"
    }
}

/// A short digest of a training set (utterance ids, frame counts and transcripts, in order), so
/// that `--resume` can tell that the data changed (FNV-1a, 64 bits: a check, not security).
public func trainingDataFingerprint(_ utterances: [(id: String, frames: Int, words: [String])]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for u in utterances {
        for byte in "\(u.id) \(u.frames) \(u.words.joined(separator: " "))\n".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
    }
    return "\(utterances.count) utterances, \(utterances.reduce(0) { $0 + $1.frames }) frames, digest " + String(hash, radix: 16)
}

/// The names of the settings that differ between two encodable values (their JSON fields), for
/// a resume refused with a message that says what changed.
public func differingSettings<T: Encodable>(_ a: T, _ b: T, ignoring: Set<String> = []) -> [String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    func fields(_ value: T) -> [String: Data] {
        guard let data = try? encoder.encode(value), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
        return object.mapValues { (try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed])) ?? Data() }
    }
    let x = fields(a), y = fields(b)
    return Set(x.keys).union(y.keys).subtracting(ignoring).filter { x[$0] != y[$0] }.sorted()
}
