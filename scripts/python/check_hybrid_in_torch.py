"""Rebuilds a speechlab hybrid model in PyTorch from model.json and weights.safetensors alone and
compares its log posteriors with `speechlab posteriors`.

Usage: python check_hybrid_in_torch.py MODEL FEATS POSTERIORS
  MODEL       a hybrid model directory
  FEATS       a feature directory made with the model's feature options (`speechlab features`)
  POSTERIORS  what `speechlab posteriors --model MODEL` wrote for the same utterances
"""
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file

model_dir, feats_dir, post_dir = sys.argv[1:4]
description = json.load(open(os.path.join(model_dir, "model.json")))
config = json.load(open(os.path.join(feats_dir, "config.json")))
assert config == description["hmm"]["features"], "the features were made with other options than the model's"
a = description["architecture"]
rnn = (torch.nn.LSTM if a["cell"] == "lstm" else torch.nn.GRU)(a["inputSize"], a["hiddenSize"], num_layers=a["layers"],
                                                             bidirectional=a["bidirectional"], batch_first=True)
head = torch.nn.Linear(a["hiddenSize"] * (2 if a["bidirectional"] else 1), a["outputs"])
weights = load_file(os.path.join(model_dir, "weights.safetensors"))
rnn.load_state_dict({k[len("rnn."):]: v for k, v in weights.items() if k.startswith("rnn.")})
head.load_state_dict({k[len("output."):]: v for k, v in weights.items() if k.startswith("output.")})
mean = torch.tensor(description["normalization"]["mean"])
std = torch.tensor(description["normalization"]["std"])
worst, count = 0.0, 0
for line in open(os.path.join(feats_dir, "feats.scp")):
    utt, path = line.split()
    x = (torch.from_numpy(np.load(os.path.join(feats_dir, path))) - mean) / std
    with torch.no_grad():
        out, _ = rnn(x[None])
        ours = torch.log_softmax(head(out), dim=-1)[0]
    theirs = torch.from_numpy(np.load(os.path.join(post_dir, "post", utt + ".npy")))
    worst = max(worst, (ours - theirs).abs().max().item())
    count += 1
print(f"{count} utterances: PyTorch rebuilt from model.json + weights.safetensors gives speechlab's log posteriors within {worst:.2e}")
assert worst < 1e-3
