import AudioIO
import FeatureExtraction
import SpeechCorpus

/// `config` with the working sample rate set to the first utterance's file's rate.
func withWorkingRate(_ config: FeatureConfig, of corpus: [Utterance]) throws -> FeatureConfig {
    var config = config
    let first = corpus[0]
    do {
        config.frame.sampleFrequency = Double(try AudioFile.info(first.audioPath).sampleRate)
    } catch {
        throw CorpusError("\(first.id): \(error) (needed for the working sample rate; give --sample-frequency to set it)")
    }
    return config
}
