import AcousticModels
import ArgumentParser
import Distributed
import Foundation
import GaussianMixture
import HiddenMarkov
import SpeechBase

/// `speechlab align`: forced alignment of transcripts, the frame targets of neural models.
struct Align: ParsableCommand, RankAware {
    static let configuration = CommandConfiguration(
        abstract: "Force-align transcripts: the HMM state (pdf) of every frame.",
        discussion: """
            Writes DIR/alignments.txt, one line per utterance: 'utt-id pdf pdf ...' (a pdf per \
            frame, Kaldi's ali-to-pdf text form), DIR/pdfs.txt naming each pdf 'index unit state', and \
            DIR/hmm.json, the HMM and features the alignments belong to (for 'train rnn --kind hybrid'). \
            An utterance that cannot be aligned (too short, unknown word) is reported and left out.
            """
    )

    @Option(help: ArgumentHelp("Model directory.", valueName: "dir"))
    var model: String
    @Option(help: ArgumentHelp("Data directory with text.", valueName: "dir"))
    var data: String
    @Option(help: ArgumentHelp("Folder to write the alignments into.", valueName: "dir"))
    var out: String
    @OptionGroup(title: "Run options")
    var runOptions: RunOptions

    func run() throws {
        guard let (done, total) = try write() else { return }
        print("align: done \(done) of \(total) utterances → \((out as NSString).appendingPathComponent("alignments.txt"))")
    }

    /// Aligns DATA and writes OUT, sharing the work over `world`'s ranks; on the writing rank, how
    /// many utterances were aligned of how many.
    func write(world: any Communicator = Distributed.world) throws -> (done: Int, total: Int)? {
        let opened = try RecognitionModel.open(model)
        guard let loaded = opened.hmm, case .search(let recognizer, _) = opened.engine else {
            throw ModelError("\(model): models of kind '\(opened.kind)' have no HMM to align with")
        }
        // Under mpirun/srun each rank aligns whole speakers; rank 0 writes the directory.
        let corpus = try CorpusFeatures.load(data, config: opened.features, rateGiven: true, requireTranscripts: true, run: runOptions, world: world)
        let count = corpus.utterances.count
        let scorer = loaded.scorer
        var items = corpus.utterances.map { ($0.features, $0.utterance.words ?? []) }
        var speakerTransforms: [String: FMLLRTransform]?
        if let adaptation = opened.twoPassAdaptation(enabled: nil) {
            // A speaker-adaptively trained model aligns as Kaldi's align_fmllr.sh: the alignment
            // mixtures align the transcripts, each speaker's fMLLR is estimated from them, and
            // the model aligns the transformed features. The "first pass" is the transcript.
            let transcripts = items.map { $0.1.map { TimedWord(word: $0, start: 0, end: 0) } }
            let (adapted, transforms) = adaptation.adapt(items.map(\.0), speakers: corpus.speakers, jobs: runOptions.jobs) { _, _ in transcripts }
            for i in items.indices { items[i].0 = adapted[i] }
            // Every rank's speakers (each rank has its own).
            let local = Dictionary(transforms.map { ($0.speaker, $0.transform) }) { a, _ in a }
            speakerTransforms = try world.allGather(local).reduce(into: [:]) { $0.merge($1) { a, _ in a } }
            if !runOptions.quiet {
                for note in transforms.compactMap(\.note).prefix(5) { printError("align: \(note)") }
                printError("align: fMLLR transforms for \(speakerTransforms?.count ?? 0) speakers")
            }
        }
        let final = items
        let results = parallelMap(count, workers: runOptions.jobs) { i in
            Result { try recognizer.align(final[i].0, words: final[i].1, scorer: scorer) }
        }
        var local: [UtteranceResult<[Int]>] = []
        for (i, r) in results.enumerated() {
            switch r {
            case .success(let pdfs): local.append(UtteranceResult(id: corpus.utterances[i].utterance.id, value: pdfs.map { Int($0) }))
            case .failure(let error): printError("warning: \(corpus.utterances[i].utterance.id): not aligned: \(error)")
            }
        }
        let total = try world.sum(count), done = try world.sum(local.count)
        guard done > 0 else { throw OnEveryRank(ModelError("no utterance of \(data) could be aligned")) }
        guard let gathered = try world.gatherInOrder(local, listing: corpus.listing) else { return nil }
        let aligned = gathered.map { (id: $0.id, pdfs: $0.value) }
        // The HMM these pdfs belong to, for training a hybrid network on them.
        let hmm = HMMDescription(transitions: loaded.transitions, lexicon: loaded.lexicon, vocabulary: loaded.vocabulary, features: opened.features,
                                 tree: loaded.tree)
        try AlignmentDirectory.write(hmm: hmm, alignments: aligned, speakerTransforms: speakerTransforms,
                                     adaptationModel: speakerTransforms == nil ? nil : opened.gmm, to: out)
        return (done, total)
    }
}
