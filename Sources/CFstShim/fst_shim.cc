#include "fst_shim.h"

#include <fst/fstlib.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

using fst::StdArc;
using fst::StdVectorFst;
using Weight = StdArc::Weight;

struct sl_fst {
  StdVectorFst fst;
};

namespace {

// OpenFst's errors abort by default (FLAGS_fst_error_fatal); speechlab reports them instead.
struct NonFatalErrors {
  NonFatalErrors() { FLAGS_fst_error_fatal = false; }
};
const NonFatalErrors non_fatal_errors;

void set_error(char *error, int32_t size, const std::string &message) {
  if (error == nullptr || size <= 0) return;
  std::strncpy(error, message.c_str(), static_cast<size_t>(size) - 1);
  error[size - 1] = '\0';
}

// Runs an operation, turning C++ exceptions and OpenFst's error property into a message.
template <typename F>
bool guarded(const char *what, char *error, int32_t size, const StdVectorFst *result, F &&operation) {
  try {
    operation();
  } catch (const std::exception &e) {
    set_error(error, size, std::string(what) + ": " + e.what());
    return false;
  }
  if (result != nullptr && result->Properties(fst::kError, false)) {
    set_error(error, size, std::string(what) + " failed (OpenFst reported an error on standard error)");
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

sl_fst *sl_fst_new(void) { return new sl_fst(); }
sl_fst *sl_fst_copy(const sl_fst *f) { return new sl_fst{f->fst}; }
void sl_fst_free(sl_fst *f) { delete f; }

int32_t sl_fst_add_state(sl_fst *f) { return f->fst.AddState(); }
void sl_fst_set_start(sl_fst *f, int32_t s) { f->fst.SetStart(s); }
void sl_fst_set_final(sl_fst *f, int32_t s, float cost) { f->fst.SetFinal(s, Weight(cost)); }
void sl_fst_add_arc(sl_fst *f, int32_t s, int32_t input, int32_t output, float cost, int32_t next) {
  f->fst.AddArc(s, StdArc(input, output, Weight(cost), next));
}

int32_t sl_fst_start(const sl_fst *f) { return f->fst.Start() == fst::kNoStateId ? -1 : f->fst.Start(); }
int32_t sl_fst_state_count(const sl_fst *f) { return f->fst.NumStates(); }
int64_t sl_fst_arc_count(const sl_fst *f) {
  int64_t total = 0;
  for (fst::StateIterator<StdVectorFst> s(f->fst); !s.Done(); s.Next()) total += f->fst.NumArcs(s.Value());
  return total;
}
int32_t sl_fst_state_arc_count(const sl_fst *f, int32_t s) { return static_cast<int32_t>(f->fst.NumArcs(s)); }
float sl_fst_final(const sl_fst *f, int32_t s) {
  const Weight w = f->fst.Final(s);
  return w == Weight::Zero() ? std::numeric_limits<float>::infinity() : w.Value();
}
void sl_fst_arcs(const sl_fst *f, int32_t s, int32_t *inputs, int32_t *outputs, float *costs, int32_t *nexts) {
  size_t k = 0;
  for (fst::ArcIterator<StdVectorFst> a(f->fst, s); !a.Done(); a.Next(), ++k) {
    const StdArc &arc = a.Value();
    inputs[k] = arc.ilabel;
    outputs[k] = arc.olabel;
    costs[k] = arc.weight.Value();
    nexts[k] = arc.nextstate;
  }
}

sl_fst *sl_fst_compose(const sl_fst *a, const sl_fst *b, char *error, int32_t size) {
  auto *out = new sl_fst();
  StdVectorFst left = a->fst, right = b->fst;
  const bool ok = guarded("composition", error, size, &out->fst, [&] {
    if (!left.Properties(fst::kOLabelSorted, true) && !right.Properties(fst::kILabelSorted, true)) {
      fst::ArcSort(&right, fst::StdILabelCompare());
    }
    fst::Compose(left, right, &out->fst);
  });
  if (!ok) { delete out; return nullptr; }
  return out;
}

sl_fst *sl_fst_determinize(const sl_fst *f, float delta, char *error, int32_t size) {
  auto *out = new sl_fst();
  const bool ok = guarded("determinization", error, size, &out->fst, [&] {
    fst::DeterminizeOptions<StdArc> options;
    options.delta = delta;
    fst::Determinize(f->fst, &out->fst, options);
  });
  if (!ok) { delete out; return nullptr; }
  return out;
}

int32_t sl_fst_minimize(sl_fst *f, float delta, char *error, int32_t size) {
  return guarded("minimization", error, size, &f->fst, [&] {
    if (f->fst.Properties(fst::kAcceptor, true)) {
      fst::Minimize(&f->fst, static_cast<StdVectorFst *>(nullptr), delta, true);
    } else {
      // Labels and weights as one label, so that minimization keeps the transducer's pairs.
      fst::EncodeMapper<StdArc> encoder(fst::kEncodeLabels | fst::kEncodeWeights, fst::ENCODE);
      fst::Encode(&f->fst, &encoder);
      fst::Minimize(&f->fst, static_cast<StdVectorFst *>(nullptr), delta, true);
      fst::Decode(&f->fst, encoder);
    }
  }) ? 0 : -1;
}

int32_t sl_fst_remove_epsilons(sl_fst *f, char *error, int32_t size) {
  return guarded("epsilon removal", error, size, &f->fst, [&] { fst::RmEpsilon(&f->fst); }) ? 0 : -1;
}

void sl_fst_sort_arcs(sl_fst *f, int32_t by_output) {
  if (by_output) {
    fst::ArcSort(&f->fst, fst::StdOLabelCompare());
  } else {
    fst::ArcSort(&f->fst, fst::StdILabelCompare());
  }
}

void sl_fst_relabel_inputs(sl_fst *f, const int32_t *from, const int32_t *to, int32_t count) {
  std::vector<std::pair<StdArc::Label, StdArc::Label>> pairs;
  for (int32_t k = 0; k < count; ++k) pairs.emplace_back(from[k], to[k]);
  fst::Relabel(&f->fst, pairs, std::vector<std::pair<StdArc::Label, StdArc::Label>>());
}

void sl_fst_connect(sl_fst *f) { fst::Connect(&f->fst); }

void sl_fst_project_inputs(sl_fst *f) { fst::Project(&f->fst, fst::ProjectType::INPUT); }

int32_t sl_fst_push_weights(sl_fst *f, char *error, int32_t size) {
  return guarded("weight pushing", error, size, &f->fst, [&] {
    fst::Push(&f->fst, fst::REWEIGHT_TO_INITIAL);
  }) ? 0 : -1;
}

char *sl_fst_serialize(const sl_fst *f, int64_t *size, char *error, int32_t error_size) {
  std::ostringstream stream;
  bool written = false;
  const bool ok = guarded("writing", error, error_size, nullptr, [&] {
    written = f->fst.Write(stream, fst::FstWriteOptions("HCLG.fst"));
  });
  if (!ok) return nullptr;
  if (!written || !stream) {
    set_error(error, error_size, "OpenFst could not write the graph");
    return nullptr;
  }
  const std::string bytes = stream.str();
  char *out = static_cast<char *>(std::malloc(bytes.size() > 0 ? bytes.size() : 1));
  if (out == nullptr) {
    set_error(error, error_size, "out of memory for the graph's bytes");
    return nullptr;
  }
  std::memcpy(out, bytes.data(), bytes.size());
  *size = static_cast<int64_t>(bytes.size());
  return out;
}

sl_fst *sl_fst_read(const char *path, char *error, int32_t size) {
  StdVectorFst *read = nullptr;
  const bool ok = guarded("reading", error, size, nullptr, [&] { read = StdVectorFst::Read(std::string(path)); });
  if (!ok) return nullptr;
  if (read == nullptr) {
    set_error(error, size, std::string(path) + ": not an OpenFst graph with standard (tropical) arcs");
    return nullptr;
  }
  auto *out = new sl_fst{*read};
  delete read;
  return out;
}

int32_t sl_fst_is_input_deterministic(const sl_fst *f) { return f->fst.Properties(fst::kIDeterministic, true) ? 1 : 0; }
int32_t sl_fst_has_input_epsilons(const sl_fst *f) { return f->fst.Properties(fst::kIEpsilons, true) ? 1 : 0; }

}  // extern "C"
