import AudioIO
import Foundation
import SpeechBase
import SpeechCorpus
import Testing

@Suite struct SpeedPerturbationTests {
    @Test func copiesAreNamedAsKaldiNamesThemAndPointToTheirOriginal() throws {
        let perturbation = try SpeedPerturbation(factors: [0.9, 1.0, 1.1])
        let source = [Utterance(id: "u1", audioPath: "/a/u1.flac", speaker: "ann", words: ["YES"])]
        let copies = perturbation.copies(of: source, audioFolder: "/out/wav")
        #expect(copies.map(\.copy.id) == ["sp0.9-u1", "u1", "sp1.1-u1"])
        #expect(copies.map(\.copy.speaker) == ["sp0.9-ann", "ann", "sp1.1-ann"])
        #expect(copies.map(\.copy.original) == ["u1", nil, "u1"])
        #expect(copies.map(\.copy.audioPath) == ["/out/wav/sp0.9/sp0.9-u1.flac", "/a/u1.flac", "/out/wav/sp1.1/sp1.1-u1.flac"])
        #expect(copies.map(\.writesAudio) == [true, false, true])
        #expect(copies.allSatisfy { $0.copy.words == ["YES"] })
    }

    @Test func augmentedCopiesBesideCleanOnesAreNamedAndMarkedApart() throws {
        let perturbation = try SpeedPerturbation(factors: [1.0, 1.1])
        let source = [Utterance(id: "u1", audioPath: "/a/u1.flac", speaker: "ann", words: ["YES"])]
        let copies = perturbation.copies(of: source, audioFolder: "/out/wav", augmented: .besideClean)
        #expect(copies.map(\.copy.id) == ["u1", "sp1.1-u1", "aug-u1", "aug-sp1.1-u1"])
        #expect(copies.map(\.copy.speaker) == ["ann", "sp1.1-ann", "aug-ann", "aug-sp1.1-ann"])
        #expect(copies.map(\.copy.original) == [nil, "u1", "u1", "u1"])
        #expect(copies.map(\.augmented) == [false, false, true, true])
        #expect(copies.map(\.copy.audioPath) == ["/a/u1.flac", "/out/wav/sp1.1/sp1.1-u1.flac", "/out/wav/aug-sp1/aug-u1.flac",
                                                 "/out/wav/aug-sp1.1/aug-sp1.1-u1.flac"])
        // Replacing: one copy per factor, each augmented; factor 1 keeps the id and is rewritten.
        let replacing = perturbation.copies(of: source, audioFolder: "/out/wav", augmented: .replacingClean)
        #expect(replacing.map(\.copy.id) == ["u1", "sp1.1-u1"] && replacing.allSatisfy(\.augmented) && replacing.allSatisfy(\.writesAudio))
        #expect(replacing.map(\.copy.original) == [nil, "u1"])
    }

    @Test func aSegmentIsWrittenOutEvenAtFactorOne() throws {
        let segment = Utterance(id: "s", audioPath: "/a/rec.wav", segment: AudioSegment(start: 1, end: 2, channel: nil))
        let copy = try #require(try SpeedPerturbation(factors: [1]).copies(of: [segment], audioFolder: "/o").first)
        #expect(copy.writesAudio && copy.copy.segment == nil && copy.copy.audioPath == "/o/sp1/s.flac")
    }

    @Test("bad factor lists are refused", arguments: [[Double](), [0.3], [1.0, 1.0], [.nan], [2.5]])
    func badFactorsAreRefused(_ factors: [Double]) {
        #expect(throws: CorpusError.self) { try SpeedPerturbation(factors: factors) }
    }

    /// A tone at f Hz played 1.1 times faster is a tone at 1.1 f Hz lasting 1/1.1 as long.
    @Test func perturbingScalesPitchAndDuration() throws {
        let rate = 16000.0, frequency = 500.0
        let tone = (0..<16000).map { Float(0.5 * sin(2 * Double.pi * frequency * Double($0) / rate)) }
        for factor in [0.9, 1.1] {
            let fast = try SpeedPerturbation.perturb(tone, factor: factor)
            #expect(abs(Double(fast.count) - 16000 / factor) <= 2)
            // Zero crossings in the middle part count the frequency (edges carry filter ramps).
            let middle = fast[1000..<(fast.count - 1000)]
            let crossings = zip(middle, middle.dropFirst()).filter { ($0 < 0) != ($1 < 0) }.count
            let measured = Double(crossings) / 2 / (Double(middle.count) / rate)
            #expect(abs(measured - frequency * factor) < 5, "factor \(factor): \(measured) Hz")
        }
    }

    @Test func utt2uniqRoundTripsThroughADataDirectory() throws {
        let folder = temporaryFolder()
        let utterances = [Utterance(id: "sp0.9-u1", audioPath: "/o/a.flac", speaker: "sp0.9-s", words: ["A"], original: "u1"),
                          Utterance(id: "u1", audioPath: "/o/b.flac", speaker: "s", words: ["A"])]
        try DataDirectory.write(utterances, to: folder)
        #expect(try String(contentsOfFile: folder + "/utt2uniq", encoding: .utf8) == "sp0.9-u1 u1\n")
        #expect(try DataDirectory.load(folder).utterances == utterances)
    }

    @Test func anUtt2uniqEntryForAnUnknownUtteranceIsNamed() throws {
        let dir = dataDirectory(["wav.scp": "a /x/a.wav\n", "utt2uniq": "a a0\nb b0\n"])
        let error = try #require(throws: CorpusError.self) { try DataDirectory.load(dir) }
        #expect(error.description.contains("utt2uniq:2") && error.description.contains("'b'"))
    }

    /// The noise added is at the SNR asked for, over the whole utterance, looped when shorter.
    @Test func noiseIsAddedAtTheRequestedSNR() {
        let speech = (0..<8000).map { Float(0.3 * sin(Double($0) * 0.05)) }
        var generator = SeededGenerator(seed: 5)
        for (noiseLength, snr) in [(8000, 10.0), (1234, 0.0), (500, 25.0)] {
            var noisy = speech
            let noise = AudioAugmentation.whiteNoise(count: noiseLength, generator: &generator)
            AudioAugmentation.addNoise(&noisy, noise: noise, snr: snr, generator: &generator)
            let power = { (x: [Float]) in x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count) }
            let added = zip(noisy, speech).map { $0 - $1 }
            #expect(abs(10 * log10(power(speech) / power(added)) - snr) < 0.01, "noise of \(noiseLength), \(snr) dB")
        }
        var silent = [Float](repeating: 0, count: 100)
        AudioAugmentation.addNoise(&silent, noise: [1, -1], snr: 10, generator: &generator)
        #expect(silent.allSatisfy { $0 == 0 })
    }

    /// Generated noise has its colour's slope: from bins 16-32 to bins 128-256 of a 1,024-point
    /// spectrum (three octaves up) the power per bin falls ~0 dB for white, ~9 dB for pink
    /// (3 dB an octave) and ~18 dB for brown (6 dB an octave); Hann-windowed blocks, averaged.
    @Test func generatedNoiseFallsByItsColoursSlope() {
        func bandPower(_ x: [Float], bins: StrideThrough<Int>) -> Double {
            let n = 1024
            let window = (0..<n).map { 0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n)) }
            var total = 0.0, count = 0
            for start in stride(from: 0, through: x.count - n, by: n) {
                for k in bins {
                    var (re, im) = (0.0, 0.0)
                    for t in 0..<n {
                        let v = Double(x[start + t]) * window[t], angle = 2 * Double.pi * Double(k * t) / Double(n)
                        re += v * cos(angle)
                        im -= v * sin(angle)
                    }
                    total += re * re + im * im
                    count += 1
                }
            }
            return total / Double(count)
        }
        for (color, fall, tolerance) in [(NoiseColor.white, 0.0, 1.5), (.pink, 9.0, 2.0), (.brown, 18.0, 3.0)] {
            var generator = SeededGenerator(seed: 3)
            let noise = AudioAugmentation.noise(color, count: 32 * 1024, generator: &generator)
            let low = bandPower(noise, bins: stride(from: 16, through: 30, by: 2))
            let high = bandPower(noise, bins: stride(from: 128, through: 240, by: 16))
            let measured = 10 * log10(low / high)
            #expect(abs(measured - fall) < tolerance, "\(color): \(measured) dB from bins 16-32 to 128-256, expected \(fall)")
        }
    }

    /// Padding adds the asked-for samples at each end, at the level (RMS) of the take's quietest
    /// 10-ms block, and leaves the take itself untouched.
    @Test func paddingAddsTheTakesOwnBackgroundAtBothEnds() {
        var generator = SeededGenerator(seed: 9)
        // 80-sample blocks: a quiet start (RMS 2), then a loud tone.
        let take: [Float] = (0..<800).map { (t: Int) -> Float in
            if t < 80 { return t % 2 == 0 ? 2 : -2 }
            return Float(1000 * sin(Double(t) * 0.3))
        }
        let padded = AudioAugmentation.pad(take, before: 4000, after: 2400, blockLength: 80, generator: &generator)
        #expect(padded.count == 4000 + 800 + 2400)
        #expect(Array(padded[4000..<4800]) == take)
        let rms = { (x: ArraySlice<Float>) in (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(x.count)).squareRoot() }
        #expect(abs(rms(padded[0..<4000]) - 2) < 0.1 && abs(rms(padded[4800...]) - 2) < 0.1)
        #expect(AudioAugmentation.pad(take, before: 0, after: 0, blockLength: 80, generator: &generator) == take)
    }

    /// The simulated room's response: the direct sound, 2.5 ms of nothing, then a tail whose
    /// energy is the asked-for ratio below the direct sound's and whose Schroeder decay curve
    /// (the energy still to come, from each sample on) falls 60 dB in the asked-for RT60.
    @Test func aRoomsResponseDecaysBy60DecibelsInItsReverberationTime() {
        var generator = SeededGenerator(seed: 3)
        for (rt60, drr) in [(0.3, 5.0), (0.8, 0.0), (0.15, 10.0)] {
            let rate = 16000
            let h = AudioAugmentation.roomImpulseResponse(rt60: rt60, directToReverberant: drr, sampleRate: rate, generator: &generator)
            let predelay = rate / 400
            #expect(h.count == predelay + Int(rt60 * Double(rate)))
            #expect(h[0] == 1 && h[1..<predelay].allSatisfy { $0 == 0 })
            let tail = h[predelay...].map { Double($0) * Double($0) }
            #expect(abs(10 * log10(1 / tail.reduce(0, +)) - drr) < 1e-3, "direct-to-reverberant ratio at \(drr) dB")
            // Schroeder's backward integral; the slope between −5 and −25 dB, extrapolated to 60 dB.
            var remaining = tail.reduce(0, +)
            var decibels: [Double] = []
            for e in tail { decibels.append(10 * log10(remaining / tail.reduce(0, +))); remaining -= e }
            let t5 = Double(decibels.firstIndex { $0 <= -5 }!), t25 = Double(decibels.firstIndex { $0 <= -25 }!)
            let measured = (t25 - t5) / Double(rate) * 60 / 20
            #expect(abs(measured - rt60) < 0.1 * rt60, "RT60 \(rt60) s measured as \(measured) s")
        }
    }

    /// Reverberation is the full convolution with the response, scaled so that the take's own
    /// span keeps its energy.
    @Test func reverberationConvolvesAndKeepsTheTakesLevel() {
        let take: [Float] = [1, 2, 3]
        let wet = AudioAugmentation.reverberate(take, impulseResponse: [1, 0, 0.5])
        let convolution: [Float] = [1, 2, 3.5, 1, 1.5]
        let gain = Float((14 / (1 + 4 + 12.25)).squareRoot())
        #expect(wet.count == 5 && zip(wet, convolution).allSatisfy { abs($0 - gain * $1) < 1e-6 }, "\(wet)")
        var generator = SeededGenerator(seed: 4)
        let speech = (0..<4000).map { Float(sin(Double($0) * 0.07)) * Float(generator.nextGaussian()) }
        let room = AudioAugmentation.roomImpulseResponse(rt60: 0.4, directToReverberant: 3, sampleRate: 8000, generator: &generator)
        let reverberant = AudioAugmentation.reverberate(speech, impulseResponse: room)
        let energy = { (x: ArraySlice<Float>) in x.reduce(0.0) { $0 + Double($1) * Double($1) } }
        #expect(reverberant.count == speech.count + room.count - 1)
        #expect(abs(energy(reverberant[..<speech.count]) / energy(speech[...]) - 1) < 1e-4)
        #expect(AudioAugmentation.reverberate([0, 0], impulseResponse: room).allSatisfy { $0 == 0 })
    }

    /// The onset cut drops everything before the first block within 35 dB of the loudest, then
    /// the asked-for samples of speech, but never more than half of what follows the onset nor
    /// so much that less than the minimum stays.
    @Test func onsetCutDropsTheLeadInAndTheStartOfTheSpeech() {
        // 80-sample blocks: 3 blocks of faint background (60 dB down), then 20 of a tone.
        let take: [Float] = (0..<1840).map { (t: Int) -> Float in
            t < 240 ? (t % 2 == 0 ? 0.001 : -0.001) : Float(sin(Double(t) * 0.3))
        }
        #expect(AudioAugmentation.cutOnset(take, count: 100, blockLength: 80) == Array(take[340...]))
        #expect(AudioAugmentation.cutOnset(take, count: 0, blockLength: 80) == Array(take[240...]))
        // Asked for more than the speech: half of the 1,600 samples after the onset stay.
        #expect(AudioAugmentation.cutOnset(take, count: 5000, blockLength: 80) == Array(take[1040...]))
        // A floor on what stays: 1,500 of the 1,600 samples, or all of them when asked for more.
        #expect(AudioAugmentation.cutOnset(take, count: 500, blockLength: 80, minimumKept: 1500) == Array(take[340...]))
        #expect(AudioAugmentation.cutOnset(take, count: 50, blockLength: 80, minimumKept: 1500) == Array(take[290...]))
        #expect(AudioAugmentation.cutOnset(take, count: 50, blockLength: 80, minimumKept: 5000) == Array(take[240...]))
        // A background only 20 dB down is speech's onset already; silence and tiny takes stay.
        let louder = take.enumerated().map { $0.offset < 240 ? $0.element * 100 : $0.element }
        #expect(AudioAugmentation.cutOnset(louder, count: 100, blockLength: 80) == Array(louder[100...]))
        #expect(AudioAugmentation.cutOnset([Float](repeating: 0, count: 400), count: 100, blockLength: 80).count == 400)
        #expect(AudioAugmentation.cutOnset([1, 2, 3], count: 2, blockLength: 80) == [1, 2, 3])
    }

    /// The offset cut is the onset cut from the other end: everything after the last block
    /// within 35 dB of the loudest goes, then the asked-for samples of speech before it, within
    /// the same limits.
    @Test func offsetCutDropsTheTailAndTheEndOfTheSpeech() {
        // 80-sample blocks: 20 of a tone, then 3 of faint background (60 dB down).
        let take: [Float] = (0..<1840).map { (t: Int) -> Float in
            t >= 1600 ? (t % 2 == 0 ? 0.001 : -0.001) : Float(sin(Double(t) * 0.3))
        }
        #expect(AudioAugmentation.cutOffset(take, count: 100, blockLength: 80) == Array(take[..<1500]))
        #expect(AudioAugmentation.cutOffset(take, count: 0, blockLength: 80) == Array(take[..<1600]))
        #expect(AudioAugmentation.cutOffset(take, count: 5000, blockLength: 80) == Array(take[..<800]))
        #expect(AudioAugmentation.cutOffset(take, count: 500, blockLength: 80, minimumKept: 1500) == Array(take[..<1500]))
        #expect(AudioAugmentation.cutOffset([1, 2, 3], count: 2, blockLength: 80) == [1, 2, 3])
        // Both cuts: what is left of the tone is its middle.
        let both = AudioAugmentation.cutOffset(AudioAugmentation.cutOnset(take, count: 160, blockLength: 80), count: 160, blockLength: 80)
        #expect(both == Array(take[160..<1440]))
    }

    /// With clean copies kept, the cut copies are a set of their own (`cut-`), beside the
    /// augmented ones (`aug-`); without, the one copy of each utterance gets every change.
    @Test func cutCopiesAreASetOfTheirOwnBesideCleanOnes() {
        let utterances = [Utterance(id: "u1", audioPath: "/o/u1.wav", speaker: "s", words: ["A"])]
        let speeds = try! SpeedPerturbation(factors: [1])
        let beside = speeds.copies(of: utterances, audioFolder: "/w", augmented: .besideClean, speechCut: .besideClean)
        #expect(beside.map(\.copy.id) == ["u1", "aug-u1", "cut-u1"])
        #expect(beside.map(\.copy.speaker) == ["s", "aug-s", "cut-s"])
        #expect(beside.map(\.augmented) == [false, true, false] && beside.map(\.cutsSpeech) == [false, false, true])
        #expect(beside[2].copy.audioPath == "/w/cut-sp1/cut-u1.flac" && beside[2].copy.original == "u1")
        let cutOnly = speeds.copies(of: utterances, audioFolder: "/w", augmented: .none, speechCut: .besideClean)
        #expect(cutOnly.map(\.copy.id) == ["u1", "cut-u1"] && cutOnly[0].copy.audioPath == "/o/u1.wav")
        let replacing = speeds.copies(of: utterances, audioFolder: "/w", augmented: .replacingClean, speechCut: .augmented)
        #expect(replacing.map(\.copy.id) == ["u1"] && replacing[0].augmented && replacing[0].cutsSpeech)
    }
}
