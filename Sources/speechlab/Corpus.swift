import SpeechCorpus

/// The corpus a `--data` argument names: a data directory, or else a folder of audio files.
enum Corpus {
    static func load(_ path: String) throws -> [Utterance] {
        if DataDirectory.isDataDirectory(path) {
            return try DataDirectory.load(path).utterances
        }
        return try AudioFolder.load(path)
    }

    /// Per-speaker normalization of a corpus without `utt2spk` for every utterance: each of
    /// those is its own speaker (what decoding with a model does, so `features --like` too).
    static func takeMissingSpeakersAsUtterances(_ corpus: inout [Utterance], of path: String, report: Bool = true) {
        guard corpus.contains(where: { $0.speaker == nil }) else { return }
        if report { printError("note: \(path) has no utt2spk for every utterance: those are normalized each on its own (speaker = utterance)") }
        for i in corpus.indices where corpus[i].speaker == nil { corpus[i].speaker = corpus[i].id }
    }
}
