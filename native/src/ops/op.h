// The one op mechanism. An op is an OpDef: a name, its options struct (options.h), a shape/dtype
// rule (`infer`, which validates and writes nothing), a forward (calls kernels) and a backward
// (written with ops, so it can be recorded for higher-order gradients). `invoke` runs every op the
// same way: infer, check the `out` target, allocate, forward, and hand the call to the tape when
// recording. A call borrows its inputs and options; a tiny op allocates nothing but its result's
// storage (test/native/opcall_alloc_test.cc).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../core/ndarray.h"
#include "../core/small_vec.h"
#include "options.h"

namespace ndgrad {
namespace ops {

struct OpDef;

// Per-op lists: inline up to a few elements, so a tiny op does not call malloc for them.
using ArrayList = SmallVec<NDArray, 4>;
using ShapeList = SmallVec<Shape, 2>;
using DTypeList = SmallVec<DType, 2>;

// An op's array inputs, borrowed from the caller for the call: either contiguous arrays (a list
// the caller holds, or a braced list `{a, b}` that lives until the call returns) or pointers to
// arrays held elsewhere (the binding's handle table), so a call copies no NDArray.
class InputList {
 public:
  InputList() = default;
  InputList(const NDArray* arrays, size_t n) : arrays_(arrays), n_(n) {}
  InputList(const NDArray* const* ptrs, size_t n) : ptrs_(ptrs), n_(n) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"  // the list outlives the call it is passed to
#endif
  InputList(std::initializer_list<NDArray> il) : arrays_(il.begin()), n_(il.size()) {}
  InputList(std::initializer_list<const NDArray*> il) : ptrs_(il.begin()), n_(il.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  template <size_t N>
  InputList(const SmallVec<NDArray, N>& v) : arrays_(v.data()), n_(v.size()) {}  // NOLINT
  InputList(const std::vector<NDArray>& v) : arrays_(v.data()), n_(v.size()) {}  // NOLINT
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  const NDArray& operator[](size_t i) const { return ptrs_ ? *ptrs_[i] : arrays_[i]; }
  struct iterator {
    const InputList* l;
    size_t i;
    const NDArray& operator*() const { return (*l)[i]; }
    iterator& operator++() {
      ++i;
      return *this;
    }
    bool operator!=(const iterator& o) const { return i != o.i; }
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, n_}; }

 private:
  const NDArray* arrays_ = nullptr;
  const NDArray* const* ptrs_ = nullptr;
  size_t n_ = 0;
};

// One invocation: what infer sees and fills, and what forward computes.
struct OpCall {
  const OpDef* op = nullptr;
  InputList inputs;
  const Options* options = nullptr;  // the op's typed options, parsed once
  template <class P>
  const P& opts() const { return options->as<P>(); }
  bool training = false;           // autograd::is_training() at the call
  ShapeList out_shapes;   // filled by infer
  DTypeList out_dtypes;   // filled by infer
  ArrayList outputs;    // allocated by invoke (or the caller's `out`)
  // Extra arrays forward fills for backward (masks, statistics): infer gives their shapes, invoke
  // allocates them at the call (the graph node holds them before forward has run).
  ShapeList state_shapes;
  DTypeList state_dtypes;
  ArrayList state;
  // Set by infer for view ops: outputs[i] = view of inputs[view_of] (no allocation, no forward).
  // Set by infer for the inputs forward writes: every input of an in-place op (kInPlace) that it
  // updates, or a running statistic (BatchNorm). invoke bumps their versions at the call.
  SmallVec<uint32_t, 8> written;
  int view_of = -1;
  int64_t view_offset = 0;  // in elements, for views into the middle of the input (x.at(i))
  const char* name() const;
};

// What a backward rule sees. Arrays not saved by the op are undefined (`!defined()`).
struct GradCall {
  const OpDef* op = nullptr;
  const Options* options = nullptr;  // the forward call's, kept with the graph node
  template <class P>
  const P& opts() const { return options->as<P>(); }
  ArrayList inputs;      // saved inputs (with history, for higher order)
  ArrayList outputs;     // saved outputs (with history)
  ArrayList state;
  ShapeList in_shapes;     // always available
  DTypeList in_dtypes;
  ShapeList out_shapes;
  DTypeList out_dtypes;
  ArrayList out_grads;   // one per output; undefined = zero
  SmallVec<bool, 4> need;           // which inputs need a gradient
  ArrayList in_grads;    // to fill, one per input (undefined = zero)
  bool training = true;
  const char* name() const;
  // The out-grad for output i, materialised as zeros when undefined.
  NDArray out_grad(size_t i) const;
};

enum OpFlags : unsigned {
  kNoGrad = 1u << 0,        // gradient is zero (comparisons, argmax, floor...): recorded, gives nothing
  kAliasSafe = 1u << 1,     // forward may write an output that is exactly an input (elementwise)
  kRandom = 1u << 3,
  // forward allocates scratch space (GEMM packing, im2col) after it has begun writing its output:
  // an `out` target is then computed aside, so a failed allocation leaves it unchanged
  kScratch = 1u << 4,
  // forward updates some of its inputs in place (infer lists them in OpCall::written) and has no
  // outputs (the optimizers' multi-tensor updates): never recorded; a written array may not be part
  // of a recorded graph nor share storage with another input; each written array's version is bumped
  kInPlace = 1u << 5,
  // handles bfloat16 arrays as storage (views, astype, creation): not computed in float32 (bf16.cc)
  kBF16Storage = 1u << 6,
  // takes bfloat16 arrays directly when every array input is bfloat16 (products on the bfloat16
  // GEMM); mixed with other dtypes, computed in float32 as any op (bf16.cc)
  kBF16Native = 1u << 7,
};

// An op's definition, written with named setters from OpDef::named (C++17 has no designated
// initialisers): OpDef::named("concat").alias("Concat").arity(-1).rules(infer, forward, backward)
//   .with_options<ConcatOptions>().
struct OpDef {
  const char* name = "";
  const char* aliases = "";       // space-separated other names ("neg"), or ""
  const char* kind = "other";     // for the TS face: "unary" | "binary" | "reduce" | "other"
  int num_inputs = 1;             // -1: variadic
  void (*infer)(OpCall&) = nullptr;
  void (*forward)(OpCall&) = nullptr;
  void (*backward)(GradCall&) = nullptr;  // null: not differentiable (NOT_DIFFERENTIABLE if a gradient reaches it)
  unsigned save_inputs = 0;       // bitmask of inputs backward needs (~0u: all)
  unsigned save_outputs = 0;      // bitmask of outputs backward needs
  unsigned flags = 0;
  int param = 0;  // family-specific: which row of the family's table defines this op
  // The op's options struct (null: the op takes none); invoke's callers pass one of this type.
  const OptionType* options = nullptr;
  // Optional: the same gradients as `backward` through fused kernels that are not differentiable;
  // the tape uses it for a backward pass that is not recorded (createGraph off).
  void (*backward_fused)(GradCall&) = nullptr;
  // Optional, for elementwise ops (invoke's fast path): `flat_ok` says whether a call on `n` arrays of
  // one shape and dtype `t`, without options (or with only a number operand, `scalar`: invoke_scalar),
  // gives one result of that same shape and dtype; `flat` then computes it over the flat buffers,
  // exactly as forward does for such a call (both make the same kernel call), so invoke skips
  // infer, the call record and forward's generic checks.
  bool (*flat_ok)(const OpDef& op, DType t, size_t n, bool scalar) = nullptr;
  void (*flat)(const OpDef& op, DType t, const void* const* in, const double* scalar, bool reverse, void* out,
               int64_t size) = nullptr;

  static constexpr OpDef named(const char* n) {
    OpDef d;
    d.name = n;
    return d;
  }
  constexpr OpDef alias(const char* a) const { return with(&OpDef::aliases, a); }
  constexpr OpDef of_kind(const char* k) const { return with(&OpDef::kind, k); }
  constexpr OpDef arity(int n) const { return with(&OpDef::num_inputs, n); }
  constexpr OpDef rules(void (*i)(OpCall&), void (*f)(OpCall&), void (*b)(GradCall&) = nullptr) const {
    OpDef d = *this;
    d.infer = i;
    d.forward = f;
    d.backward = b;
    return d;
  }
  constexpr OpDef saves(unsigned inputs, unsigned outputs = 0) const {
    OpDef d = *this;
    d.save_inputs = inputs;
    d.save_outputs = outputs;
    return d;
  }
  constexpr OpDef with_flags(unsigned f) const { return with(&OpDef::flags, f); }
  constexpr OpDef fused_backward(void (*b)(GradCall&)) const { return with(&OpDef::backward_fused, b); }
  constexpr OpDef row(int p) const { return with(&OpDef::param, p); }
  constexpr OpDef flat_kernel(bool (*ok)(const OpDef&, DType, size_t, bool),
                              void (*run)(const OpDef&, DType, const void* const*, const double*, bool, void*,
                                          int64_t)) const {
    OpDef d = *this;
    d.flat_ok = ok;
    d.flat = run;
    return d;
  }
  template <class P>
  constexpr OpDef with_options() const {
    return with(&OpDef::options, &kOptionType<P>);
  }

 private:
  template <class T, class V>
  constexpr OpDef with(T OpDef::*field, V v) const {
    OpDef d = *this;
    d.*field = v;
    return d;
  }
};

// The typed options of `op` from the JS values: BAD_ARGUMENT for a key the op does not declare
// (naming the closest valid key) or a value of the wrong type.
Options parse_options(const OpDef& op, const Attrs& raw);
// The declared fields of `op`'s options, in declaration order (the op table's `attrs`).
std::vector<OptionField> option_fields(const OpDef& op);

// Registration from each family's .cc (static registrars; the registry is built before main code runs).
int register_op(const OpDef& def);
const OpDef* find_op(const std::string& name);  // null if unknown
const std::vector<const OpDef*>& all_ops();

struct OpRegistrar {
  explicit OpRegistrar(const OpDef& d) { register_op(d); }
};

// Runs an op. `out` (optional) receives the single output in place: its shape and dtype must
// match, and every check runs before anything is written. `options` must be of the op's declared
// type; an empty Options stands for the op's defaults.
ArrayList invoke(const OpDef& op, InputList inputs, const Options& options = Options(), const NDArray* out = nullptr);
NDArray invoke1(const OpDef& op, InputList inputs, const Options& options = Options(), const NDArray* out = nullptr);
NDArray invoke1(const char* name, InputList inputs, const Options& options = Options());
// A binary op with a number operand: `x op v`, or `v op x` when `reverse` (the op's options
// {scalar, reverse}, which the generic path parses as any option).
NDArray invoke_scalar(const OpDef& op, const NDArray& x, double v, bool reverse);
const OpDef& op_ref(const char* name);  // aborts registration bugs early: throws if unknown

// Shared validation helpers for infer functions.
void expect_float(const OpCall& c, size_t i);
void expect_same_dtype(const OpCall& c);
std::string shapes_of(const OpCall& c);
std::string shapes_of(InputList inputs);

}  // namespace ops
}  // namespace ndgrad
