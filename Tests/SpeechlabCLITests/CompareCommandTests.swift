import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `speechlab compare` on tiny models of all three kinds, trained on synthesized "words".
@Suite struct CompareCommandTests {
    /// Three tone-like words said by two synthetic speakers, FSDD-style names, 8 kHz.
    static func makeRecordings() throws -> String {
        let folder = temporaryFolder() + "/recordings"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var noise = UInt64(7)
        for word in ["low", "high", "chirp"] {
            for (s, speaker) in ["ann", "bob"].enumerated() {
                for take in 0..<8 {
                    let pitch = 1 + 0.06 * Double(s) + 0.01 * Double(take % 3)
                    let samples = synthesize(word: word, pitch: pitch, rate: 8000, noise: &noise)
                    try wav(samples, rate: 8000).write(to: URL(fileURLWithPath: "\(folder)/\(word)_\(speaker)_\(take).wav"))
                }
            }
        }
        return folder
    }

    static func synthesize(word: String, pitch: Double, rate: Double, noise: inout UInt64) -> [Int16] {
        let silence = Int(0.15 * rate), voiced = Int(0.4 * rate)
        return (0..<(2 * silence + voiced)).map { n in
            noise = noise &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var x = (Double(noise >> 33) / Double(1 << 31) - 1) * 0.01
            let t = Double(n - silence) / rate
            if n >= silence && n < silence + voiced {
                let envelope = sin(Double.pi * t / 0.4)
                switch word {
                case "low": x += 0.4 * envelope * (sin(2 * .pi * 300 * pitch * t) + 0.5 * sin(2 * .pi * 600 * pitch * t))
                case "high": x += 0.4 * envelope * sin(2 * .pi * 1800 * pitch * t)
                default: x += 0.4 * envelope * sin(2 * .pi * (500 * t + 2000 * t * t) * pitch)
                }
            }
            return Int16(max(-1, min(1, x)) * 32000)
        }
    }

    /// A 16-bit mono PCM WAV file.
    static func wav(_ samples: [Int16], rate: Int) -> Data {
        var d = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(36 + 2 * samples.count); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(rate); u32(2 * rate); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(2 * samples.count)
        for s in samples { withUnsafeBytes(of: s.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    @Test func reportShowsEveryModelWithTheNumbersOfItsJSON() throws {
        let root = temporaryFolder()
        let recordings = try Self.makeRecordings()
        try expectSuccess(["prepare", "fsdd", "--src", recordings, "--out", root + "/data"])
        try expectSuccess(["train", "gmm-hmm", "--train", root + "/data/train", "--out", root + "/gmm", "--states", "3",
                           "--gaussians", "2", "--iterations", "5", "--quiet"])
        try expectSuccess(["align", "--model", root + "/gmm", "--data", root + "/data/train", "--out", root + "/ali", "--quiet"])
        try expectSuccess(["train", "rnn", "--kind", "hybrid", "--cell", "gru", "--layers", "1", "--hidden", "16", "--epochs", "4",
                           "--batch-size", "4", "--train", root + "/data/train", "--alignments", root + "/ali", "--out", root + "/gru", "--quiet"])
        // A classifier on other features: the report must say that the configurations differ.
        try expectSuccess(["train", "rnn", "--kind", "classifier", "--cell", "lstm", "--layers", "1", "--hidden", "16", "--epochs", "4",
                           "--batch-size", "4", "--type", "fbank", "--train", root + "/data/train", "--out", root + "/cls", "--quiet"])
        // The test set gains a word no model knows.
        var recordingsOfMid: [String] = []
        var noise = UInt64(3)
        for take in 0..<2 {
            let path = "\(root)/mid_\(take).wav"
            try Self.wav(Self.synthesize(word: "low", pitch: 1.6, rate: 8000, noise: &noise), rate: 8000).write(to: URL(fileURLWithPath: path))
            recordingsOfMid.append(path)
        }
        for (file, lines) in [("wav.scp", recordingsOfMid.enumerated().map { "mid_ann_\($0.offset) \($0.element)" }),
                              ("text", (0..<2).map { "mid_ann_\($0) mid" }), ("utt2spk", (0..<2).map { "mid_ann_\($0) ann" })] {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: "\(root)/data/test/\(file)"))
            handle.seekToEndOfFile()
            handle.write(Data(lines.map { $0 + "\n" }.joined().utf8))
            try handle.close()
        }

        let out = root + "/report"
        let result = try Speechlab.run(["compare", "--test", root + "/data/test", "--models", root + "/gmm", root + "/gru", root + "/cls",
                                        "--out", out, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("report.html"))

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as! [String: Any]
        let models = json["models"] as! [[String: Any]]
        // The speaker-adaptively trained GMM-HMM and the hybrid on its adapted features twice:
        // unadapted, and after two-pass fMLLR.
        #expect(models.map { $0["name"] as! String } == ["gmm-unadapted", "gmm", "gru-unadapted", "gru", "cls"])
        #expect((models[1]["architecture"] as! String).contains("two-pass fMLLR, MAP of its decoded words"))
        #expect(!(models[0]["architecture"] as! String).contains("fMLLR"))
        // The adapted GMM-HMM's words are decode's, whose default adaptation it shows.
        let decoded = try Speechlab.run(["decode", "--model", root + "/gmm", "--data", root + "/data/test", "--out", root + "/gmm.hyp", "--quiet"])
        #expect(decoded.status == 0, "\(decoded.stderr)")
        #expect(try String(contentsOfFile: out + "/gmm.hyp", encoding: .utf8) == String(contentsOfFile: root + "/gmm.hyp", encoding: .utf8))
        #expect(json["utterances"] as? Int == 32, "five test takes × three words × two speakers, and two of 'mid'")
        #expect(json["isolatedWords"] as? Bool == true)
        #expect((json["pairwise"] as! [[String: Any]]).count == 10)
        for model in models {
            #expect(model["unknownWords"] as? [String] == ["mid"])
            let accuracy = model["accuracy"] as! Double
            #expect(accuracy <= 30.0 / 32.0 + 1e-12, "the two 'mid' utterances cannot be right")
        }
        #expect((models[0]["accuracy"] as! Double) >= 26.0 / 32.0 && (models[1]["accuracy"] as! Double) >= 26.0 / 32.0,
                "the GMM-HMM should get most tones right")
        let notes = (json["notes"] as! [String]).joined(separator: "\n")
        #expect(notes.contains("different feature configurations"))
        #expect(notes.contains("cannot output"))

        // The page is well-formed XML, names every model, and shows the numbers of report.json.
        let page = try HTMLTable.read(out + "/report.html")
        for model in models {
            let name = model["name"] as! String
            let row = try #require(page.summary[name], "no summary row for \(name)")
            #expect(row["accuracy"] == percent(model["accuracy"]))
            #expect(row["wordErrorRate"] == percent(model["wordErrorRate"]))
            #expect(row["sentenceErrorRate"] == percent(model["sentenceErrorRate"]))
            let interval = model["accuracyInterval"] as! [String: Any]
            #expect(row["accuracyInterval"] == "\(percent(interval["low"]))–\(percent(interval["high"]))")
            #expect(row["parameters"]?.replacingOccurrences(of: ",", with: "") == String(model["parameters"] as! Int))
            #expect(row["realTimeFactor"] == String(format: "%.4f", model["realTimeFactor"] as! Double))
            #expect(row["trainingSeconds"] == String(format: "%.1f", model["trainingSeconds"] as! Double))
        }
        #expect(page.svgCount >= 3 + 2 + 2 + 1, "three heat maps and the training curves")
        let markdown = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        for model in models { #expect(markdown.contains("| \(model["name"] as! String) |")) }
    }

    @Test func anEmptyTestSetOrAnUnreadableModelIsAClearError() throws {
        let root = temporaryFolder()
        try FileManager.default.createDirectory(atPath: root + "/empty", withIntermediateDirectories: true)
        for file in ["wav.scp", "text"] { try "".write(toFile: "\(root)/empty/\(file)", atomically: true, encoding: .utf8) }
        try FileManager.default.createDirectory(atPath: root + "/broken", withIntermediateDirectories: true)
        try "{\"kind\": \"gmm-hmm\"".write(toFile: root + "/broken/model.json", atomically: true, encoding: .utf8)
        let empty = try Speechlab.run(["compare", "--test", root + "/empty", "--models", root + "/broken", "--out", root + "/r1"])
        #expect(empty.status != 0 && empty.stderr.contains("no utterances"), "\(empty.stderr)")

        let recordings = try Self.makeRecordings()
        try expectSuccess(["prepare", "fsdd", "--src", recordings, "--out", root + "/data"])
        let broken = try Speechlab.run(["compare", "--test", root + "/data/test", "--models", root + "/broken", "--out", root + "/r2"])
        #expect(broken.status != 0 && broken.stderr.contains(root + "/broken"), "\(broken.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/r2/report.html"))
    }

    private func expectSuccess(_ arguments: [String]) throws {
        let result = try Speechlab.run(arguments)
        #expect(result.status == 0, "speechlab \(arguments.prefix(2).joined(separator: " ")): \(result.stderr)")
    }

    private func percent(_ value: Any?) -> String { String(format: "%.2f", 100 * (value as! Double)) }
}

/// The summary table of a report page, read with an XML parser (which also proves the page
/// well-formed): model name → data-field → cell text.
final class HTMLTable: NSObject, XMLParserDelegate {
    var summary: [String: [String: String]] = [:]
    var svgCount = 0
    private var model: String?
    private var field: String?
    private var text = ""

    static func read(_ path: String) throws -> HTMLTable {
        let table = HTMLTable()
        let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
        parser.delegate = table
        guard parser.parse() else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "\(path) is not well-formed: \(parser.parserError.map { "\($0)" } ?? "?") at line \(parser.lineNumber)"])
        }
        return table
    }

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if element == "svg" { svgCount += 1 }
        if element == "tr", let name = attributes["data-model"] { model = name }
        if element == "td", model != nil, let f = attributes["data-field"] {
            field = f
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if field != nil { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
        if element == "td", let model, let field {
            summary[model, default: [:]][field] = text
            self.field = nil
        }
        if element == "tr" { model = nil }
    }
}
