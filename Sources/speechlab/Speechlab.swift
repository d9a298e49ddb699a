import ArgumentParser
import TensorCore

/// The `speechlab` command: one subcommand per tool, each a thin file calling the libraries.
@main
struct Speechlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speechlab",
        abstract: "Speech modelling: features, GMM-HMM and LSTM/GRU acoustic models, decoding and scoring.",
        discussion: """
            A typical run: prepare data directories, train, decode, score, compare models.
              speechlab prepare fsdd --src recordings --out data/fsdd
              speechlab train gmm-hmm --train data/fsdd/train --out exp/gmm-hmm
              speechlab decode --model exp/gmm-hmm --data data/fsdd/test --out exp/hyp
              speechlab score --ref data/fsdd/test/text --hyp exp/hyp
              speechlab compare --test data/fsdd/test --models exp/gmm-hmm exp/lstm --out exp/cmp
            Continuous speech: phones through a lexicon, an n-gram model, a decoding graph.
              speechlab prepare an4 --src an4 --out data/an4
              speechlab train gmm-hmm --train data/an4/train --lexicon cmudict.dict --out exp/mono
              speechlab lm train --data data/an4/train --order 3 --out exp/lm.arpa
              speechlab graph --model exp/mono --lm exp/lm.arpa --out exp/mono/graph
              speechlab decode --model exp/mono --graph exp/mono/graph --data data/an4/dev --lm-weights 7:17 --out exp/hyp
            Data directories are Kaldi's (wav.scp, text, utt2spk); features are NumPy .npy files; \
            models are directories of model.json and weights.safetensors.
            """,
        version: "0.1.0",
        subcommands: [Prepare.self, Perturb.self, Features.self, Train.self, Adapt.self, Align.self, LanguageModelCommand.self, Graph.self, Decode.self, Score.self, Compare.self, Posteriors.self, Info.self]
    )

    /// Kaldi's spellings of feature options are accepted as they are (see ``KaldiArguments``);
    /// first, on a CPU that OpenBLAS does not know, the program restarts with better kernels.
    static func main() {
        BLASKernels.relaunchWithBetterKernelsIfNeeded(arguments: CommandLine.arguments)
        Runtime.configure()
        main(KaldiArguments.normalize(Array(CommandLine.arguments.dropFirst())))
    }
}
