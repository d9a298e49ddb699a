"""Peer side of `scripts/bench gmm`: hmmlearn GMMHMM, one model per digit, on speechlab's features.

Usage: python bench_gmm_peers.py TRAIN_FEATS TEST_FEATS TRAIN_TEXT TEST_TEXT STATES MIXTURES ITERATIONS
Loads the .npy features of both sets, trains one GMMHMM per word (diagonal covariances) for
exactly ITERATIONS EM iterations, scores each test utterance under every model, and prints
one JSON object: seconds per EM iteration over the whole training set, training seconds,
decoding seconds and accuracy.
"""
import json
import os
import sys
import time
import warnings

import numpy as np
from hmmlearn.hmm import GMMHMM

warnings.filterwarnings("ignore")
train_dir, test_dir, train_text, test_text = sys.argv[1:5]
states, mixtures, iterations = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])


def load(folder, text):
    words = dict(line.split(maxsplit=1) for line in open(text).read().splitlines())
    out = []
    for line in open(os.path.join(folder, "feats.scp")):
        utt, path = line.split()
        out.append((utt, words[utt].strip(), np.load(os.path.join(folder, path)).astype(np.float64)))
    return out


train, test = load(train_dir, train_text), load(test_dir, test_text)
vocabulary = sorted({w for _, w, _ in train})
frames = sum(len(x) for _, _, x in train)
models = {}
start = time.process_time()
for word in vocabulary:
    xs = [x for _, w, x in train if w == word]
    model = GMMHMM(n_components=states, n_mix=mixtures, covariance_type="diag", n_iter=iterations, tol=-np.inf, random_state=0)
    model.fit(np.concatenate(xs), [len(x) for x in xs])
    models[word] = model
training = time.process_time() - start
start = time.process_time()
correct = 0
for _, word, x in test:
    best = max(vocabulary, key=lambda w: models[w].score(x))
    correct += best == word
decoding = time.process_time() - start
import hmmlearn
print(json.dumps({"seconds_per_iteration": training / iterations, "training_seconds": training, "decoding_seconds": decoding,
                  "accuracy": correct / len(test), "frames": frames, "hmmlearn": hmmlearn.__version__}))
