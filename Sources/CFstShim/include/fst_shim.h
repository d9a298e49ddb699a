// A small C interface to OpenFst (Debian's libfst-dev 1.7.9) for speechlab's decoding graphs:
// StdVectorFst (tropical weights, costs = −log probabilities) built arc by arc, the library's
// own composition, determinization, minimization, epsilon removal and sorting, and its binary
// file format (so `fstinfo` and `fstprint` read what speechlab writes).
//
// Functions that can fail return NULL or a negative number and write the reason (OpenFst's
// own error message when it gave one) into `error` (`error_size` bytes, NUL-terminated).
#ifndef SPEECHLAB_FST_SHIM_H
#define SPEECHLAB_FST_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An OpenFst `StdVectorFst`.
typedef struct sl_fst sl_fst;

sl_fst *sl_fst_new(void);
sl_fst *sl_fst_copy(const sl_fst *fst);
void sl_fst_free(sl_fst *fst);

int32_t sl_fst_add_state(sl_fst *fst);
void sl_fst_set_start(sl_fst *fst, int32_t state);
/// `cost` is the final weight; +infinity makes the state non-final.
void sl_fst_set_final(sl_fst *fst, int32_t state, float cost);
void sl_fst_add_arc(sl_fst *fst, int32_t state, int32_t input, int32_t output, float cost, int32_t next);

/// −1 when the FST has no start state.
int32_t sl_fst_start(const sl_fst *fst);
int32_t sl_fst_state_count(const sl_fst *fst);
int64_t sl_fst_arc_count(const sl_fst *fst);
int32_t sl_fst_state_arc_count(const sl_fst *fst, int32_t state);
/// +infinity when `state` is not final.
float sl_fst_final(const sl_fst *fst, int32_t state);
/// Copies the arcs of `state` into the four arrays (each `sl_fst_state_arc_count` long).
void sl_fst_arcs(const sl_fst *fst, int32_t state, int32_t *inputs, int32_t *outputs, float *costs, int32_t *nexts);

/// Composition a ∘ b (the library's default filter); sorts a's output or b's input labels first
/// when neither is sorted.
sl_fst *sl_fst_compose(const sl_fst *a, const sl_fst *b, char *error, int32_t error_size);
/// Determinization (functional transducers and acceptors; `delta` quantizes weights).
sl_fst *sl_fst_determinize(const sl_fst *fst, float delta, char *error, int32_t error_size);
/// Minimization in place (labels and weights encoded together for transducers).
int32_t sl_fst_minimize(sl_fst *fst, float delta, char *error, int32_t error_size);
/// Removes arcs with both labels epsilon, in place.
int32_t sl_fst_remove_epsilons(sl_fst *fst, char *error, int32_t error_size);
/// Sorts every state's arcs by input (by_output = 0) or output label.
void sl_fst_sort_arcs(sl_fst *fst, int32_t by_output);
/// Replaces input labels `from[k]` by `to[k]` (e.g. disambiguation symbols by epsilon).
void sl_fst_relabel_inputs(sl_fst *fst, const int32_t *from, const int32_t *to, int32_t count);
/// Keeps the input labels only (an acceptor), in place.
void sl_fst_project_inputs(sl_fst *fst);
/// Keeps only the states on a path from the start to a final state.
void sl_fst_connect(sl_fst *fst);
/// Pushes weights toward the start state (tropical semiring), keeping the paths' totals.
int32_t sl_fst_push_weights(sl_fst *fst, char *error, int32_t error_size);

/// OpenFst's binary format ("vector" type, tropical arcs): the bytes, in a buffer the caller
/// frees with free(), their count in `size`.
char *sl_fst_serialize(const sl_fst *fst, int64_t *size, char *error, int32_t error_size);
sl_fst *sl_fst_read(const char *path, char *error, int32_t error_size);

/// Whether the FST is, as OpenFst's property bits compute them: input-deterministic, has no
/// input epsilons, is an acceptor (1 = yes, 0 = no).
int32_t sl_fst_is_input_deterministic(const sl_fst *fst);
int32_t sl_fst_has_input_epsilons(const sl_fst *fst);

#ifdef __cplusplus
}
#endif

#endif
