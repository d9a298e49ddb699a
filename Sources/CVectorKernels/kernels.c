#include "CVectorKernels.h"

#include <stdint.h>
#include <string.h>

// e^x, branch-free: TensorCore's fastExpValue operation for operation (Cephes expf; inputs
// clamped as Swift's max and min clamp them), so that C and Swift give the same bits.
static inline __attribute__((always_inline)) float exp_cephes(float input) {
    float x = (-87.3f >= input) ? -87.3f : input;
    x = (88.3f < x) ? 88.3f : x;
    float shifted = x * 1.44269504f + 12582912.0f;
    float n = shifted - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.1219444e-4f;
    float y = 1.98756915e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1;
    uint32_t bits;
    memcpy(&bits, &shifted, sizeof bits);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return y * scale;
}

static inline __attribute__((always_inline)) float sigmoid_cephes(float x) { return 1 / (1 + exp_cephes(-x)); }
static inline __attribute__((always_inline)) float tanh_cephes(float x) { return 2 / (1 + exp_cephes(-2 * x)) - 1; }

// The loop bodies, written once and compiled for two targets.
#define LSTM_FORWARD_BODY                                                                          \
    for (long j = 0; j < 2 * h; j++) gates[j] = sigmoid_cephes(gates[j]);                         \
    for (long j = 2 * h; j < 3 * h; j++) gates[j] = tanh_cephes(gates[j]);                        \
    for (long j = 3 * h; j < 4 * h; j++) gates[j] = sigmoid_cephes(gates[j]);                     \
    for (long j = 0; j < h; j++) {                                                                 \
        float c = gates[h + j] * cPrev[j] + gates[j] * gates[2 * h + j];                           \
        float tc = tanh_cephes(c);                                                                 \
        float hj = gates[3 * h + j] * tc;                                                          \
        cNext[j] = c;                                                                              \
        tanhC[j] = tc;                                                                             \
        hNext[j] = hj;                                                                             \
        output[j] = hj;                                                                            \
    }

#define LSTM_FORWARD_ARGUMENTS                                                                     \
    long h, float *restrict gates, const float *restrict cPrev, float *restrict cNext,             \
        float *restrict tanhC, float *restrict hNext, float *restrict output

#define GRU_FORWARD_BODY                                                                           \
    for (long j = 0; j < 2 * h; j++) gates[j] = sigmoid_cephes(gates[j] + (hiddenGates[j] + biasHH[j])); \
    for (long j = 0; j < h; j++) {                                                                 \
        float hn = hiddenGates[2 * h + j] + biasHH[2 * h + j];                                     \
        float n = tanh_cephes(gates[2 * h + j] + gates[j] * hn);                                   \
        float z = gates[h + j];                                                                    \
        float hj = (1 - z) * n + z * hPrev[j];                                                     \
        hiddenN[j] = hn;                                                                           \
        gates[2 * h + j] = n;                                                                      \
        hNext[j] = hj;                                                                             \
        output[j] = hj;                                                                            \
    }

#define GRU_FORWARD_ARGUMENTS                                                                      \
    long h, float *restrict gates, const float *restrict hiddenGates, const float *restrict biasHH, \
        const float *restrict hPrev, float *restrict hiddenN, float *restrict hNext, float *restrict output

#define ADAM_BODY                                                                                  \
    const float keep1 = 1 - beta1, keep2 = 1 - beta2;                                              \
    for (long i = 0; i < count; i++) {                                                             \
        float t = theta[i] * decay;                                                                \
        float g = grad[i] + l2 * t;                                                                \
        float mi = beta1 * m[i] + keep1 * g;                                                       \
        float vi = beta2 * v[i] + keep2 * g * g;                                                   \
        m[i] = mi;                                                                                 \
        v[i] = vi;                                                                                 \
        theta[i] = t - stepSize * mi / (__builtin_sqrtf(vi / correction2) + epsilon);              \
    }

#define ADAM_ARGUMENTS                                                                             \
    long count, float *restrict theta, const float *restrict grad, float *restrict m,              \
        float *restrict v, float decay, float l2, float beta1, float beta2, float correction2,     \
        float stepSize, float epsilon

#define LSTM_BACKWARD_BODY                                                                         \
    for (long j = 0; j < h; j++) {                                                                 \
        float i = gates[j], f = gates[h + j], c = gates[2 * h + j], o = gates[3 * h + j];          \
        float tc = tanhC[j];                                                                       \
        float dht = dh[j] + dOut[j];                                                               \
        float dct = dc[j] + dht * o * (1 - tc * tc);                                               \
        dGates[j] = dct * c * i * (1 - i);                                                         \
        dGates[h + j] = dct * cPrev[j] * f * (1 - f);                                              \
        dGates[2 * h + j] = dct * i * (1 - c * c);                                                 \
        dGates[3 * h + j] = dht * tc * o * (1 - o);                                                \
        dc[j] = dct * f;                                                                           \
    }

#define LSTM_BACKWARD_ARGUMENTS                                                                    \
    long h, const float *restrict gates, const float *restrict tanhC, const float *restrict cPrev, \
        const float *restrict dOut, const float *restrict dh, float *restrict dc,                  \
        float *restrict dGates

#define GRU_BACKWARD_BODY                                                                          \
    for (long j = 0; j < h; j++) {                                                                 \
        float rg = gates[j], z = gates[h + j], n = gates[2 * h + j];                               \
        float dht = dh[j] + dOut[j];                                                               \
        float dnPre = dht * (1 - z) * (1 - n * n);                                                 \
        float drPre = dnPre * hiddenN[j] * rg * (1 - rg);                                          \
        float dzPre = dht * (hPrev[j] - n) * z * (1 - z);                                          \
        dGates[j] = drPre;                                                                         \
        dGates[h + j] = dzPre;                                                                     \
        dGates[2 * h + j] = dnPre;                                                                 \
        dHiddenGates[j] = drPre;                                                                   \
        dHiddenGates[h + j] = dzPre;                                                               \
        dHiddenGates[2 * h + j] = dnPre * rg;                                                      \
        direct[j] = dht * z;                                                                       \
    }

#define GRU_BACKWARD_ARGUMENTS                                                                     \
    long h, const float *restrict gates, const float *restrict hiddenN, const float *restrict hPrev, \
        const float *restrict dOut, const float *restrict dh, float *restrict dGates,              \
        float *restrict dHiddenGates, float *restrict direct

#define SUM_SQUARES_BODY                                                                           \
    float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                                      \
    long blocks = count / 8;                                                                       \
    for (long b = 0; b < blocks; b++) {                                                            \
        for (int k = 0; k < 8; k++) lane[k] += x[8 * b + k] * x[8 * b + k];                        \
    }                                                                                              \
    for (long i = 8 * blocks; i < count; i++) lane[i - 8 * blocks] += x[i] * x[i];                 \
    return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define HAVE_AVX2_CLONES 1
__attribute__((target("avx2"))) static void adam_avx2(ADAM_ARGUMENTS) { ADAM_BODY }
__attribute__((target("avx2"))) static void lstm_forward_avx2(LSTM_FORWARD_ARGUMENTS) { LSTM_FORWARD_BODY }
__attribute__((target("avx2"))) static void gru_forward_avx2(GRU_FORWARD_ARGUMENTS) { GRU_FORWARD_BODY }
__attribute__((target("avx2"))) static void lstm_backward_avx2(LSTM_BACKWARD_ARGUMENTS) { LSTM_BACKWARD_BODY }
__attribute__((target("avx2"))) static void gru_backward_avx2(GRU_BACKWARD_ARGUMENTS) { GRU_BACKWARD_BODY }
__attribute__((target("avx2"))) static float sum_squares_avx2(long count, const float *restrict x) { SUM_SQUARES_BODY }
#endif

static void adam_baseline(ADAM_ARGUMENTS) { ADAM_BODY }
static void lstm_forward_baseline(LSTM_FORWARD_ARGUMENTS) { LSTM_FORWARD_BODY }
static void gru_forward_baseline(GRU_FORWARD_ARGUMENTS) { GRU_FORWARD_BODY }
static void lstm_backward_baseline(LSTM_BACKWARD_ARGUMENTS) { LSTM_BACKWARD_BODY }
static void gru_backward_baseline(GRU_BACKWARD_ARGUMENTS) { GRU_BACKWARD_BODY }
static float sum_squares_baseline(long count, const float *restrict x) { SUM_SQUARES_BODY }

int speechlab_vector_kernels_use_avx2(void) {
#ifdef HAVE_AVX2_CLONES
    // Reads what the runtime's constructor found (no state of ours: safe from any thread).
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#else
    return 0;
#endif
}

void speechlab_adam_step_f32(long count, float *theta, const float *grad, float *m, float *v, float decay, float l2,
                             float beta1, float beta2, float correction2, float stepSize, float epsilon) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) {
        adam_avx2(count, theta, grad, m, v, decay, l2, beta1, beta2, correction2, stepSize, epsilon);
        return;
    }
#endif
    adam_baseline(count, theta, grad, m, v, decay, l2, beta1, beta2, correction2, stepSize, epsilon);
}

void speechlab_lstm_backward_f32(long h, const float *gates, const float *tanhC, const float *cPrev,
                                 const float *dOut, const float *dh, float *dc, float *dGates) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) {
        lstm_backward_avx2(h, gates, tanhC, cPrev, dOut, dh, dc, dGates);
        return;
    }
#endif
    lstm_backward_baseline(h, gates, tanhC, cPrev, dOut, dh, dc, dGates);
}

float speechlab_sum_squares_f32(long count, const float *x) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) return sum_squares_avx2(count, x);
#endif
    return sum_squares_baseline(count, x);
}

void speechlab_gru_backward_f32(long h, const float *gates, const float *hiddenN, const float *hPrev, const float *dOut,
                                const float *dh, float *dGates, float *dHiddenGates, float *direct) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) {
        gru_backward_avx2(h, gates, hiddenN, hPrev, dOut, dh, dGates, dHiddenGates, direct);
        return;
    }
#endif
    gru_backward_baseline(h, gates, hiddenN, hPrev, dOut, dh, dGates, dHiddenGates, direct);
}

void speechlab_lstm_forward_f32(long h, float *gates, const float *cPrev, float *cNext, float *tanhC, float *hNext, float *output) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) {
        lstm_forward_avx2(h, gates, cPrev, cNext, tanhC, hNext, output);
        return;
    }
#endif
    lstm_forward_baseline(h, gates, cPrev, cNext, tanhC, hNext, output);
}

void speechlab_gru_forward_f32(long h, float *gates, const float *hiddenGates, const float *biasHH, const float *hPrev,
                               float *hiddenN, float *hNext, float *output) {
#ifdef HAVE_AVX2_CLONES
    if (speechlab_vector_kernels_use_avx2()) {
        gru_forward_avx2(h, gates, hiddenGates, biasHH, hPrev, hiddenN, hNext, output);
        return;
    }
#endif
    gru_forward_baseline(h, gates, hiddenGates, biasHH, hPrev, hiddenN, hNext, output);
}
