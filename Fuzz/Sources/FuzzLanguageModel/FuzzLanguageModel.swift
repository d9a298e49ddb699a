import DecodingGraphs
import Foundation
import FuzzSupport
import LanguageModel
import SpeechCorpus

/// The language-model and lexicon formats: an ARPA file (read, queried, written and read back
/// the same), a pronunciation lexicon (CMUdict or lexicon.txt), an OpenFst symbol table and
/// an AN4 transcription, each read from the same input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        let path = temporaryFile(data, name: "input.txt")
        if let model = try? ARPAFile.read(path) {
            _ = model.logProbability(of: model.words.first ?? "a", after: Array(model.words.prefix(3)))
            _ = model.perplexity([Array(model.words.prefix(4))])
            let text = ARPAFile.text(of: model)
            let again = try ARPAFile.parse(text.split(separator: "\n", omittingEmptySubsequences: false), path: "again")
            precondition(ARPAFile.text(of: again) == text, "an ARPA file speechlab wrote did not read back the same")
        }
        _ = try? PronunciationLexicon.read(path)
        _ = try? PhoneSet.read(path)
        _ = try? SymbolTable.read(path)
        _ = try? TrainingText.sentences(path, utteranceIDs: true)
    }
}

@_cdecl("FuzzLanguageModel_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked([
        "arpa": Data("\\data\\\nngram 1=3\nngram 2=1\n\n\\1-grams:\n-0.5 </s>\n-99 <s> -0.3\n-0.7 a\n\n\\2-grams:\n-0.1 <s> a\n\n\\end\\\n".utf8),
        "cmudict": Data("read R IY1 D\nread(2) R EH1 D # past\n;;; comment\n".utf8),
        "symbols": Data("<eps> 0\nYES 1\nNO 2\n".utf8),
    ])
    return runFuzzer(argc, argv, testOneInput)
}
