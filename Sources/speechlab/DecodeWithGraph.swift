import AcousticModels
import ArgumentParser
import Distributed
import Evaluation
import Foundation
import HiddenMarkov
import SpeechBase

extension Decode {
    /// The LM weights of `--lm-weights A:B`.
    func weightRange() throws -> [Float] {
        let parts = (lmWeights ?? "").split(separator: ":").map { Int($0) }
        guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 1, b >= a, b - a <= 100 else {
            throw ValidationError("--lm-weights takes A:B, integers with 1 ≤ A ≤ B ≤ A + 100, not '\(lmWeights ?? "")'")
        }
        return (a...b).map(Float.init)
    }

    /// Token passing through the graph at `path`: at one LM weight (given, tuned before, or the default),
    /// or with `--lm-weights` at each and the best kept (and saved in the model directory).
    func decodeWithGraph(_ path: String, model: RecognitionModel, corpus: CorpusFeatures) throws -> [[TimedWord]?] {
        guard let hmm = model.hmm else { throw CommandFailure("\(self.model): a whole-utterance classifier does not decode through a graph") }
        let (decoder, tuned) = try TunedDecoding.decoder(for: self.model, lmWeight: lmWeight, wordPenalty: wordPenalty, beam: beam,
                                                         maxActive: maxActive)
        let recognizer = try GraphRecognizer(graphDirectory: path, hmm: hmm, decoder: decoder)
        let jobs = runOptions.jobs
        let firstPassWeight = TunedDecoding.firstPassLMWeight(given: lmWeight, tuned: tuned, tuning: lmWeights != nil)
        let firstPass = recognizer.atLMWeight(firstPassWeight)
        let utterances = try adaptedFeatures(corpus.utterances.map(\.features), speakers: corpus.speakers, model: model, report: true) { features, scorer in
            parallelMap(features.count, workers: jobs) { firstPass.decode(features[$0], scorer: scorer)?.words }
        }
        let scorer = hmm.scorer
        guard lmWeights != nil else {
            if !runOptions.quiet, lmWeight == nil, let tuned { printError("decode: LM weight \(tuned.lmWeight) (tuned on \(tuned.tunedOn))") }
            return parallelMap(utterances.count, workers: runOptions.jobs) { recognizer.decode(utterances[$0], scorer: scorer)?.words }
        }
        var references: [String: [String]] = [:]
        for (utterance, _) in corpus.utterances {
            guard let words = utterance.words else { throw CommandFailure("--lm-weights needs transcripts: utterance '\(utterance.id)' has none") }
            references[utterance.id] = words
        }
        let weights = try weightRange()
        let results = recognizer.scan(utterances, scorer: scorer, lmWeights: weights, workers: runOptions.jobs)
        // Errors add over utterances: each rank counts its own, and the sums decide (every rank
        // alike). `sums`: the errors at each weight, then the reference words.
        var sums = [Int64](repeating: 0, count: weights.count + 1)
        for (k, paths) in results.enumerated() {
            var hypotheses: [String: [String]] = [:]
            for (i, (utterance, _)) in corpus.utterances.enumerated() { hypotheses[utterance.id] = paths[i]?.map(\.word) ?? [] }
            let report = ScoreReport(references: references, hypotheses: hypotheses)
            sums[k] = Int64(report.errors)
            sums[weights.count] = Int64(report.referenceWords)
        }
        let world = Distributed.world
        try world.sum(&sums)
        let referenceWords = Int(sums[weights.count])
        let errorCounts = weights.indices.map { Int(sums[$0]) }
        var errors: [String: Int] = [:], best = 0, fewest = Int.max
        for (k, count) in errorCounts.enumerated() {
            errors[String(format: "%g", weights[k])] = count
            if count < fewest { (best, fewest) = (k, count) }
            if !runOptions.quiet {
                printError(String(format: "decode: LM weight %g: %%WER %.2f [ %d / %d ]", weights[k], 100 * Double(count) / Double(max(referenceWords, 1)),
                                  count, referenceWords))
            }
        }
        let chosen = TunedDecoding(graph: path, lmWeight: weights[best], wordPenalty: decoder.wordPenalty, tunedOn: data ?? feats ?? "",
                                   referenceWords: referenceWords, errorsByWeight: errors,
                                   firstPassLMWeight: model.twoPassAdaptation(enabled: adapt) == nil ? nil : firstPassWeight)
        guard world.isWriter else { return results[best] }
        try chosen.write(to: self.model)
        printError(String(format: "decode: LM weight %g has the fewest errors; kept in %@", weights[best], (self.model as NSString).appendingPathComponent(TunedDecoding.fileName)))
        return results[best]
    }
}
