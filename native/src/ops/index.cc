// Index ops: take, pick, one_hot, Embedding, and the scatter-adds that are their gradients
// (_take_grad, _pick_grad; each differentiable back into take / pick, so every order works).
// Index values out of range are OUT_OF_RANGE (MXNet clips silently), found by forward before it writes
// (data-dependent: the threaded engine keeps the error with the result); indices never get gradients.
#include <cmath>
#include <cstring>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// Reads index values, checking that each is an integer in [-n, n) (or [0, n) without `negative`).
std::vector<int64_t> read_indices(const char* op, const char* what, const NDArray& idx, int64_t n, bool negative,
                                  const std::string& ctx) {
  std::vector<int64_t> r(static_cast<size_t>(idx.size()));
  NDGRAD_DISPATCH_DTYPE(idx.dtype, T, {
    const T* p = idx.data<T>();
    for (int64_t i = 0; i < idx.size(); ++i) {
      double v = static_cast<double>(p[i]);
      if (!(std::floor(v) == v))
        fail(code::BAD_ARGUMENT, op, ": ", what, " must hold integers, got ", v, " at position ", i, " (", ctx, ")");
      if (v >= static_cast<double>(n) || v < (negative ? -static_cast<double>(n) : 0.0))
        fail(code::OUT_OF_RANGE, op, ": ", what, " ", v, " is out of range for size ", n, " (", ctx, ")");
      int64_t k = static_cast<int64_t>(v);
      r[i] = k < 0 ? k + n : k;
    }
  });
  return r;
}

// y (outer, m, inner) = x (outer, n, inner) at rows idx.
void gather_rows(const NDArray& x, const std::vector<int64_t>& idx, int64_t outer, int64_t n, int64_t inner,
                 const NDArray& y) {
  size_t es = dtype_size(x.dtype);
  int64_t m = static_cast<int64_t>(idx.size());
  const char* xb = static_cast<const char*>(x.raw());
  char* yb = static_cast<char*>(y.raw());
  size_t row = inner * es;
  if (row == 0) return;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < m; ++j) std::memcpy(yb + (o * m + j) * row, xb + (o * n + idx[j]) * row, row);
}

// y (outer, n, inner) = 0, then y[:, idx[j], :] += dy[:, j, :].
void scatter_add_rows(const NDArray& dy, const std::vector<int64_t>& idx, int64_t outer, int64_t n, int64_t inner,
                      const NDArray& y) {
  fill(y, 0.0);
  int64_t m = static_cast<int64_t>(idx.size());
  NDGRAD_DISPATCH_FLOAT(y.dtype, T, {
    const T* d = dy.data<T>();
    T* p = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < m; ++j) {
        T* dst = p + (o * n + idx[j]) * inner;
        const T* src = d + (o * m + j) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
      }
  });
}

// ---- take(x, indices, axis) ----

struct TakeOptions {
  int64_t axis = 0;
  std::string mode = "raise";
  NDGRAD_FIELDS(v("axis", axis), v("mode", mode))
};
// _take_grad(dy, indices): take's axis and x's shape.
struct TakeGradOptions {
  int64_t axis = 0;
  Ints in_shape;
  NDGRAD_FIELDS(v("axis", axis), v("in_shape", in_shape, kArgument))
};

int take_axis(const char* op, int64_t axis, const Shape& s) {
  if (s.empty()) fail(code::BAD_AXIS, op, ": cannot take from a 0-d array");
  return normalize_axis(axis, s.size(), op, s);
}
Shape take_shape(const Shape& s, int a, const Shape& is) {
  Shape o;
  for (int i = 0; i < a; ++i) o.push_back(s[i]);
  for (int64_t d : is) o.push_back(d);
  for (size_t i = a + 1; i < s.size(); ++i) o.push_back(s[i]);
  return o;
}
std::string take_ctx(const NDArray& x, const NDArray& idx, int a) {
  return "axis " + std::to_string(a) + " of " + shape_str(x.shape) + ", indices " + shape_str(idx.shape);
}

void take_infer(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = take_axis(c.name(), c.opts<TakeOptions>().axis, x.shape);
  const std::string& mode = c.opts<TakeOptions>().mode;
  if (mode != "raise") fail(code::BAD_ARGUMENT, c.name(), ": only mode 'raise' is supported, got '", mode, "'");
  c.out_shapes = {take_shape(x.shape, a, idx.shape)};
  c.out_dtypes = {x.dtype};
}
void take_forward(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = take_axis(c.name(), c.opts<TakeOptions>().axis, x.shape);
  std::vector<int64_t> ii = read_indices(c.name(), "index", idx, x.shape[a], true, take_ctx(x, idx, a));
  int64_t outer, inner;
  outer_inner(x.shape, a, &outer, &inner);
  gather_rows(x, ii, outer, x.shape[a], inner, c.outputs[0]);
}
NDArray take_grad(const NDArray& dy, const NDArray& idx, int axis, const Shape& in_shape);
void take_backward(GradCall& g) {
  if (!g.need[0]) return;
  int a = take_axis(g.name(), g.opts<TakeOptions>().axis, g.in_shapes[0]);
  g.in_grads[0] = take_grad(g.out_grad(0), g.inputs[1], a, g.in_shapes[0]);
}

// _take_grad(dy, indices): take's gradient, scattered into x's shape.
void take_grad_infer(OpCall& c) {
  const NDArray &dy = c.inputs[0], &idx = c.inputs[1];
  Shape in(c.opts<TakeGradOptions>().in_shape);
  int a = take_axis(c.name(), c.opts<TakeGradOptions>().axis, in);
  expect_float(c, 0);
  if (take_shape(in, a, idx.shape) != dy.shape)
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(dy.shape), " does not match take of ",
         shape_str(in), " with indices ", shape_str(idx.shape));
  c.out_shapes = {in};
  c.out_dtypes = {dy.dtype};
}
void take_grad_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  int a = take_axis(c.name(), c.opts<TakeGradOptions>().axis, y.shape);
  std::vector<int64_t> ii = read_indices(c.name(), "index", c.inputs[1], y.shape[a], true,
                                         take_ctx(c.inputs[0], c.inputs[1], a));
  int64_t outer, inner;
  outer_inner(y.shape, a, &outer, &inner);
  scatter_add_rows(c.inputs[0], ii, outer, y.shape[a], inner, y);
}
void take_grad_backward(GradCall& g) {
  if (!g.need[0]) return;
  int a = take_axis(g.name(), g.opts<TakeGradOptions>().axis, g.out_shapes[0]);
  g.in_grads[0] = take(g.out_grad(0), g.inputs[1], a);
}

// ---- Embedding(indices, weight, input_dim, output_dim) ----

struct EmbeddingOptions {
  Maybe<int64_t> input_dim, output_dim;  // absent: the weight's
  NDGRAD_FIELDS(v("input_dim", input_dim), v("output_dim", output_dim))
};

void embed_infer(OpCall& c) {
  const NDArray &idx = c.inputs[0], &w = c.inputs[1];
  const char* op = c.name();
  if (w.ndim() != 2) fail(code::SHAPE_MISMATCH, op, ": weight must be 2-D (inputDim, outputDim), got ", shape_str(w.shape));
  const EmbeddingOptions& eo = c.opts<EmbeddingOptions>();
  int64_t in_dim = eo.input_dim.value_or(w.shape[0]), out_dim = eo.output_dim.value_or(w.shape[1]);
  if (in_dim != w.shape[0] || out_dim != w.shape[1])
    fail(code::SHAPE_MISMATCH, op, ": weight ", shape_str(w.shape), " does not match inputDim ", in_dim,
         " and outputDim ", out_dim);
  Shape o = idx.shape;
  o.push_back(w.shape[1]);
  c.out_shapes = {o};
  c.out_dtypes = {w.dtype};
}
void embed_forward(OpCall& c) {
  const NDArray &idx = c.inputs[0], &w = c.inputs[1];
  std::vector<int64_t> ii = read_indices(c.name(), "index", idx, w.shape[0], false,
                                         "weight " + shape_str(w.shape) + ", indices " + shape_str(idx.shape));
  gather_rows(w, ii, 1, w.shape[0], w.shape[1], c.outputs[0]);
}
void embed_backward(GradCall& g) {
  if (!g.need[1]) return;
  g.in_grads[1] = take_grad(g.out_grad(0), g.inputs[0], 0, g.in_shapes[1]);
}

// ---- pick(x, index, axis, keepdims) ----

struct PickOptions {
  int64_t axis = -1;
  bool keepdims = false;
  NDGRAD_FIELDS(v("axis", axis), v("keepdims", keepdims))
};
// _pick_grad(dy, index): pick's options and x's shape.
struct PickGradOptions : PickOptions {
  Ints in_shape;
  NDGRAD_FIELDS(PickOptions::fields(v), v("in_shape", in_shape, kArgument))
};

int pick_axis(const char* op, const PickOptions& o, const Shape& s) {
  if (s.empty()) fail(code::BAD_AXIS, op, ": cannot pick from a 0-d array");
  return normalize_axis(o.axis, s.size(), op, s);
}
Shape pick_out(const Shape& s, int a, bool keepdims) {
  Shape o = s;
  if (keepdims) o[a] = 1;
  else o.erase(a);
  return o;
}
void check_pick_index(const char* op, const Shape& s, int a, const NDArray& idx) {
  if (idx.shape != pick_out(s, a, false) && idx.shape != pick_out(s, a, true))
    fail(code::SHAPE_MISMATCH, op, ": index ", shape_str(idx.shape), " must have the shape of data ", shape_str(s),
         " without axis ", a, " (", shape_str(pick_out(s, a, false)), ")");
}
void pick_infer(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = pick_axis(c.name(), c.opts<PickOptions>(), x.shape);
  check_pick_index(c.name(), x.shape, a, idx);
  c.out_shapes = {pick_out(x.shape, a, c.opts<PickOptions>().keepdims)};
  c.out_dtypes = {x.dtype};
}
void pick_forward(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = pick_axis(c.name(), c.opts<PickOptions>(), x.shape);
  std::vector<int64_t> ii =
      read_indices(c.name(), "index", idx, x.shape[a], true, "axis " + std::to_string(a) + " of " + shape_str(x.shape));
  int64_t outer, inner, n = x.shape[a];
  outer_inner(x.shape, a, &outer, &inner);
  NDGRAD_DISPATCH_DTYPE(x.dtype, T, {
    const T* p = x.data<T>();
    T* y = c.outputs[0].data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) y[o * inner + i] = p[(o * n + ii[o * inner + i]) * inner + i];
  });
}
NDArray pick_grad(const NDArray& dy, const NDArray& idx, int axis, bool keepdims, const Shape& in_shape);
void pick_backward(GradCall& g) {
  if (!g.need[0]) return;
  int a = pick_axis(g.name(), g.opts<PickOptions>(), g.in_shapes[0]);
  g.in_grads[0] = pick_grad(g.out_grad(0), g.inputs[1], a, g.opts<PickOptions>().keepdims, g.in_shapes[0]);
}

// _pick_grad(dy, index): pick's gradient, scattered into x's shape.
void pick_grad_infer(OpCall& c) {
  const PickGradOptions& o = c.opts<PickGradOptions>();
  Shape in(o.in_shape);
  int a = pick_axis(c.name(), o, in);
  expect_float(c, 0);
  check_pick_index(c.name(), in, a, c.inputs[1]);
  if (c.inputs[0].shape != pick_out(in, a, o.keepdims))
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(c.inputs[0].shape), " does not match data ",
         shape_str(in));
  c.out_shapes = {in};
  c.out_dtypes = {c.inputs[0].dtype};
}
void pick_grad_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  int a = pick_axis(c.name(), c.opts<PickGradOptions>(), y.shape);
  std::vector<int64_t> ii = read_indices(c.name(), "index", c.inputs[1], y.shape[a], true, shape_str(y.shape));
  int64_t outer, inner, n = y.shape[a];
  outer_inner(y.shape, a, &outer, &inner);
  fill(y, 0.0);
  NDGRAD_DISPATCH_FLOAT(y.dtype, T, {
    const T* d = c.inputs[0].data<T>();
    T* p = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) p[(o * n + ii[o * inner + i]) * inner + i] = d[o * inner + i];
  });
}
void pick_grad_backward(GradCall& g) {
  if (!g.need[0]) return;
  const PickGradOptions& o = g.opts<PickGradOptions>();
  int a = pick_axis(g.name(), o, g.out_shapes[0]);
  g.in_grads[0] = pick(g.out_grad(0), g.inputs[1], a, o.keepdims);
}

// ---- one_hot(indices, depth, on_value, off_value, dtype) ----

struct OneHotOptions {
  int64_t depth = -1;
  double on_value = 1, off_value = 0;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("depth", depth, kArgument), v("on_value", on_value), v("off_value", off_value), v("dtype", dtype))
};

void one_hot_infer(OpCall& c) {
  const NDArray& idx = c.inputs[0];
  const OneHotOptions& oh = c.opts<OneHotOptions>();
  int64_t depth = oh.depth;
  if (depth < 0) fail(code::BAD_ARGUMENT, c.name(), ": depth must be a non-negative integer, got ", depth);
  DType t = oh.dtype;
  Shape o = idx.shape;
  o.push_back(depth);
  c.out_shapes = {o};
  c.out_dtypes = {t};
}
void one_hot_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  const OneHotOptions& o = c.opts<OneHotOptions>();
  int64_t depth = o.depth;
  std::vector<int64_t> ii = read_indices(c.name(), "index", c.inputs[0], depth, false,
                                         "depth " + std::to_string(depth) + ", indices " + shape_str(c.inputs[0].shape));
  fill(y, o.off_value);
  double on = o.on_value;
  for (size_t j = 0; j < ii.size(); ++j) write_scalar(y, static_cast<int64_t>(j) * depth + ii[j], on);
}

const OpDef kTake = OpDef::named("take").arity(2).rules(take_infer, take_forward, take_backward).saves(2)
                        .with_options<TakeOptions>();
const OpDef kTakeGrad = OpDef::named("_take_grad").arity(2).saves(2)
                            .rules(take_grad_infer, take_grad_forward, take_grad_backward).with_options<TakeGradOptions>();
const OpDef kEmbed = OpDef::named("Embedding").alias("embedding").arity(2).saves(1)
                         .rules(embed_infer, embed_forward, embed_backward).with_options<EmbeddingOptions>();
const OpDef kPick = OpDef::named("pick").arity(2).rules(pick_infer, pick_forward, pick_backward).saves(2)
                        .with_options<PickOptions>();
const OpDef kPickGrad = OpDef::named("_pick_grad").arity(2).saves(2)
                            .rules(pick_grad_infer, pick_grad_forward, pick_grad_backward).with_options<PickGradOptions>();
const OpDef kOneHot = OpDef::named("one_hot").alias("oneHot").rules(one_hot_infer, one_hot_forward).with_flags(kNoGrad)
                          .with_options<OneHotOptions>();
OpRegistrar r1(kTake), r2(kTakeGrad), r3(kEmbed), r4(kPick), r5(kPickGrad), r6(kOneHot);

NDArray take_grad(const NDArray& dy, const NDArray& idx, int axis, const Shape& in_shape) {
  return invoke1(kTakeGrad, {&dy, &idx}, TakeGradOptions{axis, in_shape.vec()});
}
NDArray pick_grad(const NDArray& dy, const NDArray& idx, int axis, bool keepdims, const Shape& in_shape) {
  PickGradOptions o;
  o.axis = axis;
  o.keepdims = keepdims;
  o.in_shape = in_shape.vec();
  return invoke1(kPickGrad, {&dy, &idx}, std::move(o));
}

}  // namespace

NDArray take(const NDArray& x, const NDArray& indices, int axis) {
  TakeOptions o;
  o.axis = axis;
  return invoke1(kTake, {&x, &indices}, std::move(o));
}
NDArray pick(const NDArray& x, const NDArray& index, int axis, bool keepdims) {
  PickOptions o;
  o.axis = axis;
  o.keepdims = keepdims;
  return invoke1(kPick, {&x, &index}, o);
}
NDArray one_hot(const NDArray& indices, int64_t depth, DType dtype) {
  OneHotOptions o;
  o.depth = depth;
  o.dtype = dtype;
  return invoke1(kOneHot, {&indices}, std::move(o));
}

}  // namespace ops
}  // namespace ndgrad
