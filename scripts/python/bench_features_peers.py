"""Peer side of `scripts/bench features`: kaldi-native-fbank and python_speech_features.

Usage: python bench_features_peers.py LIST REPEATS OUTDIR
Reads the WAV files in LIST into memory, then times on one thread:
  - kaldi-native-fbank MFCC (Kaldi defaults, dither as given) + deltas and delta-deltas (NumPy);
  - python_speech_features MFCC + its delta twice;
  - the whole job with kaldi-native-fbank: read each file, compute, save one .npy per utterance.
Prints one JSON object.
"""
import json
import os
import sys
import time

import kaldi_native_fbank as knf
import numpy as np
import python_speech_features as psf
import soundfile as sf

list_path, repeats, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dither = float(os.environ.get("BENCH_DITHER", "1.0"))
paths = [p for p in open(list_path).read().split("\n") if p]


def read(path):
    x, rate = sf.read(path, dtype="int16")
    return x.astype(np.float32), rate


waves = [read(p) for p in paths]
audio_seconds = sum(len(x) / r for x, r in waves)


def add_deltas(x, window=2):
    """Kaldi's add-deltas (order 2), vectorized."""
    T = len(x)
    pad = np.concatenate([np.repeat(x[:1], 2 * window, 0), x, np.repeat(x[-1:], 2 * window, 0)])
    taps1 = np.arange(-window, window + 1, dtype=np.float32) / 10.0
    taps2 = np.convolve(taps1, taps1)
    d1 = sum(t * pad[2 * window + j: 2 * window + j + T] for j, t in zip(range(-window, window + 1), taps1))
    d2 = sum(t * pad[2 * window + j: 2 * window + j + T] for j, t in zip(range(-2 * window, 2 * window + 1), taps2))
    return np.concatenate([x, d1, d2], axis=1)


def knf_mfcc(samples, rate):
    o = knf.MfccOptions()
    o.frame_opts.samp_freq = rate
    o.frame_opts.dither = dither
    o.mel_opts.num_bins = 23
    m = knf.OnlineMfcc(o)
    m.accept_waveform(rate, samples)
    m.input_finished()
    x = np.array([m.get_frame(i) for i in range(m.num_frames_ready)], dtype=np.float32)
    return add_deltas(x - x.mean(0))


def psf_mfcc(samples, rate):
    x = psf.mfcc(samples, samplerate=rate, winlen=0.025, winstep=0.01, numcep=13, nfilt=23, nfft=256 if rate <= 8000 else 512,
                 preemph=0.97, ceplifter=22, appendEnergy=True)
    d1 = psf.delta(x, 2)
    return np.concatenate([x, d1, psf.delta(d1, 2)], axis=1)


def timed(fn):
    start = time.process_time()
    fn()
    return time.process_time() - start


result = {"audio_seconds": audio_seconds, "knf_version": knf.__version__ if hasattr(knf, "__version__") else "?"}
result["knf_compute"] = [timed(lambda: [knf_mfcc(x, r) for x, r in waves]) for _ in range(repeats)]
result["psf_compute"] = [timed(lambda: [psf_mfcc(x, r) for x, r in waves]) for _ in range(repeats)]


def whole():
    os.makedirs(outdir, exist_ok=True)
    for p in paths:
        x, r = read(p)
        np.save(os.path.join(outdir, os.path.basename(p)[:-4] + ".npy"), knf_mfcc(x, r))


start = time.perf_counter()
whole()
result["knf_whole_wall"] = time.perf_counter() - start
print(json.dumps(result))
