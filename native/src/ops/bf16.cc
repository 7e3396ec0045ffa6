// bfloat16 is a storage type. An op given bfloat16 arrays runs as it does in float32: its bfloat16
// inputs are widened with a recorded astype (so a gradient flows back to them, rounded to
// bfloat16), the op runs on float32, and each float32 result is rounded to bfloat16 once, again by
// a recorded astype. Widening is exact, so only the ops' own rounding and the final rounding differ
// from float32. Ops flagged kBF16Storage (views, astype, full/arange/eye) take bfloat16 directly,
// and so do those flagged kBF16Native (dot, FullyConnected: the bfloat16 GEMM) when every input is.
#include "bf16.h"

#include "ops.h"

namespace ndgrad {
namespace ops {

bool has_bf16(InputList inputs) {
  for (const NDArray& a : inputs)
    if (a.dtype == DType::BFloat16) return true;
  return false;
}

namespace {
// The result dtypes the op's own rule gives for these inputs (argmax's float32 indices stay
// float32), or false when the rule refuses them (bfloat16 mixed with float32, as BatchNorm's float32
// parameters): then every float32 result is bfloat16.
bool natural_dtypes(const OpDef& op, InputList inputs, const Options& options, DTypeList* out) {
  if (op.num_inputs >= 0 && static_cast<size_t>(op.num_inputs) != inputs.size()) return false;
  OpCall probe;
  probe.op = &op;
  probe.inputs = inputs;
  probe.options = options.type() || !op.options ? &options : &op.options->defaults();
  try {
    op.infer(probe);
  } catch (const Error&) {
    return false;
  }
  *out = probe.out_dtypes;
  return true;
}
}  // namespace

bool all_bf16(InputList inputs) {
  for (const NDArray& a : inputs)
    if (a.dtype != DType::BFloat16) return false;
  return true;
}

ArrayList invoke_in_float32(const OpDef& op, InputList inputs, const Options& options, const NDArray* out) {
  DTypeList natural;
  bool known = natural_dtypes(op, inputs, options, &natural);
  auto is_bf16 = [&](size_t i) { return !known || (i < natural.size() && natural[i] == DType::BFloat16); };
  if (out && known && natural.size() == 1 && out->dtype != natural[0])
    fail(code::DTYPE_MISMATCH, op.name, ": out array has dtype ", dtype_name(out->dtype), ", the result has dtype ",
         dtype_name(natural[0]));
  ArrayList wide;
  SmallVec<uint64_t, 4> versions;
  for (const NDArray& a : inputs) {
    wide.push_back(a.dtype == DType::BFloat16 ? astype(a, DType::Float32) : a);  // with its autograd entry
    versions.push_back(wide.back().version());
  }
  bool round_out = out && is_bf16(0);
  ArrayList r = invoke(op, InputList(wide), options, round_out ? nullptr : out);
  // An input the op wrote (an optimizer's weights, BatchNorm's running statistics) gets its update.
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].dtype == DType::BFloat16 && wide[i].version() != versions[i]) astype(wide[i], DType::BFloat16, &inputs[i]);
  if (out) {
    if (r.size() != 1) fail(code::BAD_ARGUMENT, op.name, ": 'out' needs an op with one output");
    if (round_out) r[0] = astype(r[0], DType::BFloat16, out);
    return r;
  }
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i].dtype == DType::Float32 && is_bf16(i)) r[i] = astype(r[i], DType::BFloat16);
  return r;
}

void check_bf16_results(const OpCall& c) {
  for (DType t : c.out_dtypes)
    if (t == DType::BFloat16)
      fail(code::DTYPE_MISMATCH, c.name(), ": cannot make bfloat16 results (make float32 and convert with astype)");
}

}  // namespace ops
}  // namespace ndgrad
