import AcousticModels
import Evaluation
import FeatureExtraction
import Foundation
import FuzzSupport

/// The other line formats: a lexicon, a Kaldi feature configuration, transcripts or hypotheses,
/// and alignments, each read from the same input.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    check(bytes, count) { data in
        let path = temporaryFile(data, name: "input.txt")
        _ = try? Lexicon.read(path)
        var config = FeatureConfig(preset: .kaldi)
        if (try? config.applyKaldiConfig(path)) != nil { _ = try? config.validate() }
        _ = try? readTranscripts(path)
        _ = try readAlignments(path, pdfCount: 40)
    }
}

@_cdecl("FuzzTextFormats_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    writeSeedsIfAsked([
        "lexicon": Data("YES Y EH S\nNO N OW\r\n".utf8),
        "config": Data("# mfcc.conf\n--sample-frequency=8000\n--snip_edges=false\n--num-ceps=13 # comment\n".utf8),
        "alignments": Data("u1 0 0 1 1 2\nu2 3 3 3\n".utf8),
    ])
    return runFuzzer(argc, argv, testOneInput)
}
