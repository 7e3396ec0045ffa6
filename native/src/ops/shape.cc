// Shape ops of the foundation: reshape, at (first-axis index), expand_dims, squeeze, flatten (views),
// transpose, broadcast_to, astype.
#include <algorithm>

#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

namespace k = kernels;

// reshape and broadcast_to: the target shape; `exact` (internal calls, gradients) reads 0 as a
// zero-size axis rather than MXNet's "keep this axis" code.
struct ShapeOptions {
  Maybe<Ints> shape;
  bool exact = false;
  NDGRAD_FIELDS(v("shape", shape, kArgument), v("exact", exact, kArgument))
};
struct AxisOptions {  // expand_dims
  int64_t axis = 0;
  NDGRAD_FIELDS(v("axis", axis, kArgument))
};
struct AxesOptions {  // squeeze (absent: every size-1 axis)
  Maybe<Ints> axis;
  NDGRAD_FIELDS(v("axis", axis, kArgument))
};
struct IndexOptions {  // at
  int64_t index = 0;
  NDGRAD_FIELDS(v("index", index, kArgument))
};
struct TransposeOptions {  // empty: reversed axes
  Ints axes;
  NDGRAD_FIELDS(v("axes", axes, kArgument))
};
struct AstypeOptions {
  std::string dtype = "float32";
  NDGRAD_FIELDS(v("dtype", dtype, kArgument))
};

// MXNet's reshape codes: -1 infers one axis, 0 copies the input's size at that position.
Shape resolve_shape(const char* op, const Shape& in, const std::vector<int64_t>& spec) {
  Shape out;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (infer >= 0) fail(code::BAD_ARGUMENT, op, ": only one -1 allowed in shape");
      infer = static_cast<int>(i);
      out.push_back(1);
    } else if (d == 0) {
      if (i >= in.size()) fail(code::BAD_ARGUMENT, op, ": 0 at position ", i, " but input ", shape_str(in), " has ", in.size(), " dims");
      out.push_back(in[i]);
      if (__builtin_mul_overflow(known, in[i], &known)) known = -1;
    } else if (d < -1) {
      fail(code::BAD_ARGUMENT, op, ": unsupported shape code ", d, " (only -1 and 0 are supported)");
    } else {
      out.push_back(d);
      if (known < 0 || __builtin_mul_overflow(known, d, &known)) known = -1;  // -1: overflowed
    }
  }
  int64_t total = numel(in);
  if (infer >= 0) {
    if (known <= 0 || total % known != 0)
      fail(code::SHAPE_MISMATCH, op, ": cannot reshape array of shape ", shape_str(in), " into ", "shape with -1");
    out[infer] = total / known;
  }
  if (numel(out) != total)
    fail(code::SHAPE_MISMATCH, op, ": cannot reshape array of shape ", shape_str(in), " (size ", total, ") into shape ",
         shape_str(out));
  return out;
}

void reshape_infer(OpCall& c) {
  const ShapeOptions& o = c.opts<ShapeOptions>();
  if (!o.shape) fail(code::BAD_ARGUMENT, c.name(), ": needs a shape");
  const Ints& spec = *o.shape;
  if (o.exact) {
    // Internal calls (gradients) pass literal shapes, where 0 is a zero-size axis, not a code.
    Shape s(spec);
    if (numel(s) != c.inputs[0].size())
      fail(code::SHAPE_MISMATCH, c.name(), ": cannot reshape array of shape ", shape_str(c.inputs[0].shape),
           " into shape ", shape_str(s));
    c.out_shapes = {s};
  } else {
    c.out_shapes = {resolve_shape(c.name(), c.inputs[0].shape, spec)};
  }
  c.out_dtypes = {c.inputs[0].dtype};
  c.view_of = 0;
}

// Gradient of every view-like op: reshape the gradient back.
void reshape_back(GradCall& g) { g.in_grads[0] = reshape(g.out_grad(0), g.in_shapes[0]); }

void expand_dims_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  int64_t axis = c.opts<AxisOptions>().axis;
  int a = normalize_axis(axis, s.size() + 1, c.name(), s);
  Shape o = s;
  o.insert(a, 1);
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
  c.view_of = 0;
}

void squeeze_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  const Maybe<Ints>& axes = c.opts<AxesOptions>().axis;
  bool present = axes.has_value();
  Shape o;
  std::vector<int> drop;
  if (present)
    for (int64_t a : *axes) {
    int n = normalize_axis(a, s.size(), c.name(), s);
    if (s[n] != 1)
      fail(code::BAD_AXIS, c.name(), ": cannot squeeze axis ", a, " of size ", s[n], " in shape ", shape_str(s));
    drop.push_back(n);
  }
  for (size_t i = 0; i < s.size(); ++i) {
    bool d = present ? std::find(drop.begin(), drop.end(), static_cast<int>(i)) != drop.end() : s[i] == 1;
    if (!d) o.push_back(s[i]);
  }
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
  c.view_of = 0;
}

void flatten_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  int64_t rest = 1;
  for (size_t i = 1; i < s.size(); ++i) rest *= s[i];
  c.out_shapes = {s.empty() ? Shape{1, 1} : Shape{s[0], rest}};
  c.out_dtypes = {c.inputs[0].dtype};
  c.view_of = 0;
}

// x.at(i): first-axis index, a view sharing storage (recorded like MXNet's x[i]).
void at_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  if (s.empty()) fail(code::BAD_ARGUMENT, "at: cannot index a 0-d array");
  int64_t i = c.opts<IndexOptions>().index;
  if (i < -s[0] || i >= s[0])
    fail(code::OUT_OF_RANGE, "at: index ", i, " is out of bounds for axis 0 with size ", s[0], " (shape ", shape_str(s), ")");
  Shape o(s.begin() + 1, s.size() - 1);
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
  c.view_of = 0;
  c.view_offset = (i < 0 ? i + s[0] : i) * numel(o);
}

void at_forward(OpCall&) {}  // never called: invoke builds the view below

void at_backward(GradCall& g) {
  const Shape& s = g.in_shapes[0];
  int64_t i = g.opts<IndexOptions>().index;
  if (i < 0) i += s[0];
  if (numel(s) == 0) {  // empty x: the row mask below would still have s[0] entries
    g.in_grads[0] = zeros(s, g.in_dtypes[0]);
    return;
  }
  // Scatter the gradient into row i of zeros, written with ops: pad via concatenation of zeros is
  // heavy, so use a one-hot row mask times the broadcast gradient.
  Shape mask_shape(s.size(), 1);
  mask_shape[0] = s[0];
  NDArray mask = zeros(mask_shape, g.in_dtypes[0]);
  write_scalar(mask, i, 1.0);
  Shape bshape = s;
  bshape[0] = 1;
  NDArray dy = reshape(g.out_grad(0), bshape);
  g.in_grads[0] = mul(broadcast_to(dy, s), mask);
}

void transpose_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  std::vector<int64_t> axes = c.opts<TransposeOptions>().axes;
  if (axes.empty()) {
    axes.clear();
    for (size_t i = s.size(); i-- > 0;) axes.push_back(static_cast<int64_t>(i));
  }
  if (axes.size() != s.size())
    fail(code::BAD_AXIS, c.name(), ": axes of length ", axes.size(), " do not match shape ", shape_str(s));
  std::vector<char> seen(s.size(), 0);
  Shape o;
  for (int64_t a : axes) {
    int n = normalize_axis(a, s.size(), c.name(), s);
    if (seen[n]) fail(code::BAD_AXIS, c.name(), ": repeated axis ", a, " for shape ", shape_str(s));
    seen[n] = 1;
    o.push_back(s[n]);
  }
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}

std::vector<int64_t> transpose_axes(const TransposeOptions& o, size_t ndim) {
  std::vector<int64_t> axes = o.axes;
  if (axes.empty()) {
    axes.clear();
    for (size_t i = ndim; i-- > 0;) axes.push_back(static_cast<int64_t>(i));
  }
  for (auto& a : axes)
    if (a < 0) a += static_cast<int64_t>(ndim);
  return axes;
}

void transpose_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  std::vector<int64_t> axes = transpose_axes(c.opts<TransposeOptions>(), x.ndim());
  Shape cs = contiguous_strides(x.shape), st;
  for (int64_t a : axes) st.push_back(cs[a]);
  NDArray& y = c.outputs[0];
  k::strided_copy(static_cast<int>(x.dtype), static_cast<int>(y.ndim()), y.shape.data(), x.raw(), st.data(), y.raw());
}

void transpose_backward(GradCall& g) {
  std::vector<int64_t> axes = transpose_axes(g.opts<TransposeOptions>(), g.in_shapes[0].size());
  std::vector<int64_t> inv(axes.size());
  for (size_t i = 0; i < axes.size(); ++i) inv[axes[i]] = static_cast<int64_t>(i);
  g.in_grads[0] = transpose(g.out_grad(0), inv);
}

void broadcast_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  const ShapeOptions& so = c.opts<ShapeOptions>();
  if (!so.shape) fail(code::BAD_ARGUMENT, c.name(), ": needs a shape");
  const Ints& spec = *so.shape;
  if (spec.size() < s.size())
    fail(code::SHAPE_MISMATCH, c.name(), ": cannot broadcast shape ", shape_str(s), " to ", shape_str(Shape(spec)));
  Shape o(spec);
  bool exact = so.exact;  // internal calls: 0 is a zero-size axis
  size_t off = o.size() - s.size();
  for (size_t i = 0; i < o.size(); ++i) {
    if (o[i] == 0 && i >= off && !exact) o[i] = s[i - off];  // MXNet: 0 keeps the input's size
    if (i >= off && s[i - off] != 1 && s[i - off] != o[i])
      fail(code::SHAPE_MISMATCH, c.name(), ": cannot broadcast shape ", shape_str(s), " to ", shape_str(Shape(spec)));
    if (o[i] < 0) fail(code::BAD_ARGUMENT, c.name(), ": negative size in shape ", shape_str(Shape(spec)));
  }
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}

void broadcast_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  NDArray& y = c.outputs[0];
  Shape st = broadcast_strides(x.shape, y.shape);
  k::strided_copy(static_cast<int>(x.dtype), static_cast<int>(y.ndim()), y.shape.data(), x.raw(), st.data(), y.raw());
}

void broadcast_backward(GradCall& g) { g.in_grads[0] = sum_to(g.out_grad(0), g.in_shapes[0]); }

void astype_infer(OpCall& c) {
  const std::string& name = c.opts<AstypeOptions>().dtype;
  DType t;
  if (!parse_dtype(name, &t))
    fail(code::BAD_ARGUMENT, c.name(), ": unknown dtype '", name, "' (float32, float64, int32, uint8)");
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {t};
}

void astype_forward(OpCall& c) { copy_into(c.inputs[0], c.outputs[0]); }

void astype_backward(GradCall& g) {
  if (!is_float(g.in_dtypes[0])) return;
  g.in_grads[0] = astype(g.out_grad(0), g.in_dtypes[0]);
}

void noop_forward(OpCall&) {}

// The view ops share one gradient: reshape back.
const OpDef kReshape = OpDef::named("reshape").alias("Reshape").rules(reshape_infer, noop_forward, reshape_back)
                           .with_options<ShapeOptions>();
const OpDef kExpandDims = OpDef::named("expand_dims").alias("expandDims").rules(expand_dims_infer, noop_forward, reshape_back)
                              .with_options<AxisOptions>();
const OpDef kSqueeze = OpDef::named("squeeze").rules(squeeze_infer, noop_forward, reshape_back).with_options<AxesOptions>();
const OpDef kFlatten = OpDef::named("flatten").alias("Flatten").rules(flatten_infer, noop_forward, reshape_back);
const OpDef kAt = OpDef::named("at").rules(at_infer, at_forward, at_backward).with_options<IndexOptions>();
const OpDef kTranspose = OpDef::named("transpose").rules(transpose_infer, transpose_forward, transpose_backward)
                             .with_options<TransposeOptions>();
const OpDef kBroadcastTo = OpDef::named("broadcast_to").alias("broadcastTo")
                               .rules(broadcast_infer, broadcast_forward, broadcast_backward).with_options<ShapeOptions>();
const OpDef kAstype = OpDef::named("astype").alias("cast Cast").rules(astype_infer, astype_forward, astype_backward)
                          .with_flags(kAliasSafe).with_options<AstypeOptions>();
OpRegistrar r1(kReshape), r2(kExpandDims), r3(kSqueeze), r4(kFlatten), r5(kAt), r6(kTranspose), r7(kBroadcastTo),
    r8(kAstype);

}  // namespace

NDArray reshape(const NDArray& x, const Shape& shape) {
  return invoke1(kReshape, {&x}, ShapeOptions{shape.vec(), true});
}
NDArray broadcast_to(const NDArray& x, const Shape& shape) {
  if (x.shape == shape) return x;
  return invoke1(kBroadcastTo, {&x}, ShapeOptions{shape.vec(), true});
}
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes) {
  return invoke1(kTranspose, {&x}, TransposeOptions{axes});
}
NDArray astype(const NDArray& x, DType dtype) { return invoke1(kAstype, {&x}, AstypeOptions{dtype_name(dtype)}); }

}  // namespace ops
}  // namespace ndgrad
