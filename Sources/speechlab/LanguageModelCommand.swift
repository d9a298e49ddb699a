import ArgumentParser
import Foundation
import LanguageModel

/// `speechlab lm`: n-gram language models in ARPA format.
struct LanguageModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm",
        abstract: "Train and evaluate n-gram language models (ARPA files).",
        subcommands: [LanguageModelTrain.self, LanguageModelPerplexity.self]
    )
}

/// Where sentences come from: plain text files and Kaldi data directories.
struct SentenceSources: ParsableArguments {
    @Option(name: .customLong("text"), help: ArgumentHelp("A text file with one sentence per line (repeatable; '-' for standard input).", valueName: "file"))
    var textFiles: [String] = []
    @Option(name: .customLong("data"), help: ArgumentHelp("A Kaldi data directory whose 'text' file holds the sentences after each utterance id (repeatable).", valueName: "dir"))
    var dataDirectories: [String] = []

    func validate() throws {
        guard !textFiles.isEmpty || !dataDirectories.isEmpty else { throw ValidationError("give the sentences with --text FILE or --data DIR") }
    }

    func sentences() throws -> [[String]] {
        do {
            return try textFiles.flatMap { try TrainingText.sentences($0) }
                + dataDirectories.flatMap { try TrainingText.sentences(($0 as NSString).appendingPathComponent("text"), utteranceIDs: true) }
        } catch { throw CommandFailure("\(error)") }
    }
}

/// `speechlab lm train`.
struct LanguageModelTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Estimate an interpolated modified Kneser-Ney n-gram model and write it as ARPA.",
        discussion: """
        As KenLM's lmplz and SRILM's 'ngram-count -kndiscount -interpolate' estimate it, without pruning. \
        The vocabulary is every word of the text plus the words of --vocab: a word the text never has \
        (a lexicon word, '<unk>') keeps a share of the unigram mass. When the text is too small for \
        the discounts of an order, KenLM's fallback discounts (0.5, 1, 1.5) are used and reported.
        """
    )

    @OptionGroup var sources: SentenceSources
    @Option(help: ArgumentHelp("The longest n-gram.", valueName: "n"))
    var order = 3
    @Option(help: ArgumentHelp("Words the model must know besides the text's: one per line, or the first field of each line (a lexicon, CMUdict included).", valueName: "file"))
    var vocab: String?
    @Option(help: ArgumentHelp("The ARPA file to write ('-' for standard output).", valueName: "file"))
    var out: String
    @Flag(help: "No summary.")
    var quiet = false

    func validate() throws {
        guard (1...10).contains(order) else { throw ValidationError("--order must be 1 to 10, not \(order)") }
    }

    func run() throws {
        let sentences = try sources.sentences()
        let vocabulary: [String]
        do { vocabulary = try vocab.map(TrainingText.vocabulary) ?? [] } catch { throw CommandFailure("\(error)") }
        let (model, discounts): (NGramModel, [KneserNeyEstimator.Discounts])
        do { (model, discounts) = try KneserNeyEstimator(order: order, vocabulary: vocabulary).estimate(sentences) } catch {
            throw CommandFailure("\(error)")
        }
        do { try ARPAFile.write(model, to: out) } catch { throw CommandFailure("\(error)") }
        guard !quiet else { return }
        let words = sentences.reduce(0) { $0 + $1.count }
        var lines = ["lm train: \(sentences.count) sentences, \(words) words, vocabulary \(model.words.count) (with <s>, </s>, <unk>)"]
        lines.append("n-grams: " + model.counts.enumerated().map { "\($0.offset + 1)-grams \($0.element)" }.joined(separator: ", "))
        for (n, d) in discounts.enumerated() {
            lines.append(String(format: "discounts of %d-grams: %.3f %.3f %.3f%@", n + 1, d.d1, d.d2, d.d3,
                                d.isFallback ? " (fallback: too few n-grams of some count for estimates)" : ""))
        }
        lines.append(String(format: "perplexity on the training text: %.2f", model.perplexity(sentences)))
        lines.append("wrote \(out)")
        FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }
}

/// `speechlab lm perplexity`.
struct LanguageModelPerplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of an ARPA model (any tool's) on sentences.",
        discussion: "Every word and each sentence end is predicted, with <s> as the first history; words the model does not know score as <unk> and are counted."
    )

    @Option(help: ArgumentHelp("The ARPA file.", valueName: "file"))
    var lm: String
    @OptionGroup var sources: SentenceSources

    func run() throws {
        let model: NGramModel
        do { model = try ARPAFile.read(lm) } catch { throw CommandFailure("\(error)") }
        let sentences = try sources.sentences()
        let unknown = sentences.reduce(0) { $0 + model.score(sentence: $1).unknownWords }
        let words = sentences.reduce(0) { $0 + $1.count }
        print(String(format: "%d sentences, %d words, %d unknown words: perplexity %.2f", sentences.count, words, unknown, model.perplexity(sentences)))
    }
}
