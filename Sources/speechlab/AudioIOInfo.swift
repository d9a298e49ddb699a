import AudioIO

/// The sample rate of an audio file (for the working rate).
enum AudioIOInfo {
    static func sampleRate(_ path: String) throws -> Int { try AudioFile.info(path).sampleRate }
}
