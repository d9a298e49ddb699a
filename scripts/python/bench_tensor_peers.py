"""Peer side of `scripts/bench tensor`: PyTorch CPU and NumPy on the same work as speechlab-bench.

Usage: python bench_tensor_peers.py gemm N THREADS REPEATS
       python bench_tensor_peers.py rnn-step lstm|gru HIDDEN THREADS STEPS
Prints one JSON object.
"""
import json
import sys
import time

import numpy as np
import torch

kind = sys.argv[1]
if kind == "gemm":
    n, threads, repeats = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    # NumPy's BLAS thread count follows OPENBLAS_NUM_THREADS, set by the caller.
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    print(json.dumps({"gflops": 2 * n ** 3 / sorted(times)[len(times) // 2] / 1e9, "numpy": np.__version__}))
elif kind == "rnn-step":
    cell, hidden, threads, steps = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    T, B, I, C = 100, 32, 39, 48
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, hidden, num_layers=2)
    head = torch.nn.Linear(hidden, C)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    x = torch.randn(T, B, I)
    targets = torch.randint(0, C, (T * B,))
    times = []
    for step in range(steps + 2):
        start = time.perf_counter()
        opt.zero_grad()
        y, _ = rnn(x)
        loss = torch.nn.functional.cross_entropy(head(y).reshape(T * B, C), targets)
        loss.backward()
        opt.step()
        if step >= 2:
            times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": sorted(times)[len(times) // 2], "torch": torch.__version__}))
