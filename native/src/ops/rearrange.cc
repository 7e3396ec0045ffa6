// Ops that copy x's elements into a new arrangement: transpose, swapaxes, broadcast_to, tile,
// repeat, flip, and astype (a new dtype). Each is a strided gather; each gradient is written with ops.
#include <algorithm>

#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

namespace k = kernels;

struct TransposeOptions {  // empty: reversed axes
  Ints axes;
  NDGRAD_FIELDS(v("axes", axes, kArgument))
};
// broadcast_to's target shape; `exact` (internal calls, gradients) reads 0 as a zero-size axis.
struct BroadcastOptions {
  Maybe<Ints> shape;
  bool exact = false;
  NDGRAD_FIELDS(v("shape", shape, kArgument), v("exact", exact, kArgument))
};
struct AstypeOptions {
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("dtype", dtype, kArgument))
};

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
  const BroadcastOptions& so = c.opts<BroadcastOptions>();
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
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.opts<AstypeOptions>().dtype};
}

void astype_forward(OpCall& c) { copy_into(c.inputs[0], c.outputs[0]); }

void astype_backward(GradCall& g) {
  if (!is_float(g.in_dtypes[0])) return;
  g.in_grads[0] = astype(g.out_grad(0), g.in_dtypes[0]);
}

// ---- swapaxes ----

struct SwapOptions {
  int64_t dim1 = 0, dim2 = 0;
  NDGRAD_FIELDS(v("dim1", dim1, kArgument), v("dim2", dim2, kArgument))
};

std::vector<int64_t> swap_perm(const char* op, const SwapOptions& o, const Shape& s) {
  int a = normalize_axis(o.dim1, s.size(), op, s);
  int b = normalize_axis(o.dim2, s.size(), op, s);
  std::vector<int64_t> p;
  for (size_t i = 0; i < s.size(); ++i) p.push_back(static_cast<int64_t>(i));
  std::swap(p[a], p[b]);
  return p;
}
void swap_infer(OpCall& c) {
  const Shape& s = c.inputs[0].shape;
  if (s.empty()) fail(code::BAD_AXIS, c.name(), ": a 0-d array has no axes to swap");
  std::vector<int64_t> p = swap_perm(c.name(), c.opts<SwapOptions>(), s);
  Shape o;
  for (int64_t i : p) o.push_back(s[i]);
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}
void swap_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  std::vector<int64_t> p = swap_perm(c.name(), c.opts<SwapOptions>(), x.shape);
  Shape cs = contiguous_strides(x.shape), st;
  for (int64_t i : p) st.push_back(cs[i]);
  gather_strided(x, 0, c.outputs[0].shape, st, c.outputs[0]);
}
void swap_backward(GradCall& g) {
  const Shape& s = g.in_shapes[0];
  std::vector<int64_t> p = swap_perm(g.name(), g.opts<SwapOptions>(), s);
  int a = -1, b = -1;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] != static_cast<int64_t>(i)) (a < 0 ? a : b) = static_cast<int>(i);
  g.in_grads[0] = a < 0 ? g.out_grad(0) : swapaxes(g.out_grad(0), a, b);
}

// ---- tile ----

// A result dimension a * b or a + b; with an empty input the other dims can be anything, so the
// product may pass int64 (signed overflow, and a wrapped dim gave a wrong shape such as (0,0)).
int64_t dim_mul(const char* op, const Shape& in, int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    fail(code::OUT_OF_MEMORY, op, ": a result dimension ", a, " x ", b, " of input ", shape_str(in), " is too large");
  return r;
}

struct TileOptions {
  Maybe<Ints> reps;
  NDGRAD_FIELDS(v("reps", reps, kArgument))
};

// x padded to rank d = max(ndim, reps) and reps padded the same way.
void tile_dims(const char* op, const TileOptions& o, const Shape& s, Shape* xs, Shape* reps) {
  if (!o.reps) fail(code::BAD_ARGUMENT, op, ": needs reps");
  const Ints& r = *o.reps;
  for (int64_t v : r)
    if (v < 0) fail(code::BAD_ARGUMENT, op, ": reps must be non-negative, got ", shape_str(Shape(r)));
  size_t d = std::max(s.size(), r.size());
  *xs = Shape(d, 1);
  *reps = Shape(d, 1);
  for (size_t i = 0; i < s.size(); ++i) (*xs)[d - s.size() + i] = s[i];
  for (size_t i = 0; i < r.size(); ++i) (*reps)[d - r.size() + i] = r[i];
}
void tile_infer(OpCall& c) {
  Shape xs, reps;
  tile_dims(c.name(), c.opts<TileOptions>(), c.inputs[0].shape, &xs, &reps);
  Shape o;
  for (size_t i = 0; i < xs.size(); ++i) o.push_back(dim_mul(c.name(), c.inputs[0].shape, xs[i], reps[i]));
  c.out_shapes = {o};
  c.out_dtypes = {c.inputs[0].dtype};
}
void tile_forward(OpCall& c) {
  Shape xs, reps;
  tile_dims(c.name(), c.opts<TileOptions>(), c.inputs[0].shape, &xs, &reps);
  Shape cs = contiguous_strides(xs), sh, st;
  for (size_t i = 0; i < xs.size(); ++i) {
    sh.push_back(reps[i]);
    st.push_back(0);
    sh.push_back(xs[i]);
    st.push_back(cs[i]);
  }
  gather_strided(c.inputs[0], 0, sh, st, c.outputs[0]);
}
void tile_backward(GradCall& g) {
  Shape xs, reps;
  tile_dims(g.name(), g.opts<TileOptions>(), g.in_shapes[0], &xs, &reps);
  Shape sh;
  std::vector<int64_t> axes;
  for (size_t i = 0; i < xs.size(); ++i) {
    axes.push_back(static_cast<int64_t>(sh.size()));
    sh.push_back(reps[i]);
    sh.push_back(xs[i]);
  }
  g.in_grads[0] = reshape_grad(sum(reshape_grad(g.out_grad(0), sh), axes, false), g.in_shapes[0]);
}

// ---- repeat ----

struct RepeatOptions {
  int64_t repeats = -1;
  Maybe<int64_t> axis;  // absent: x flattened
  NDGRAD_FIELDS(v("repeats", repeats, kArgument), v("axis", axis))
};

// x as (outer, n, inner) around the axis (flattened when axis is absent), and the repeat count.
void repeat_dims(const char* op, const RepeatOptions& o, const Shape& s, int64_t* outer, int64_t* n, int64_t* inner,
                 int64_t* r, Shape* out) {
  *r = o.repeats;
  if (*r < 0) fail(code::BAD_ARGUMENT, op, ": repeats must be a non-negative integer, got ", *r);
  *outer = 1;
  *inner = 1;
  if (!o.axis) {
    *n = numel(s);
    *out = Shape{dim_mul(op, s, *n, *r)};
    return;
  }
  if (s.empty()) fail(code::BAD_AXIS, op, ": a 0-d array has no axis to repeat along");
  int a = normalize_axis(*o.axis, s.size(), op, s);
  outer_inner(s, a, outer, inner);
  *n = s[a];
  *out = s;
  (*out)[a] = dim_mul(op, s, s[a], *r);
}
void repeat_infer(OpCall& c) {
  int64_t o, n, i, r;
  Shape out;
  repeat_dims(c.name(), c.opts<RepeatOptions>(), c.inputs[0].shape, &o, &n, &i, &r, &out);
  c.out_shapes = {out};
  c.out_dtypes = {c.inputs[0].dtype};
}
void repeat_forward(OpCall& c) {
  int64_t o, n, i, r;
  Shape out;
  repeat_dims(c.name(), c.opts<RepeatOptions>(), c.inputs[0].shape, &o, &n, &i, &r, &out);
  gather_strided(c.inputs[0], 0, Shape{o, n, r, i}, Shape{n * i, i, 0, 1}, c.outputs[0]);
}
void repeat_backward(GradCall& g) {
  int64_t o, n, i, r;
  Shape out;
  repeat_dims(g.name(), g.opts<RepeatOptions>(), g.in_shapes[0], &o, &n, &i, &r, &out);
  g.in_grads[0] = reshape_grad(sum(reshape_grad(g.out_grad(0), Shape{o, n, r, i}), {2}, false), g.in_shapes[0]);
}

// ---- flip ----

struct FlipOptions {
  Maybe<Ints> axis;
  NDGRAD_FIELDS(v("axis", axis, kArgument))
};

std::vector<int> flip_axes(const char* op, const FlipOptions& o, const Shape& s) {
  if (!o.axis) fail(code::BAD_ARGUMENT, op, ": needs an axis");
  std::vector<int> r;
  for (int64_t a : *o.axis) {
    int n = normalize_axis(a, s.size(), op, s);
    if (std::find(r.begin(), r.end(), n) != r.end())
      fail(code::BAD_AXIS, op, ": axis ", a, " repeated for shape ", shape_str(s));
    r.push_back(n);
  }
  return r;
}
void flip_infer(OpCall& c) {
  flip_axes(c.name(), c.opts<FlipOptions>(), c.inputs[0].shape);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}
void flip_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  Shape st = contiguous_strides(x.shape);
  int64_t off = 0;
  for (int a : flip_axes(c.name(), c.opts<FlipOptions>(), x.shape)) {
    if (x.shape[a] > 0) off += (x.shape[a] - 1) * st[a];
    st[a] = -st[a];
  }
  gather_strided(x, off, x.shape, st, c.outputs[0]);
}
void flip_backward(GradCall& g) {
  std::vector<int> ax = flip_axes(g.name(), g.opts<FlipOptions>(), g.in_shapes[0]);
  g.in_grads[0] = flip(g.out_grad(0), std::vector<int64_t>(ax.begin(), ax.end()));
}

const OpDef kTranspose = OpDef::named("transpose").rules(transpose_infer, transpose_forward, transpose_backward)
                             .with_options<TransposeOptions>();
const OpDef kBroadcastTo = OpDef::named("broadcast_to").alias("broadcastTo")
                               .rules(broadcast_infer, broadcast_forward, broadcast_backward)
                               .with_options<BroadcastOptions>();
const OpDef kAstype = OpDef::named("astype").alias("cast Cast").rules(astype_infer, astype_forward, astype_backward)
                          .with_flags(kAliasSafe | kBF16Storage).with_options<AstypeOptions>();
const OpDef kSwap = OpDef::named("swapaxes").alias("SwapAxis swapAxes").rules(swap_infer, swap_forward, swap_backward)
                        .with_options<SwapOptions>();
const OpDef kTile = OpDef::named("tile").rules(tile_infer, tile_forward, tile_backward).with_options<TileOptions>();
const OpDef kRepeat =
    OpDef::named("repeat").rules(repeat_infer, repeat_forward, repeat_backward).with_options<RepeatOptions>();
const OpDef kFlip =
    OpDef::named("flip").alias("reverse").rules(flip_infer, flip_forward, flip_backward).with_options<FlipOptions>();
OpRegistrar r1(kTranspose), r2(kBroadcastTo), r3(kAstype), r4(kSwap), r5(kTile), r6(kRepeat), r7(kFlip);

}  // namespace

void gather_strided(const NDArray& x, int64_t offset, const Shape& shape, const Shape& strides, const NDArray& y) {
  if (numel(shape) == 0) return;
  const char* base = static_cast<const char*>(x.raw()) + offset * static_cast<int64_t>(dtype_size(x.dtype));
  k::strided_copy(static_cast<int>(x.dtype), static_cast<int>(shape.size()), shape.data(), base, strides.data(),
                  y.raw());
}

NDArray broadcast_to(const NDArray& x, const Shape& shape) {
  if (x.shape == shape) return x;
  return invoke1(kBroadcastTo, {&x}, BroadcastOptions{shape.vec(), true});
}
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes) {
  return invoke1(kTranspose, {&x}, TransposeOptions{axes});
}
NDArray astype(const NDArray& x, DType dtype, const NDArray* out) { return invoke1(kAstype, {&x}, AstypeOptions{dtype}, out); }
NDArray swapaxes(const NDArray& x, int a, int b) { return invoke1(kSwap, {&x}, SwapOptions{a, b}); }
NDArray flip(const NDArray& x, const std::vector<int64_t>& axes) { return invoke1(kFlip, {&x}, FlipOptions{axes}); }

}  // namespace ops
}  // namespace ndgrad
