import ArgumentParser

/// The `speechlab` command: one subcommand per tool, each a thin file calling the libraries.
@main
struct Speechlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speechlab",
        abstract: "Speech modelling: features, GMM-HMM and LSTM/GRU acoustic models, decoding and scoring.",
        discussion: """
            A typical run: prepare data directories, extract features, train, decode, score.
              speechlab prepare fsdd --src recordings --out data/fsdd
              speechlab features --data data/fsdd/train --out exp/feats/train --deltas
            Data directories are Kaldi's (wav.scp, text, utt2spk); features are NumPy .npy files.
            """,
        version: "0.1.0",
        subcommands: [Prepare.self, Features.self, Train.self, Align.self, Decode.self, Score.self]
    )
}
