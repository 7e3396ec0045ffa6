// Joining and cutting along an axis: concat, stack, split and the internal _split_sizes (split and
// concat are each other's gradient; stack's is a slice per input).
#include <cstring>
#include <string>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// ---- concat / stack ----

void check_same_dtypes(const OpCall& c) {
  if (c.inputs.empty()) fail(code::BAD_ARGUMENT, c.name(), ": needs at least one array");
  for (size_t i = 1; i < c.inputs.size(); ++i)
    if (c.inputs[i].dtype != c.inputs[0].dtype)
      fail(code::DTYPE_MISMATCH, c.name(), ": array ", i, " has dtype ", dtype_name(c.inputs[i].dtype),
           ", array 0 has ", dtype_name(c.inputs[0].dtype), " (shapes ", shapes_of(c), ")");
}

// out viewed as (outer, total, inner): input i fills its block of rows along the middle axis.
void concat_blocks(const InputList& xs, const std::vector<int64_t>& widths, int64_t outer, int64_t inner,
                   const NDArray& y) {
  size_t es = dtype_size(y.dtype);
  int64_t total = 0;
  for (int64_t w : widths) total += w;
  char* yb = static_cast<char*>(y.raw());
  int64_t off = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    int64_t chunk = widths[i] * inner * static_cast<int64_t>(es);
    const char* xb = static_cast<const char*>(xs[i].raw());
    if (chunk > 0)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(yb + (o * total + off) * inner * es, xb + o * chunk, chunk);
    off += widths[i];
  }
}

struct StackOptions {
  int64_t axis = 0;
  NDGRAD_FIELDS(v("axis", axis))
};

int stack_axis(const OpCall& c) {
  const Shape& s0 = c.inputs[0].shape;
  return normalize_axis(c.opts<StackOptions>().axis, s0.size() + 1, c.name(), s0);
}
void stack_infer(OpCall& c) {
  check_same_dtypes(c);
  int a = stack_axis(c);
  for (auto& x : c.inputs)
    if (x.shape != c.inputs[0].shape) fail(code::SHAPE_MISMATCH, c.name(), ": arrays must have one shape, got ", shapes_of(c));
  Shape o = c.inputs[0].shape;
  o.insert(a, static_cast<int64_t>(c.inputs.size()));
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}
void stack_forward(OpCall& c) {
  int a = stack_axis(c);
  const Shape& s = c.inputs[0].shape;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= s[i];
  for (size_t i = a; i < s.size(); ++i) inner *= s[i];
  concat_blocks(c.inputs, std::vector<int64_t>(c.inputs.size(), 1), outer, inner, c.outputs[0]);
}
void stack_backward(GradCall& g) {
  const Shape& s = g.in_shapes[0];
  int a = normalize_axis(g.opts<StackOptions>().axis, s.size() + 1, g.name(), s);
  NDArray dy = g.out_grad(0);
  for (size_t i = 0; i < g.in_shapes.size(); ++i)
    if (g.need[i]) g.in_grads[i] = reshape_grad(slice_range(dy, a, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1), s);
}

std::string sizes_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

// ---------------------------------------------------------------------------------------------
// split(x; num_outputs, axis = 1, squeeze_axis = false) and _split_sizes(x; sizes, axis) cut x
// along `axis`; concat(xs...; dim = 1) joins. Each is the other's gradient.

struct SplitOptions {
  int64_t num_outputs = 0;
  int64_t axis = 1;
  bool squeeze_axis = false;
  NDGRAD_FIELDS(v("num_outputs", num_outputs), v("axis", axis), v("squeeze_axis", squeeze_axis))
};
struct SplitSizesOptions {
  Ints sizes;
  int64_t axis = 1;
  NDGRAD_FIELDS(v("sizes", sizes, kArgument), v("axis", axis))
};
struct ConcatOptions {
  int64_t dim = 1;
  NDGRAD_FIELDS(v("dim", dim))
};

struct SplitSpec {
  int axis;
  std::vector<int64_t> sizes;
  bool squeeze;
};

// The sections of split (row 0) or _split_sizes (row 1), for a call or its gradient.
template <class C>
SplitSpec split_spec(const C& c, const Shape& s) {
  const char* op = c.name();
  bool by_sizes = c.op->param == 1;
  SplitSpec sp;
  if (s.empty()) fail(code::BAD_AXIS, op, ": cannot split a 0-d array");
  int64_t axis = by_sizes ? c.template opts<SplitSizesOptions>().axis : c.template opts<SplitOptions>().axis;
  sp.axis = normalize_axis(axis, s.size(), op, s);
  int64_t d = s[sp.axis];
  if (by_sizes) {
    sp.sizes = c.template opts<SplitSizesOptions>().sizes;
    sp.squeeze = false;
    int64_t tot = 0;
    for (int64_t v : sp.sizes) {
      if (v < 0) fail(code::BAD_ARGUMENT, op, ": negative section size in ", sizes_str(sp.sizes));
      tot += v;
    }
    if (tot != d)
      fail(code::SHAPE_MISMATCH, op, ": sections ", sizes_str(sp.sizes), " do not add up to axis ", sp.axis,
           " of shape ", shape_str(s));
    return sp;
  }
  const SplitOptions& o = c.template opts<SplitOptions>();
  int64_t n = o.num_outputs;
  if (n < 1)
    fail(code::BAD_ARGUMENT, op, ": numOutputs must be a positive integer (data ", shape_str(s), ")");
  if (d == 0 && n > (int64_t(1) << 16))  // d % n == 0 for any n: bound the number of (empty) outputs
    fail(code::BAD_ARGUMENT, op, ": numOutputs ", n, " is too large to split axis ", sp.axis, " of shape ", shape_str(s));
  if (d % n != 0)
    fail(code::SHAPE_MISMATCH, op, ": axis ", sp.axis, " of shape ", shape_str(s), " (size ", d,
         ") cannot be split evenly into ", n, " outputs");
  sp.squeeze = o.squeeze_axis;
  if (sp.squeeze && d / n != 1)
    fail(code::SHAPE_MISMATCH, op, ": squeezeAxis needs sections of size 1, but axis ", sp.axis, " of shape ",
         shape_str(s), " split into ", n, " gives size ", d / n);
  sp.sizes.assign(static_cast<size_t>(n), d / n);
  return sp;
}

void split_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  SplitSpec sp = split_spec(c, s);
  for (int64_t sz : sp.sizes) {
    Shape o = s;
    if (sp.squeeze) o.erase(sp.axis);
    else o[sp.axis] = sz;
    c.out_shapes.push_back(o);
    c.out_dtypes.push_back(c.inputs[0].dtype);
  }
}

// x seen as [outer, d, inner]: output i is x[:, start_i : start_i + size_i, :].
void split_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  SplitSpec sp = split_spec(c, x.shape);
  int64_t outer = 1, inner = 1, d = x.shape[sp.axis];
  for (int i = 0; i < sp.axis; ++i) outer *= x.shape[i];
  for (size_t i = sp.axis + 1; i < x.ndim(); ++i) inner *= x.shape[i];
  size_t es = dtype_size(x.dtype);
  const char* src = static_cast<const char*>(x.raw());
  int64_t start = 0;
  for (size_t k = 0; k < sp.sizes.size(); ++k) {
    int64_t sz = sp.sizes[k];
    char* dst = static_cast<char*>(c.outputs[k].raw());
    size_t row = static_cast<size_t>(sz * inner) * es;
    if (row)
      for (int64_t o = 0; o < outer; ++o)
        std::memcpy(dst + o * row, src + static_cast<size_t>((o * d + start) * inner) * es, row);
    start += sz;
  }
}

NDArray concat_axis(const std::vector<NDArray>& xs, int64_t axis);

void split_backward(GradCall& g) {
  const Shape& s = g.in_shapes[0];
  SplitSpec sp = split_spec(g, s);
  std::vector<NDArray> parts;
  for (size_t k = 0; k < sp.sizes.size(); ++k) {
    NDArray dk = g.out_grad(k);
    if (sp.squeeze) {
      Shape e = s;
      e[sp.axis] = 1;
      dk = reshape(dk, e);
    }
    parts.push_back(dk);
  }
  g.in_grads[0] = concat_axis(parts, sp.axis);
}

void concat_infer(OpCall& c) {
  if (c.inputs.empty()) fail(code::BAD_ARGUMENT, "concat: needs at least one array");
  const Shape& s0 = c.inputs[0].shape;
  if (s0.empty()) fail(code::BAD_AXIS, "concat: cannot concatenate 0-d arrays (", shapes_of(c), ")");
  expect_same_dtype(c);
  int axis = normalize_axis(c.opts<ConcatOptions>().dim, s0.size(), c.name(), s0);
  Shape o = s0;
  int64_t tot = 0;
  for (auto& a : c.inputs) {
    const Shape& s = a.shape;
    bool ok = s.size() == s0.size();
    for (size_t i = 0; ok && i < s.size(); ++i)
      if (static_cast<int>(i) != axis && s[i] != s0[i]) ok = false;
    if (!ok)
      fail(code::SHAPE_MISMATCH, "concat: shapes ", shapes_of(c), " differ outside dimension ", axis);
    if (__builtin_add_overflow(tot, s[axis], &tot))
      fail(code::OUT_OF_MEMORY, "concat: the result dimension of ", shapes_of(c), " is too large");
  }
  o[axis] = tot;
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}

void concat_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  int axis = normalize_axis(c.opts<ConcatOptions>().dim, y.ndim(), c.name(), y.shape);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= y.shape[i];
  for (size_t i = axis + 1; i < y.ndim(); ++i) inner *= y.shape[i];
  std::vector<int64_t> widths;
  for (auto& a : c.inputs) widths.push_back(a.shape[axis]);
  concat_blocks(c.inputs, widths, outer, inner, y);
}

const OpDef& split_sizes_op();

void concat_backward(GradCall& g) {
  int axis = normalize_axis(g.opts<ConcatOptions>().dim, g.out_shapes[0].size(), g.name(), g.out_shapes[0]);
  SplitSizesOptions o;
  for (auto& s : g.in_shapes) o.sizes.push_back(s[axis]);
  o.axis = axis;
  NDArray dy = g.out_grad(0);
  ArrayList parts = invoke(split_sizes_op(), {&dy}, std::move(o));
  for (size_t i = 0; i < parts.size(); ++i)
    if (g.need[i]) g.in_grads[i] = parts[i];
}

const OpDef kStack =
    OpDef::named("stack").arity(-1).rules(stack_infer, stack_forward, stack_backward).with_options<StackOptions>();
const OpDef kSplit = OpDef::named("split").alias("SliceChannel").rules(split_infer, split_forward, split_backward)
                         .with_options<SplitOptions>();
const OpDef kSplitSizes = OpDef::named("_split_sizes").rules(split_infer, split_forward, split_backward).row(1)
                              .with_options<SplitSizesOptions>();
const OpDef kConcat = OpDef::named("concat").alias("Concat").arity(-1)
                          .rules(concat_infer, concat_forward, concat_backward).with_options<ConcatOptions>();
OpRegistrar r1(kStack), r2(kSplit), r3(kSplitSizes), r4(kConcat);

const OpDef& split_sizes_op() { return kSplitSizes; }

NDArray concat_axis(const std::vector<NDArray>& xs, int64_t axis) {
  if (xs.size() == 1) return xs[0];
  return invoke1(kConcat, xs, ConcatOptions{axis});
}

}  // namespace
}  // namespace ops
}  // namespace ndgrad
