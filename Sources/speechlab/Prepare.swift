import ArgumentParser
import Foundation
import SpeechCorpus

/// `speechlab prepare`: makes data directories from corpora laid out in known ways.
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make Kaldi-style data directories from a corpus.",
        subcommands: [PrepareFSDD.self]
    )
}

/// `speechlab prepare fsdd`: recordings named `{label}_{speaker}_{index}.wav` → `train/` and `test/`.
struct PrepareFSDD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsdd",
        abstract: "Data directories from FSDD-style recordings ({label}_{speaker}_{index}.wav).",
        discussion: """
            Writes OUT/train and OUT/test, each with wav.scp, text (digits as words: zero ... nine),
            utt2spk and spk2utt. Utterance ids are {speaker}_{label}_{index}; audio paths are absolute.
            """
    )

    @Option(help: "Folder holding the recordings.")
    var src: String

    @Option(help: "Folder to write train/ and test/ into.")
    var out: String

    @Option(help: ArgumentHelp("'official' (takes 0-4 are the test set) or 'speaker:NAME' (that speaker is the test set).", valueName: "split"))
    var split: String = "official"

    func validate() throws {
        guard CorpusSplit(argument: split) != nil else {
            throw ValidationError("--split must be 'official' or 'speaker:NAME', not '\(split)'")
        }
    }

    func run() throws {
        let recordings = try FSDDPreparer.recordings(in: src)
        let (train, test) = try FSDDPreparer.split(recordings, by: CorpusSplit(argument: split)!)
        guard !train.isEmpty, !test.isEmpty else {
            throw CorpusError("split \(split) leaves the \(train.isEmpty ? "training" : "test") set empty")
        }
        try DataDirectory.write(train, to: (out as NSString).appendingPathComponent("train"))
        try DataDirectory.write(test, to: (out as NSString).appendingPathComponent("test"))
        let speakers = Set(recordings.compactMap(\.utterance.speaker)).count
        print("prepare fsdd: \(recordings.count) recordings of \(speakers) speakers, split \(split): "
            + "\(train.count) train, \(test.count) test in \(out)")
    }
}
