// The one op mechanism. An op is an OpDef: a name, a shape/dtype rule (`infer`, which validates
// and writes nothing), a forward (calls kernels) and a backward (written with ops, so it can be
// recorded for higher-order gradients). `invoke` runs every op the same way: infer, check the
// `out` target, allocate, forward, and hand the call to the tape when recording.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "../core/error.h"
#include "../core/ndarray.h"
#include "../core/small_vec.h"

namespace ndgrad {
namespace ops {

// An attribute value from JS: number, bool, string, list of numbers, or null.
struct AttrValue {
  enum Kind { None, Number, Bool, String, Numbers } kind = None;
  double num = 0;
  std::string str;
  std::vector<double> nums;
};

class Attrs {
 public:
  bool has(const char* key) const;
  const AttrValue* get(const char* key) const;
  double number(const char* op, const char* key, double def) const;
  // An integer-valued number; throws BAD_ARGUMENT naming op and key otherwise.
  int64_t integer(const char* op, const char* key, int64_t def) const;
  bool flag(const char* op, const char* key, bool def) const;
  std::string string(const char* op, const char* key, const std::string& def) const;
  // A number or a list of integers; `present` tells whether the key was given (and not null).
  std::vector<int64_t> ints(const char* op, const char* key, bool* present = nullptr) const;
  // A per-spatial-axis option (stride, pad, dilate): `nd` integers >= `min`; one value stands for
  // all axes; absent gives `def` on every axis.
  std::vector<int64_t> tuple(const char* op, const char* key, int nd, int64_t def, int64_t min) const;
  void set(const std::string& key, AttrValue v);
  void set_number(const std::string& key, double v);
  void set_ints(const std::string& key, const std::vector<int64_t>& v);
  void set_flag(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  using Items = SmallVec<std::pair<std::string, AttrValue>, 2>;
  const Items& items() const { return items_; }

 private:
  Items items_;
};

struct OpDef;

// Per-op lists: inline up to a few elements, so a tiny op does not call malloc for them.
using ArrayList = SmallVec<NDArray, 4>;
using ShapeList = SmallVec<Shape, 2>;
using DTypeList = SmallVec<DType, 2>;

// One invocation: what infer sees and fills, and what forward computes.
struct OpCall {
  const OpDef* op = nullptr;
  ArrayList inputs;
  const Attrs* attrs = nullptr;
  bool training = false;           // autograd::is_training() at the call
  ShapeList out_shapes;   // filled by infer
  DTypeList out_dtypes;   // filled by infer
  ArrayList outputs;    // allocated by invoke (or the caller's `out`)
  ArrayList state;      // extra arrays forward keeps for backward (masks, statistics)
  // Set by infer for view ops: outputs[i] = view of inputs[view_of] (no allocation, no forward).
  int view_of = -1;
  int64_t view_offset = 0;  // in elements, for views into the middle of the input (x.at(i))
  const char* name() const;
};

// What a backward rule sees. Arrays not saved by the op are undefined (`!defined()`).
struct GradCall {
  const OpDef* op = nullptr;
  const Attrs* attrs = nullptr;
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
};

struct OpDef {
  const char* name;
  const char* aliases;  // space-separated other names ("neg"), or ""
  const char* kind;     // for the TS face: "unary" | "binary" | "reduce" | "other"
  int num_inputs;       // -1: variadic
  void (*infer)(OpCall&);
  void (*forward)(OpCall&);
  void (*backward)(GradCall&);  // null: not differentiable (NOT_DIFFERENTIABLE if a gradient reaches it)
  unsigned save_inputs;         // bitmask of inputs backward needs (~0u: all)
  unsigned save_outputs;        // bitmask of outputs backward needs
  unsigned flags;
  int param;  // family-specific: which row of the family's table defines this op
  // The op's attributes (its schema), space-separated `name:type=default` (no `=`: no default, or
  // required): types num, int, bool, str, ints (an integer or a list of them). A leading `*` marks
  // an argument the TS wrapper fills from a positional parameter or ndgrad sets internally; the
  // others are the user's options (camelCase in TS: pool_type -> poolType). invoke rejects any
  // other key (BAD_ARGUMENT, with the closest valid key), and the TS face reads the option keys
  // from the op table.
  const char* attrs = "";
};

// One parsed entry of OpDef::attrs.
struct AttrSpec {
  std::string name, type, def;
  bool option;  // a user option (not a `*` argument)
};
std::vector<AttrSpec> parse_attrs(const char* spec);
// "op: unknown option 'key' (did you mean 'x'?)", or the valid keys when none is close (edit
// distance over lowercase names without '_', so keepDims ~ keepdims and pool_type ~ poolType).
std::string unknown_option_message(const std::string& op, const std::string& key, const std::vector<std::string>& valid);
// BAD_ARGUMENT for an attribute key the op's schema does not declare.
void check_attrs(const OpDef& op, const Attrs& attrs);

// Registration from each family's .cc (static registrars; the registry is built before main code runs).
int register_op(const OpDef& def);
const OpDef* find_op(const std::string& name);  // null if unknown
const std::vector<const OpDef*>& all_ops();

struct OpRegistrar {
  explicit OpRegistrar(const OpDef& d) { register_op(d); }
};

// Runs an op. `out` (optional) receives the single output in place: its shape and dtype must
// match, and every check runs before anything is written.
ArrayList invoke(const OpDef& op, ArrayList inputs, const Attrs& attrs,
                            const NDArray* out = nullptr);
NDArray invoke1(const OpDef& op, ArrayList inputs, const Attrs& attrs, const NDArray* out = nullptr);
NDArray invoke1(const char* name, ArrayList inputs, const Attrs& attrs = Attrs());
const OpDef& op_ref(const char* name);  // aborts registration bugs early: throws if unknown

// Shared validation helpers for infer functions.
void expect_float(const OpCall& c, size_t i);
void expect_same_dtype(const OpCall& c);
std::string shapes_of(const OpCall& c);

}  // namespace ops
}  // namespace ndgrad
