"""Makes the PyTorch parity fixtures of the neural-network tests (run through scripts/make-fixtures).

Writes Tests/NeuralNetTests/Fixtures/torch_parity.safetensors (float64): for each case, its
inputs, weights (PyTorch's parameter names, prefixed by the case), outputs, and the gradients
of a fixed weighted sum of the outputs with respect to the inputs and every parameter.
"""
import sys

import torch
from safetensors.torch import save_file

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
out = {}


def put(prefix, name, t):
    out[f"{prefix}.{name}"] = t.detach().clone().contiguous()


def recurrent_case(prefix, cls, batch_first):
    T, B, I, H = 6, 3, 5, 4
    lengths = torch.tensor([6, 4, 2])
    net = cls(I, H, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = torch.randn(B, T, I) if batch_first else torch.randn(T, B, I)
    x.requires_grad_(True)
    for b in range(B):  # padding must not matter
        if batch_first:
            x.data[b, lengths[b]:] = 0
        else:
            x.data[lengths[b]:, b] = 0
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    result = net(packed)
    y_packed, state = result
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(y_packed, batch_first=batch_first, total_length=T)
    h = state[0] if isinstance(state, tuple) else state
    r_out, r_h = torch.randn_like(y), torch.randn_like(h)
    loss = (y * r_out).sum() + (h * r_h).sum()
    loss.backward()
    put(prefix, "input", x)
    put(prefix, "lengths", lengths.double())
    put(prefix, "output", y)
    put(prefix, "hidden", h)
    if isinstance(state, tuple):
        put(prefix, "cell", state[1])
    put(prefix, "output_weights", r_out)
    put(prefix, "hidden_weights", r_h)
    put(prefix, "grad.input", x.grad)
    for name, p in net.named_parameters():
        put(prefix, "param." + name, p)
        put(prefix, "grad." + name, p.grad)


recurrent_case("lstm", torch.nn.LSTM, batch_first=False)
recurrent_case("gru", torch.nn.GRU, batch_first=True)

# Linear → LayerNorm → cross-entropy with class weights and an ignored target.
N, I, C = 5, 6, 4
linear, norm = torch.nn.Linear(I, C), torch.nn.LayerNorm(C)
with torch.no_grad():
    norm.weight.uniform_(0.5, 1.5)
    norm.bias.uniform_(-0.5, 0.5)
x = torch.randn(N, I, requires_grad=True)
targets = torch.tensor([0, 3, -100, 1, 3])
class_weights = torch.tensor([1.0, 2.0, 0.5, 1.5])
logits = norm(linear(x))
loss = torch.nn.functional.cross_entropy(logits, targets, weight=class_weights, ignore_index=-100)
loss.backward()
put("head", "input", x)
put("head", "targets", targets.double())
put("head", "class_weights", class_weights)
put("head", "logits", logits)
put("head", "loss", loss.reshape(1))
put("head", "grad.input", x.grad)
for prefix, module in (("linear", linear), ("norm", norm)):
    for name, p in module.named_parameters():
        put("head", f"param.{prefix}.{name}", p)
        put("head", f"grad.{prefix}.{name}", p.grad)

# BatchNorm1d in training mode: output, gradients, running statistics.
bn = torch.nn.BatchNorm1d(3)
x = torch.randn(7, 3, requires_grad=True)
y = bn(x)
r = torch.randn_like(y)
(y * r).sum().backward()
put("bn", "input", x)
put("bn", "output", y)
put("bn", "output_weights", r)
put("bn", "grad.input", x.grad)
put("bn", "grad.weight", bn.weight.grad)
put("bn", "grad.bias", bn.bias.grad)
put("bn", "running_mean", bn.running_mean)
put("bn", "running_var", bn.running_var)

# Optimizers: three steps on a fixed quadratic, from the same start.
start = torch.randn(4, 3)
target = torch.randn(4, 3)
for name, make in (("sgd", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
                   ("adam", lambda p: torch.optim.Adam([p], lr=0.05, weight_decay=0.01)),
                   ("adamw", lambda p: torch.optim.AdamW([p], lr=0.05, weight_decay=0.1))):
    p = start.clone().requires_grad_(True)
    opt = make(p)
    for _ in range(3):
        opt.zero_grad()
        ((p - target) ** 2 * torch.arange(1.0, 13.0).reshape(4, 3)).sum().backward()
        opt.step()
    put("optim", name, p)
put("optim", "start", start)
put("optim", "target", target)

save_file(out, sys.argv[1], metadata={"generator": f"torch {torch.__version__}"})
print(f"wrote {len(out)} tensors to {sys.argv[1]}")
