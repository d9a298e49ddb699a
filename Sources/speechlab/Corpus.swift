import SpeechCorpus

/// The corpus a `--data` argument names: a data directory, or else a folder of audio files.
enum Corpus {
    static func load(_ path: String) throws -> [Utterance] {
        if DataDirectory.isDataDirectory(path) {
            return try DataDirectory.load(path).utterances
        }
        return try AudioFolder.load(path)
    }
}
