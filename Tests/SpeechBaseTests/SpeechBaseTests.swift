import Foundation
import SpeechBase
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func temporaryFolder() -> String {
    let path = NSTemporaryDirectory() + "speechbase-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

@Suite struct TextFileTests {
    @Test func windowsLineEndsSplitLikeUnixOnes() {
        #expect(TextFile.lines("a 1\r\nb 2\r\n") == ["a 1", "b 2"])
        #expect(TextFile.lines("a 1\nb 2") == ["a 1", "b 2"])
        #expect(TextFile.lines("a\r\n\r\nb\n") == ["a", "", "b"])
        #expect(TextFile.lines("") == [])
        // A \r inside a line is kept: only the one before \n ends it.
        #expect(TextFile.lines("a\rb\r\n") == ["a\rb"])
    }

    @Test func byteOrderMarkIsDropped() throws {
        let text = try TextFile.decode(Data([0xEF, 0xBB, 0xBF]) + Data("utt1 yes\n".utf8), path: "x")
        #expect(text == "utt1 yes\n")
    }

    @Test func invalidUTF8NamesItsLine() {
        let error = #expect(throws: FileError.self) { try TextFile.decode(Data("ok\nfine\n".utf8) + Data([0xFF, 0x0A]), path: "f.txt") }
        #expect(error?.description == "f.txt:3: is not valid UTF-8 text")
    }

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let fifo = temporaryFolder() + "/audio.wav"
        #expect(mkfifo(fifo, 0o644) == 0)
        let error = #expect(throws: FileError.self) { try TextFile.read(fifo) }
        #expect(error?.description.contains("FIFO") == true)
    }
}

@Suite struct AtomicFileTests {
    @Test func writesAndReplacesARegularFile() throws {
        let path = temporaryFolder() + "/out.txt"
        try AtomicFile.write(lines: ["one"], to: path)
        try AtomicFile.write(lines: ["two", "three"], to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "two\nthree\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        #expect(leftovers == ["out.txt"])
    }

    @Test func refusesToReplaceWhatIsNotARegularFile() throws {
        let folder = temporaryFolder()
        let target = folder + "/target.txt"
        try "keep".write(toFile: target, atomically: false, encoding: .utf8)
        let link = folder + "/link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let error = #expect(throws: FileError.self) { try AtomicFile.write(Data("x".utf8), to: link) }
        #expect(error?.description.contains("symbolic link") == true)
        #expect(FileKind.of(link) == .symbolicLink)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        let fifo = folder + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(throws: FileError.self) { try AtomicFile.write(Data("x".utf8), to: fifo) }
        #expect(throws: FileError.self) { try AtomicFile.write(Data("x".utf8), to: folder) }
    }

    @Test func aMissingFolderIsNamed() {
        let error = #expect(throws: FileError.self) { try AtomicFile.write(Data(), to: "/nonexistent-folder/x.txt") }
        #expect(error?.description.contains("/nonexistent-folder/x.txt") == true)
        #expect(error?.description.contains("folder does not exist") == true)
    }
}

@Suite struct DirectoryReplacementTests {
    @Test func replacesTheWholeDirectoryAndKeepsOtherEntries() throws {
        let path = temporaryFolder() + "/model"
        try DirectoryReplacement.write(["a": Data("1".utf8), "b": Data("1".utf8)], to: path)
        try FileManager.default.createDirectory(atPath: path + "/checkpoint", withIntermediateDirectories: false)
        try "state".write(toFile: path + "/checkpoint/state.json", atomically: false, encoding: .utf8)
        try DirectoryReplacement.write(["a": Data("2".utf8), "b": Data("2".utf8)], to: path)
        #expect(try String(contentsOfFile: path + "/a", encoding: .utf8) == "2")
        #expect(try String(contentsOfFile: path + "/checkpoint/state.json", encoding: .utf8) == "state")
        #expect(FileKind.of(DirectoryReplacement.stagingPath(path)) == .missing)
    }

    @Test func aRunKilledAfterTheSwapLosesNothing() throws {
        // The state a SIGKILL leaves right after the exchange: the new version in place, the old
        // one (holding the checkpoint) at the staging path.
        let path = temporaryFolder() + "/model"
        let staging = DirectoryReplacement.stagingPath(path)
        try DirectoryReplacement.write(["a": Data("new".utf8)], to: path)
        try FileManager.default.createDirectory(atPath: staging + "/checkpoint", withIntermediateDirectories: true)
        try "old".write(toFile: staging + "/a", atomically: false, encoding: .utf8)
        try "state".write(toFile: staging + "/checkpoint/state.json", atomically: false, encoding: .utf8)
        try DirectoryReplacement.write(["a": Data("newer".utf8)], to: path)
        #expect(try String(contentsOfFile: path + "/a", encoding: .utf8) == "newer")
        #expect(try String(contentsOfFile: path + "/checkpoint/state.json", encoding: .utf8) == "state")
        #expect(FileKind.of(staging) == .missing)
    }

    @Test func aSnapshotReaderNeverMixesVersions() throws {
        let path = temporaryFolder() + "/model"
        try DirectoryReplacement.write(["x": Data("0".utf8), "y": Data("0".utf8)], to: path)
        let writer = Thread {
            for k in 1...300 { try! DirectoryReplacement.write(["x": Data("\(k)".utf8), "y": Data("\(k)".utf8)], to: path) }
        }
        writer.start()
        var mixed = 0, reads = 0
        while !writer.isFinished || reads < 300 {
            guard let files = try? DirectorySnapshot.read(path, files: ["x", "y"]) else { continue }
            reads += 1
            if files["x"] != files["y"] || files["x"] == nil { mixed += 1 }
            if reads > 100_000 { break }
        }
        #expect(mixed == 0)
    }
}

@Suite struct CheckpointScheduleTests {
    @Test func aCheckpointIsDueOnlyOnceTheIntervalHasPassedSinceTheLastOne() {
        let start = Date(timeIntervalSinceReferenceDate: 1000)
        var schedule = CheckpointSchedule(interval: 10, start: start)
        // Asked at 4, 9.9, 10, 15 and 21 s: due at 10 s, then not until 10 s after that save.
        let due = [4, 9.9, 10, 15, 21].map { schedule.isDue(at: start.addingTimeInterval($0)) }
        #expect(due == [false, false, true, false, true])
    }

    @Test func intervalZeroSavesAfterEveryStep() {
        let start = Date(timeIntervalSinceReferenceDate: 1000)
        var schedule = CheckpointSchedule(interval: 0, start: start)
        let due = (0..<5).map { _ in schedule.isDue(at: start) }
        #expect(due == [true, true, true, true, true])
    }
}

@Suite struct DirectoryLockTests {
    @Test func aSecondWriterIsRefusedUntilTheFirstEnds() throws {
        let folder = temporaryFolder()
        var first: DirectoryLock? = try DirectoryLock(folder, purpose: "writing features into it")
        let error = #expect(throws: FileError.self) { try DirectoryLock(folder, purpose: "writing features into it") }
        #expect(error?.description.contains("another run is writing features into it") == true)
        _ = first
        first = nil
        #expect(throws: Never.self) { _ = try DirectoryLock(folder, purpose: "writing features into it") }
    }
}

@Suite struct ParallelTests {
    @Test func everyIndexRunsOnceAndResultsKeepTheirOrder() {
        #expect(parallelMap(1000, workers: 4) { $0 * $0 } == (0..<1000).map { $0 * $0 })
        let states = parallelForEach(1000, workers: 3, state: { [Int]() }) { seen, i in seen.append(i) }
        #expect(states.count <= 3 && states.flatMap { $0 }.sorted() == Array(0..<1000))
        #expect(parallelMap(0, workers: 2) { $0 }.isEmpty)
    }
}

@Suite struct ScratchBufferTests {
    @Test func keepsItsMemoryUntilACallNeedsMoreAndZeroesOnRequest() {
        let buffer = ScratchBuffer<Double>()
        let first = buffer.zeroed(8)
        for i in 0..<8 { first[i] = Double(i + 1) }
        #expect(buffer.reserve(4) == first && first[3] == 4, "a smaller request reuses the memory and keeps its values")
        let zeroed = buffer.zeroed(6)
        #expect(zeroed == first && (0..<6).allSatisfy { zeroed[$0] == 0 } && zeroed[6] == 7)
        let grown = buffer.zeroed(100)
        #expect(buffer.capacity == 100 && (0..<100).allSatisfy { grown[$0] == 0 })
    }
}

@Suite struct DescriptorReaderTests {
    /// A pipe's whole contents arrive, written in small pieces with pauses between them (each
    /// `read` returns one piece), and end of file ends the reading.
    @Test func readsAPipeToItsEndWhateverItsPieces() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let payload = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let writer = Thread {
            payload.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(writeEnd, raw.baseAddress! + offset, min(4_093, raw.count - offset))
                    if n > 0 { offset += n }
                    if offset % 40 == 0 { usleep(1_000) }
                }
            }
            close(writeEnd)
        }
        writer.start()
        let received = try DescriptorReader.readToEnd(readEnd)
        close(readEnd)
        #expect(received == payload)
    }
}
