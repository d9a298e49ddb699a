"""Peer side of `scripts/bench rnn`: the same hybrid network and epoch in PyTorch CPU.

Usage: python bench_rnn_peers.py FEATS ALIGNMENTS TEST_FEATS lstm|gru|bilstm|bigru THREADS
One epoch of a 2-layer LSTM/GRU (hidden 128, bi: bidirectional) + linear layer over the alignment's pdfs, batches
of 32 utterances of similar length (sorted by length), Adam, frame cross-entropy over the
unpadded frames; then the forward pass over every test utterance one at a time. Prints JSON.
"""
import json
import os
import sys
import time

import numpy as np
import torch

feats, ali, test, cell, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(1)


def load(folder):
    out = {}
    for line in open(os.path.join(folder, "feats.scp")):
        utt, path = line.split()
        out[utt] = np.load(os.path.join(folder, path))
    return out


targets = {l.split()[0]: np.array([int(x) for x in l.split()[1:]]) for l in open(os.path.join(ali, "alignments.txt"))}
train = [(x, targets[u]) for u, x in load(feats).items() if u in targets]
pdfs = max(int(t.max()) for _, t in train) + 1
D = train[0][0].shape[1]
bidirectional = cell.startswith("bi")
rnn = (torch.nn.LSTM if cell.endswith("lstm") else torch.nn.GRU)(D, 128, num_layers=2, batch_first=True, bidirectional=bidirectional)
head = torch.nn.Linear(256 if bidirectional else 128, pdfs)
opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=2e-3)
train.sort(key=lambda p: len(p[0]))
batches = [train[i:i + 32] for i in range(0, len(train), 32)]
start = time.perf_counter()
for batch in batches:
    lengths = torch.tensor([len(x) for x, _ in batch])
    x = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(x) for x, _ in batch], batch_first=True)
    y = torch.nn.utils.rnn.pad_sequence([torch.from_numpy(t) for _, t in batch], batch_first=True, padding_value=-100)
    opt.zero_grad()
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, pdfs), y.reshape(-1), ignore_index=-100)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(rnn.parameters()) + list(head.parameters()), 5.0)
    opt.step()
training = time.perf_counter() - start
tests = list(load(test).values())
start = time.perf_counter()
with torch.no_grad():
    for x in tests:
        out, _ = rnn(torch.from_numpy(x)[None])
        torch.log_softmax(head(out), dim=-1)
decoding = time.perf_counter() - start
print(json.dumps({"train_seconds": training, "train_frames": int(sum(len(x) for x, _ in train)), "decode_seconds": decoding,
                  "test_audio_seconds": sum(len(x) for x in tests) / 100, "torch": torch.__version__}))
