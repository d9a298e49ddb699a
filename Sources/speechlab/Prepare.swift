import ArgumentParser
import Foundation
import SpeechCorpus

/// `speechlab prepare`: makes data directories from corpora laid out in known ways.
struct Prepare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make Kaldi-style data directories from a corpus.",
        subcommands: [PrepareFSDD.self, PrepareConnectedDigits.self, PrepareAN4.self]
    )
}

/// `speechlab prepare fsdd`: recordings named `{label}_{speaker}_{index}.wav` → `train/` and `test/`.
struct PrepareFSDD: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsdd",
        abstract: "Data directories from FSDD-style recordings ({label}_{speaker}_{index}.wav).",
        discussion: """
            Writes OUT/train and OUT/test, each with wav.scp, text (digits as words: zero ... nine), \
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

/// `speechlab prepare connected-digits`: digit strings joined from FSDD-style recordings.
struct PrepareConnectedDigits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connected-digits",
        abstract: "A connected-digit corpus made by joining FSDD-style recordings.",
        discussion: """
            Random strings of --min-digits to --max-digits digits, each a take of one speaker, joined by \
            0.1-0.5 s of silence with low noise over everything. Training strings use takes 5-49, test \
            strings takes 0-4: no recording is in both. Writes OUT/audio, OUT/train and OUT/test. \
            The same --seed gives the same corpus.
            """
    )

    @Option(help: ArgumentHelp("Folder of {digit}_{speaker}_{take}.wav recordings.", valueName: "dir"))
    var src: String
    @Option(help: ArgumentHelp("Folder to write into.", valueName: "dir"))
    var out: String
    @Option(help: ArgumentHelp("Training strings.", valueName: "n"))
    var train: Int = 1000
    @Option(help: ArgumentHelp("Test strings.", valueName: "n"))
    var test: Int = 200
    @Option(help: ArgumentHelp("Fewest digits in a string.", valueName: "n"))
    var minDigits: Int = 1
    @Option(help: ArgumentHelp("Most digits in a string.", valueName: "n"))
    var maxDigits: Int = 7
    @Option(help: ArgumentHelp("Random seed.", valueName: "n"))
    var seed: UInt64 = 1

    func validate() throws {
        guard train >= 1, test >= 1, minDigits >= 1, maxDigits >= minDigits else {
            throw ValidationError("--train and --test must be positive and 1 <= --min-digits <= --max-digits")
        }
        // Bounds that keep the corpus a test corpus: 100 digits is about a minute of audio per string.
        guard maxDigits <= 100, train + test <= 1_000_000 else {
            throw ValidationError("--max-digits is at most 100 and --train + --test at most 1000000 (each string is written as audio)")
        }
    }

    func run() throws {
        var builder = ConnectedDigitsBuilder()
        builder.trainUtterances = train
        builder.testUtterances = test
        builder.minimumDigits = minDigits
        builder.maximumDigits = maxDigits
        builder.seed = seed
        let progress = ProgressReporter(label: "connected-digits", total: train + test)
        try builder.build(from: try FSDDPreparer.recordings(in: src), to: out) { done, _ in progress.update(done) }
        progress.finish()
        print("prepare connected-digits: \(train) train and \(test) test strings of \(minDigits)-\(maxDigits) digits in \(out)")
    }
}

/// `speechlab prepare an4`: CMU's AN4 → `train/`, `dev/` (whole speakers) and `test/`.
struct PrepareAN4: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "an4",
        abstract: "Data directories from CMU's AN4 release (train, dev speakers, and test when present).",
        discussion: """
            Reads SRC/etc/an4_train.transcription with SRC/wav/an4_clstk/<speaker>/<id>.flac or .wav, and \
            when present SRC/etc/an4_test.transcription with SRC/wav/an4test_clstk. Writes OUT/train, \
            OUT/dev (--dev-speakers whole speakers taken out of the training part, evenly spaced in \
            sorted order: the same every time) and OUT/test, each with wav.scp, text, utt2spk and spk2utt. \
            Utterance ids are <speaker>-<file-id>.
            """
    )

    @Option(help: ArgumentHelp("The AN4 release folder (holding etc/ and wav/).", valueName: "dir"))
    var src: String
    @Option(help: ArgumentHelp("Folder to write train/, dev/ and test/ into.", valueName: "dir"))
    var out: String
    @Option(help: ArgumentHelp("Speakers of the training part to hold out as the dev set (0 for none).", valueName: "n"))
    var devSpeakers = 10

    func validate() throws {
        guard devSpeakers >= 0 else { throw ValidationError("--dev-speakers must be 0 or more, not \(devSpeakers)") }
    }

    func run() throws {
        let (all, test) = try AN4Preparer.read(src)
        let held = Set(AN4Preparer.devSpeakers(of: all, count: devSpeakers))
        let dev = all.filter { held.contains($0.speaker!) }, train = all.filter { !held.contains($0.speaker!) }
        guard !train.isEmpty else { throw CommandFailure("--dev-speakers \(devSpeakers) leaves no speaker for training") }
        guard devSpeakers == 0 || !dev.isEmpty else { throw CommandFailure("the dev set is empty") }
        let folder = out as NSString
        try DataDirectory.write(train, to: folder.appendingPathComponent("train"))
        if !dev.isEmpty { try DataDirectory.write(dev, to: folder.appendingPathComponent("dev")) }
        if let test { try DataDirectory.write(test, to: folder.appendingPathComponent("test")) }
        let speakers = { (u: [Utterance]) in Set(u.compactMap(\.speaker)).count }
        var parts = ["\(train.count) train (\(speakers(train)) speakers)"]
        if !dev.isEmpty { parts.append("\(dev.count) dev (\(speakers(dev)) speakers: \(held.sorted().joined(separator: " ")))") }
        parts.append(test.map { "\($0.count) test (\(speakers($0)) speakers)" } ?? "no test part in the source")
        print("prepare an4: " + parts.joined(separator: ", ") + " in \(out)")
    }
}
