"""Loads speechlab's safetensors LSTM and GRU into torch.nn.LSTM/GRU with load_state_dict and
compares the outputs on the same input. Usage: python check_torch_interop.py DIR"""
import sys

import torch
from safetensors.torch import load_file

folder = sys.argv[1]
for cell, cls in (("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)):
    net = cls(5, 4, num_layers=2, bidirectional=True)
    net.load_state_dict(load_file(f"{folder}/{cell}.safetensors"))  # strict: names and shapes must match
    io = load_file(f"{folder}/{cell}-io.safetensors")
    with torch.no_grad():
        y, state = net(io["input"])
    h = state[0] if isinstance(state, tuple) else state
    diff = max((y - io["output"]).abs().max().item(), (h - io["hidden"]).abs().max().item())
    print(f"{cell}: speechlab weights load into torch.nn.{cls.__name__} (strict); max |Δ| of outputs {diff:.2e}")
    assert diff < 1e-5
