#ifndef SPEECHLAB_VECTOR_KERNELS_H
#define SPEECHLAB_VECTOR_KERNELS_H

/// Loops over float arrays that Swift (built for baseline x86-64, with no `restrict`) leaves
/// scalar. Each is compiled twice, for AVX2 and for the baseline, and picks one at run time;
/// both compute the same IEEE operations in the same order (no contraction into FMAs), so the
/// result does not depend on the CPU.

/// One Adam step over `count` parameters, in place on `theta`, `m` and `v`:
///     θ ← θ·decay;  g ← grad + l2·θ;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g·g;
///     θ ← θ − stepSize·m / (√(v / correction2) + ε)
void speechlab_adam_step_f32(long count, float *theta, const float *grad, float *m, float *v,
                             float decay, float l2, float beta1, float beta2, float correction2,
                             float stepSize, float epsilon);

/// One LSTM forward step of one sequence (hidden size `h`), after the gate pre-activations
/// x W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh are in `gates` [i, f, g, o] (4h): activates them in
/// place (σ, σ, tanh, σ), then c_t = f ⊙ c_{t-1} + i ⊙ g into `cNext`, tanh(c_t) into `tanhC`
/// and h_t = o ⊙ tanh(c_t) into `hNext` and `output`. σ and tanh are TensorCore's (Cephes expf),
/// bit for bit.
void speechlab_lstm_forward_f32(long h, float *gates, const float *cPrev, float *cNext, float *tanhC,
                                float *hNext, float *output);

/// One GRU forward step of one sequence (hidden size `h`): `gates` holds the input parts
/// x W_iᵀ + b_i of r, z, n (3h) and `hiddenGates` the hidden parts h_{t-1} W_hᵀ (3h, before
/// `biasHH`). Writes σ(r), σ(z) and n = tanh(x W_inᵀ + b_in + r ⊙ (h_{t-1} W_hnᵀ + b_hn)) into
/// `gates`, h_{t-1} W_hnᵀ + b_hn into `hiddenN` (for the backward step) and
/// h_t = (1 − z) ⊙ n + z ⊙ h_{t-1} into `hNext` and `output`.
void speechlab_gru_forward_f32(long h, float *gates, const float *hiddenGates, const float *biasHH,
                               const float *hPrev, float *hiddenN, float *hNext, float *output);

/// One LSTM backward step of one sequence (hidden size `h`): from the activated gates
/// `gates` [i, f, g, o] (4h), tanh(c_t), c_{t-1}, the output's gradient and the carried ∂L/∂h
/// and ∂L/∂c, writes the gate pre-activation gradients (4h) and carries ∂L/∂c_{t-1} in `dc`.
void speechlab_lstm_backward_f32(long h, const float *gates, const float *tanhC, const float *cPrev,
                                 const float *dOut, const float *dh, float *dc, float *dGates);

/// One GRU backward step of one sequence (hidden size `h`): from r, z, n (`gates`, 3h), the
/// saved h_{t-1} W_hnᵀ + b_hn, h_{t-1}, the output's gradient and the carried ∂L/∂h, writes the
/// input-part and hidden-part pre-activation gradients (3h each) and the direct path z ⊙ ∂L/∂h.
void speechlab_gru_backward_f32(long h, const float *gates, const float *hiddenN, const float *hPrev,
                                const float *dOut, const float *dh, float *dGates, float *dHiddenGates,
                                float *direct);

/// Σ x[i]² over `count` floats, in eight interleaved partial sums (element i in sum i mod 8,
/// the sums then added pairwise): the same result for either target.
float speechlab_sum_squares_f32(long count, const float *x);

/// Whether the AVX2 versions run (`speechlab info` says which).
int speechlab_vector_kernels_use_avx2(void);

#endif
