import ArgumentParser
import Distributed
import Foundation
import TensorCore

/// A command that spreads its work over the ranks of an MPI job (the others run on rank 0).
protocol RankAware {}

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
            More machines: under mpirun or srun, train, features, align, decode and posteriors share \
            their work over the MPI ranks (whole speakers each; rank 0 writes; a GMM-HMM the same bits \
            as one process trains); 'speechlab ranks' checks a job first.
              mpirun -np 4 speechlab train gmm-hmm --train data/fsdd/train --out exp/gmm-hmm --jobs 1
            """,
        version: "0.1.0",
        subcommands: [Prepare.self, Perturb.self, Features.self, Train.self, Adapt.self, Align.self, LanguageModelCommand.self, Graph.self, Decode.self, Score.self, Compare.self, Posteriors.self, Info.self, Ranks.self]
    )

    /// Kaldi's spellings of feature options are accepted as they are (see ``KaldiArguments``);
    /// first, on a CPU that OpenBLAS does not know, the program restarts with better kernels.
    static func main() {
        BLASKernels.relaunchWithBetterKernelsIfNeeded(arguments: CommandLine.arguments)
        Runtime.configure()
        run(KaldiArguments.normalize(Array(CommandLine.arguments.dropFirst())))
    }

    /// Parses and runs one command. Under a launcher (mpirun, srun) a failure on one rank ends
    /// every rank of the job, the message naming the rank; an error in the arguments, which
    /// every rank meets alike, is reported once (by rank 0).
    static func run(_ arguments: [String]) {
        do {
            var command = try parseAsRoot(arguments)
            // A command that does not share its work over ranks runs on rank 0 alone: the other
            // ranks would only write the same files again.
            if !(command is any RankAware), let launched = Distributed.launch(), launched.size != 1 {
                guard launched.rank == 0 else { return }
                FileHandle.standardError.write(Data("note: '\(type(of: command)._commandName)' runs on one rank; the other ranks of the job have nothing to do\n".utf8))
            }
            try command.run()
            Distributed.finish()
        } catch {
            if Distributed.isInitialized, Distributed.world.size > 1, error is any ErrorOnEveryRank {
                // Met by every rank alike: reported once, and every rank ends normally.
                let underlying = (error as? OnEveryRank)?.error ?? error
                let code = exitCode(for: underlying).rawValue
                if Distributed.world.isWriter { FileHandle.standardError.write(Data((fullMessage(for: underlying) + "\n").utf8)) }
                Distributed.finish()
                Foundation.exit(code)
            }
            if Distributed.isInitialized, Distributed.world.size > 1 {
                let world = Distributed.world
                world.abort("rank \(world.rank) of \(world.size): " + fullMessage(for: error), code: exitCode(for: error).rawValue)
            }
            if let rank = Distributed.launcherRank, rank != 0, !Distributed.isInitialized {
                Foundation.exit(exitCode(for: error).rawValue)
            }
            exit(withError: error)
        }
    }
}
