"""Makes the feature test fixtures: short waves and the features kaldi-native-fbank computes.

Run through scripts/make-fixtures (it creates the virtual environment). Writes into
Tests/FeatureExtractionTests/Fixtures/: the waves (tones made here, an espeak-ng utterance
resampled by sox to 8 and 16 kHz), reference features as float32 .npy, and cases.json, which
says for each reference which wave and which options made it. Deltas and CMVN references come
from the NumPy implementations below of Kaldi's add-deltas and apply-cmvn.
"""
import json
import os
import subprocess
import sys
import tempfile
import wave

import kaldi_native_fbank as knf
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write_wave(path, samples, rate):
    pcm = np.clip(np.round(samples), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def read_wave(path):
    with wave.open(path, "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32), w.getframerate()


def tones(rate, seconds=0.6):
    rng = np.random.default_rng(7)
    t = np.arange(int(rate * seconds)) / rate
    chirp = np.sin(2 * np.pi * (200 * t + 1500 * t * t))
    x = 6000 * np.sin(2 * np.pi * 440 * t) + 3000 * np.sin(2 * np.pi * 1234.5 * t) + 2000 * chirp
    x += 300 * rng.standard_normal(t.shape)
    x[: rate // 20] *= np.linspace(0, 1, rate // 20)  # a fade-in, so the edges differ from the middle
    return x + 150  # a DC offset for remove_dc_offset to remove


waves = {}
for rate in (8000, 16000):
    name = f"tones_{rate // 1000}k.wav"
    write_wave(os.path.join(out, name), tones(rate), rate)
    waves[name] = rate

with tempfile.TemporaryDirectory() as tmp:
    raw = os.path.join(tmp, "espeak.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, "seven three nine"], check=True)
    for rate in (8000, 16000):
        name = f"speech_{rate // 1000}k.wav"
        subprocess.run(["sox", raw, "-r", str(rate), "-c", "1", "-b", "16", os.path.join(out, name)], check=True)
        waves[name] = rate


def knf_features(samples, rate, kind, opts):
    o = knf.MfccOptions() if kind == "mfcc" else knf.FbankOptions()
    o.frame_opts.samp_freq = rate
    o.frame_opts.dither = 0.0
    o.frame_opts.snip_edges = opts.get("snip_edges", True)
    o.frame_opts.window_type = opts.get("window_type", "povey")
    o.mel_opts.num_bins = opts.get("num_mel_bins", 23)
    o.mel_opts.low_freq = opts.get("low_freq", 20.0)
    o.mel_opts.high_freq = opts.get("high_freq", 0.0)
    if kind == "mfcc":
        o.num_ceps = opts.get("num_ceps", 13)
        o.use_energy = opts.get("use_energy", True)
        o.cepstral_lifter = opts.get("cepstral_lifter", 22.0)
    else:
        o.use_energy = opts.get("use_energy", False)
    comp = knf.OnlineMfcc(o) if kind == "mfcc" else knf.OnlineFbank(o)
    comp.accept_waveform(rate, samples.tolist())
    comp.input_finished()
    return np.array([comp.get_frame(i) for i in range(comp.num_frames_ready)], dtype=np.float32)


def add_deltas(x, order=2, window=2):
    """Kaldi's DeltaFeatures, written independently of the Swift code."""
    scales = [np.array([1.0])]
    for _ in range(order):
        prev = scales[-1]
        taps = np.zeros(len(prev) + 2 * window)
        for j in range(-window, window + 1):
            taps[j + window: j + window + len(prev)] += j * prev
        scales.append(taps / sum(j * j for j in range(-window, window + 1)))
    T = len(x)
    outs = []
    for taps in scales:
        half = (len(taps) - 1) // 2
        idx = np.clip(np.arange(T)[:, None] + np.arange(-half, half + 1)[None, :], 0, T - 1)
        outs.append(np.einsum("tjd,j->td", x.astype(np.float64)[idx], taps))
    return np.concatenate(outs, axis=1).astype(np.float32)


def cmvn(x, norm_vars):
    x = x.astype(np.float64)
    mean = x.mean(axis=0)
    y = x - mean
    if norm_vars:
        y /= np.sqrt(np.maximum((x * x).mean(axis=0) - mean * mean, 1e-20))
    return y.astype(np.float32)


cases = []


def add_case(name, wave_name, kind, opts, post=None, values=None):
    samples, rate = read_wave(os.path.join(out, wave_name))
    feats = knf_features(samples, rate, kind, opts) if values is None else values
    if post is not None:
        feats = post(feats)
    np.save(os.path.join(out, name + ".npy"), feats.astype(np.float32))
    cases.append({"name": name, "wave": wave_name, "type": kind, "options": opts})
    return feats


for wave_name in waves:
    stem = wave_name[:-4]
    for snip in (True, False):
        suffix = "snip" if snip else "nosnip"
        add_case(f"{stem}_mfcc_{suffix}", wave_name, "mfcc", {"snip_edges": snip})
        add_case(f"{stem}_fbank_{suffix}", wave_name, "fbank", {"snip_edges": snip})

# Non-default options, so that the flags are checked too.
add_case("speech_16k_mfcc_custom", "speech_16k.wav", "mfcc",
         {"window_type": "hamming", "num_mel_bins": 40, "num_ceps": 20, "low_freq": 64.0, "high_freq": -400.0,
          "use_energy": False, "cepstral_lifter": 0.0})
add_case("speech_8k_fbank_energy_hanning", "speech_8k.wav", "fbank",
         {"window_type": "hanning", "use_energy": True, "num_mel_bins": 15})

# Deltas and CMVN (applied to the kaldi-native-fbank MFCC of the 8 kHz utterance).
samples, rate = read_wave(os.path.join(out, "speech_8k.wav"))
base = knf_features(samples, rate, "mfcc", {})
np.save(os.path.join(out, "post_input.npy"), base)
np.save(os.path.join(out, "post_deltas.npy"), add_deltas(base))
np.save(os.path.join(out, "post_cmvn_mean.npy"), cmvn(base, False))
np.save(os.path.join(out, "post_cmvn_meanvar.npy"), cmvn(base, True))
np.save(os.path.join(out, "post_cmvn_then_deltas.npy"), add_deltas(cmvn(base, False)))

with open(os.path.join(out, "cases.json"), "w") as f:
    json.dump({"generator": f"kaldi-native-fbank {knf.__version__ if hasattr(knf, '__version__') else '1.22.4'}",
               "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} feature cases and 5 post-processing references to {out}")
