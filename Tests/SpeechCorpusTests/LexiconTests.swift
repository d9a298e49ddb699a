import Foundation
import Testing
@testable import SpeechCorpus

private func file(_ text: String) -> String {
    let path = (temporaryFolder() as NSString).appendingPathComponent("lexicon.txt")
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

@Suite struct PronunciationLexiconTests {
    @Test func readsCMUdictAlternatesStressAndComments() throws {
        let path = file(";;; old-style comment\nread R IY1 D\nread(2) R EH1 D # past tense\nthe DH AH0\nthe(2) DH IY0\n\n")
        let lexicon = try PronunciationLexicon.read(path)
        #expect(lexicon.lookup("read") == [["R", "IY", "D"], ["R", "EH", "D"]])
        #expect(lexicon.lookup("THE") == [["DH", "AH"], ["DH", "IY"]], "lookups fall back to any case")
        #expect(lexicon.lookup("zebra") == nil)
        #expect(try PronunciationLexicon.read(path, keepStress: true).lookup("read") == [["R", "IY1", "D"], ["R", "EH1", "D"]])
        #expect(lexicon.phones == ["AH", "D", "DH", "EH", "IY", "R"])
    }

    @Test func badLinesAreNamed() {
        #expect(throws: CorpusError.self) { try PronunciationLexicon.read(file("")) }
        let noPhones = #expect(throws: CorpusError.self) { try PronunciationLexicon.read(file("one W AH1 N\ntwo\n")) }
        #expect(noPhones?.description.hasSuffix("lexicon.txt:2: word 'two' has no phones") == true)
        let unknown = #expect(throws: CorpusError.self) {
            try PronunciationLexicon.read(file("one W AH1 N\ntwo T UW1 Q\n"), phoneSet: ["W", "AH", "N", "T", "UW"])
        }
        #expect(unknown?.description.hasSuffix("lexicon.txt:2: word 'two': phone 'Q' is not in the phone set") == true)
    }

    @Test func restrictionKeepsTheCorpusWordsAndReportsMissingOnes() throws {
        let lexicon = try PronunciationLexicon.read(file("one W AH1 N\ntwo T UW1\nthree TH R IY1\n"))
        let (small, missing) = lexicon.restricted(to: ["ONE", "TWO", "ONE", "ZEBRA"])
        #expect(small.pronunciations == ["ONE": [["W", "AH", "N"]], "TWO": [["T", "UW"]]] && missing == ["ZEBRA"])
        let out = (temporaryFolder() as NSString).appendingPathComponent("lexicon.txt")
        try small.write(to: out)
        #expect(try PronunciationLexicon.read(out) == small)
    }

    @Test func phoneSetsReadClasses() throws {
        let set = try PhoneSet.read(file("AA\tvowel\nB\tstop\nSIL\n"))
        #expect(set.phones == ["AA", "B", "SIL"] && set.classes == ["AA": "vowel", "B": "stop"])
        #expect(throws: CorpusError.self) { try PhoneSet.read(file("AA\nAA\n")) }
    }
}

@Suite struct AN4PreparerTests {
    /// A miniature release: two training speakers, and a test part in the original layout.
    private func release(withTest: Bool) -> String {
        let root = temporaryFolder() as NSString
        func write(_ relative: String, _ text: String = "audio") {
            let path = root.appendingPathComponent(relative)
            try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        }
        write("etc/an4_train.transcription", "<s> YES </s> (an251-fash-b)\n<s> ENTER FIVE </s> (an252-fash-b)\n<s> R O B </s> (cen1-mblb-b)\n")
        write("wav/an4_clstk/fash/an251-fash-b.flac")
        write("wav/an4_clstk/fash/an252-fash-b.flac")
        write("wav/an4_clstk/mblb/cen1-mblb-b.wav")
        if withTest {
            write("etc/an4_test.transcription", "GO (an406-fcaw-b)\n")
            write("wav/an4test_clstk/fcaw/an406-fcaw-b.wav")
        }
        return root as String
    }

    @Test func readsBothPartsWithSpeakerFirstIDs() throws {
        let (train, test) = try AN4Preparer.read(release(withTest: true))
        #expect(train.map(\.id) == ["fash-an251-fash-b", "fash-an252-fash-b", "mblb-cen1-mblb-b"])
        #expect(train.map(\.words) == [["YES"], ["ENTER", "FIVE"], ["R", "O", "B"]] && train[2].audioPath.hasSuffix(".wav"))
        #expect(test?.map(\.id) == ["fcaw-an406-fcaw-b"] && test?.first?.speaker == "fcaw")
        #expect(try AN4Preparer.read(release(withTest: false)).test == nil)
        #expect(AN4Preparer.devSpeakers(of: train, count: 1) == ["fash"])
    }

    @Test func aTranscriptWithoutAudioIsNamed() throws {
        let root = release(withTest: false)
        try FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent("wav/an4_clstk/mblb/cen1-mblb-b.wav"))
        let error = #expect(throws: CorpusError.self) { try AN4Preparer.read(root) }
        #expect(error?.description.contains("an4_train.transcription:3: utterance cen1-mblb-b has no audio") == true)
    }
}
