import Foundation
import SpeechCorpus
import Testing

func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechlab-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A data directory with the given files (name → content).
func dataDirectory(_ files: [String: String]) -> String {
    let folder = temporaryFolder()
    for (name, text) in files {
        _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: Data(text.utf8))
    }
    return folder
}

@Suite struct DataDirectoryTests {
    @Test func readsWavScpTextAndUtt2spk() throws {
        let dir = dataDirectory([
            "wav.scp": "a1 /x/a1.wav\nb2 /x/b2.flac\n",
            "text": "a1 HELLO WORLD\nb2 ZERO\n",
            "utt2spk": "a1 alice\nb2 bob\n",
        ])
        let data = try DataDirectory.load(dir)
        #expect(data.utterances == [
            Utterance(id: "a1", audioPath: "/x/a1.wav", speaker: "alice", words: ["HELLO", "WORLD"]),
            Utterance(id: "b2", audioPath: "/x/b2.flac", speaker: "bob", words: ["ZERO"]),
        ])
    }

    @Test func textAndSpeakersAreOptional() throws {
        let data = try DataDirectory.load(dataDirectory(["wav.scp": "a /x/a.wav\n"]))
        #expect(data.utterances == [Utterance(id: "a", audioPath: "/x/a.wav")])
    }

    @Test("bad data directories name the file, the line and the reason", arguments: [
        (["wav.scp": "a /x/a.wav\nb sox /x/b.wav -t wav - |\n"], "wav.scp:2", "pipe"),
        (["wav.scp": "a gunzip -c /x/a.wav.gz|\n"], "wav.scp:1", "pipe"),
        (["wav.scp": "a /x/a.wav\na /x/b.wav\n"], "wav.scp:2", "duplicate"),
        (["wav.scp": "a /x/a.ark:1234\n"], "wav.scp:1", "archive"),
        (["wav.scp": "a\n"], "wav.scp:1", "no value"),
        (["wav.scp": ""], "wav.scp", "no utterances"),
        (["wav.scp": "a /x/a.wav\n", "text": "a ONE\nb TWO\n"], "text:2", "no audio"),
        (["wav.scp": "a /x/a.wav\nb /x/b.wav\n", "text": "a ONE\n"], "wav.scp:2", "no transcript"),
        (["wav.scp": "a /x/a.wav\n", "text": "a ONE\na TWO\n"], "text:2", "duplicate"),
        (["wav.scp": "a /x/a.wav\nb /x/b.wav\n", "utt2spk": "a s1\n"], "utt2spk", "no speaker"),
        (["wav.scp": "a/b /x/a.wav\n"], "wav.scp:1", "not a valid id"),
    ] as [([String: String], String, String)])
    func badDirectoryIsRefused(files: [String: String], location: String, reason: String) throws {
        let dir = dataDirectory(files)
        let error = try #require(throws: CorpusError.self) { try DataDirectory.load(dir) }
        #expect(error.description.contains(dir + "/" + location), "\(error)")
        #expect(error.description.contains(reason), "\(error)")
    }

    @Test func nonUTF8TextNamesItsLine() throws {
        let dir = dataDirectory(["wav.scp": "a /x/a.wav\nb /x/b.wav\n"])
        var bytes = Data("a ONE\nb ".utf8)
        bytes.append(contentsOf: [0xff, 0xfe, 0x41, 0x0a])
        _ = FileManager.default.createFile(atPath: dir + "/text", contents: bytes)
        let error = try #require(throws: CorpusError.self) { try DataDirectory.load(dir) }
        #expect(error.description.contains("text:2"))
        #expect(error.description.contains("UTF-8"))
    }

    @Test func missingWavScpSaysItIsNotADataDirectory() throws {
        let error = try #require(throws: CorpusError.self) { try DataDirectory.load(temporaryFolder()) }
        #expect(error.description.contains("no wav.scp"))
    }

    @Test func writtenDirectoryReadsBackSortedWithSpk2utt() throws {
        let utterances = [
            Utterance(id: "s2_b", audioPath: "/b.wav", speaker: "s2", words: ["TWO"]),
            Utterance(id: "s1_a", audioPath: "/a.wav", speaker: "s1", words: ["ONE"]),
            Utterance(id: "s1_c", audioPath: "/c.wav", speaker: "s1", words: ["THREE", "FOUR"]),
        ]
        let dir = temporaryFolder() + "/data"
        try DataDirectory.write(utterances, to: dir)
        #expect(try DataDirectory.load(dir).utterances.map(\.id) == ["s1_a", "s1_c", "s2_b"])
        #expect(try DataDirectory.load(dir).utterances.sorted { $0.id < $1.id } == utterances.sorted { $0.id < $1.id })
        let spk2utt = try String(contentsOfFile: dir + "/spk2utt", encoding: .utf8)
        #expect(spk2utt == "s1 s1_a s1_c\ns2 s2_b\n")
    }

    @Test func audioFolderNamesUtterancesByRelativePath() throws {
        let root = temporaryFolder()
        try FileManager.default.createDirectory(atPath: root + "/spk1", withIntermediateDirectories: true)
        for name in ["spk1/u1.wav", "u2.FLAC", "notes.txt"] {
            _ = FileManager.default.createFile(atPath: root + "/" + name, contents: Data())
        }
        let utterances = try AudioFolder.load(root)
        #expect(utterances.map(\.id) == ["spk1-u1", "u2"])
        #expect(utterances[0].audioPath == root + "/spk1/u1.wav")
        #expect(throws: CorpusError.self) { try AudioFolder.load(temporaryFolder()) }
    }
}

@Suite struct FSDDPreparerTests {
    func recordingsFolder(_ names: [String]) -> String {
        let root = temporaryFolder()
        for name in names { _ = FileManager.default.createFile(atPath: root + "/" + name, contents: Data()) }
        return root
    }

    @Test func officialSplitPutsTakesZeroToFourInTest() throws {
        let root = recordingsFolder(["0_ann_0.wav", "0_ann_4.wav", "0_ann_5.wav", "7_bob_49.wav", "README.md"])
        let (train, test) = try FSDDPreparer.split(try FSDDPreparer.recordings(in: root), by: .official)
        #expect(test.map(\.id).sorted() == ["ann_0_0", "ann_0_4"])
        #expect(train.map(\.id).sorted() == ["ann_0_5", "bob_7_49"])
        #expect(train.first { $0.id == "bob_7_49" }?.words == ["seven"])
        #expect(train.first { $0.id == "bob_7_49" }?.speaker == "bob")
    }

    @Test func speakerSplitHoldsOutThatSpeaker() throws {
        let root = recordingsFolder(["0_ann_0.wav", "1_bob_3.wav", "2_bob_9.wav"])
        let (train, test) = try FSDDPreparer.split(try FSDDPreparer.recordings(in: root), by: .heldOutSpeaker("bob"))
        #expect(train.map(\.id) == ["ann_0_0"])
        #expect(Set(test.map(\.id)) == ["bob_1_3", "bob_2_9"])
        let error = try #require(throws: CorpusError.self) {
            try FSDDPreparer.split(try FSDDPreparer.recordings(in: root), by: .heldOutSpeaker("carol"))
        }
        #expect(error.description.contains("carol"))
    }

    @Test func badNameIsNamed() throws {
        let root = recordingsFolder(["0_ann_0.wav", "oops.wav"])
        let error = try #require(throws: CorpusError.self) { try FSDDPreparer.recordings(in: root) }
        #expect(error.description.contains("oops.wav"))
    }

    @Test func splitArgumentParses() {
        #expect(CorpusSplit(argument: "official") == .official)
        #expect(CorpusSplit(argument: "speaker:theo") == .heldOutSpeaker("theo"))
        #expect(CorpusSplit(argument: "speaker:") == nil)
        #expect(CorpusSplit(argument: "random") == nil)
    }
}
