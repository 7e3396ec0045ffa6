// View ops: reshape, expand_dims, squeeze, flatten and at (first-axis index). Their result shares
// the input's storage (no copy, no forward); their gradient reshapes the gradient back.
#include <algorithm>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// reshape's target shape; `exact` (internal calls, gradients) reads 0 as a zero-size axis rather
// than MXNet's "keep this axis" code.
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
  if (present) {
    for (int64_t a : *axes) {
      int n = normalize_axis(a, s.size(), c.name(), s);
      if (s[n] != 1)
        fail(code::BAD_AXIS, c.name(), ": cannot squeeze axis ", a, " of size ", s[n], " in shape ", shape_str(s));
      drop.push_back(n);
    }
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

void noop_forward(OpCall&) {}

// The view ops share one gradient: reshape back.
const OpDef kReshape = OpDef::named("reshape").alias("Reshape").rules(reshape_infer, noop_forward, reshape_back)
                           .with_flags(kBF16Storage).with_options<ShapeOptions>();
const OpDef kExpandDims = OpDef::named("expand_dims").alias("expandDims")
                              .rules(expand_dims_infer, noop_forward, reshape_back)
                              .with_flags(kBF16Storage).with_options<AxisOptions>();
const OpDef kSqueeze =
    OpDef::named("squeeze").rules(squeeze_infer, noop_forward, reshape_back).with_flags(kBF16Storage)
        .with_options<AxesOptions>();
const OpDef kFlatten = OpDef::named("flatten").alias("Flatten").rules(flatten_infer, noop_forward, reshape_back)
                           .with_flags(kBF16Storage);
const OpDef kAt = OpDef::named("at").rules(at_infer, at_forward, at_backward).with_flags(kBF16Storage)
                       .with_options<IndexOptions>();
OpRegistrar r1(kReshape), r2(kExpandDims), r3(kSqueeze), r4(kFlatten), r5(kAt);

}  // namespace

NDArray reshape(const NDArray& x, const Shape& shape) {
  return invoke1(kReshape, {&x}, ShapeOptions{shape.vec(), true});
}
NDArray reshape_grad(const NDArray& g, const Shape& s) {
  if (numel(s) == 0 || g.size() == 0) return zeros(s, g.dtype);
  return reshape(g, s);
}

}  // namespace ops
}  // namespace ndgrad
