// Sorting ops (MXNet's): sort, argsort, topk, and the gather/scatter along an axis that carry the
// gradient of the sorted values back to their source positions (_take_along_axis and
// _take_along_axis_grad, each differentiable into the other, so every order works).
// Order: NaN is larger than every number (NumPy's ascending sort puts it last, a descending one
// first); equal keys keep their input order in both directions (stable). Indices are not
// differentiable; their dtype is MXNet's `dtype` option, float32 by default.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

int sort_axis(const char* op, int64_t axis, const Shape& s) {
  if (s.empty()) fail(code::BAD_AXIS, op, ": cannot sort a 0-d array");
  return normalize_axis(axis, s.size(), op, s);
}

Shape with_axis(Shape s, int a, int64_t k) {
  s[a] = k;
  return s;
}

// a strictly before b in the order (NaN largest).
template <class T>
bool before(T a, T b, bool ascend) {
  if (ascend) return a < b || (a == a && b != b);
  return b < a || (a != a && b == b);
}

// The int32 positions of the first k entries of every line along axis a, in sorted order
// (shape: x's with k at a). Ties are broken by position, which is what makes it stable.
NDArray sorted_positions(const NDArray& x, int a, int64_t k, bool ascend) {
  int64_t outer, inner, n = x.shape[a];
  outer_inner(x.shape, a, &outer, &inner);
  NDArray idx = empty(with_axis(x.shape, a, k), DType::Int32);
  if (idx.size() == 0) return idx;
  if (n > 2147483647) fail(code::OUT_OF_RANGE, "sort: an axis of ", n, " entries is too long to sort (at most 2^31 - 1)");
  std::vector<int32_t> perm(static_cast<size_t>(n));
  int32_t* out = idx.data<int32_t>();
  NDGRAD_DISPATCH_DTYPE(x.dtype, T, {
    const T* p = x.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const T* line = p + o * n * inner + i;
        std::iota(perm.begin(), perm.end(), 0);
        auto cmp = [&](int32_t u, int32_t v) {
          T xu = line[u * inner], xv = line[v * inner];
          if (before(xu, xv, ascend)) return true;
          if (before(xv, xu, ascend)) return false;
          return u < v;
        };
        if (k < n) std::partial_sort(perm.begin(), perm.begin() + k, perm.end(), cmp);
        else std::sort(perm.begin(), perm.end(), cmp);
        int32_t* dst = out + o * k * inner + i;
        for (int64_t j = 0; j < k; ++j) dst[j * inner] = perm[j];
      }
  });
  return idx;
}

// Positions read back from an index array of any dtype, each checked to be an integer in [0, n).
std::vector<int64_t> read_positions(const char* op, const NDArray& idx, int64_t n) {
  std::vector<int64_t> r(static_cast<size_t>(idx.size()));
  NDGRAD_DISPATCH_DTYPE(idx.dtype, T, {
    const T* p = idx.data<T>();
    for (int64_t i = 0; i < idx.size(); ++i) {
      double v = static_cast<double>(p[i]);
      if (!(std::floor(v) == v) || v < 0 || v >= static_cast<double>(n))
        fail(code::OUT_OF_RANGE, op, ": index ", v, " at position ", i, " is not an integer in [0, ", n, ")");
      r[i] = static_cast<int64_t>(v);
    }
  });
  return r;
}

// y (idx's shape) = x at idx along axis a: y[o, j, i] = x[o, idx[o, j, i], i].
void gather_along(const NDArray& x, const std::vector<int64_t>& idx, int a, const NDArray& y) {
  int64_t outer, inner, n = x.shape[a], k = y.shape[a];
  outer_inner(x.shape, a, &outer, &inner);
  NDGRAD_DISPATCH_DTYPE(x.dtype, T, {
    const T* p = x.data<T>();
    T* q = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t at = (o * k + j) * inner + i;
          q[at] = p[(o * n + idx[at]) * inner + i];
        }
  });
}

// y (x's shape along a: n) = 0, then y[o, idx[o, j, i], i] += dy[o, j, i].
void scatter_add_along(const NDArray& dy, const std::vector<int64_t>& idx, int a, const NDArray& y) {
  int64_t outer, inner, n = y.shape[a], k = dy.shape[a];
  outer_inner(y.shape, a, &outer, &inner);
  fill(y, 0.0);
  NDGRAD_DISPATCH_FLOAT(y.dtype, T, {
    const T* d = dy.data<T>();
    T* q = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < k; ++j)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t at = (o * k + j) * inner + i;
          q[(o * n + idx[at]) * inner + i] += d[at];
        }
  });
}

std::vector<int64_t> positions_of(const NDArray& idx32) {
  const int32_t* p = idx32.data<int32_t>();
  return std::vector<int64_t>(p, p + idx32.size());
}

// Writes int32 positions into an index result of the requested dtype.
void write_indices(const NDArray& idx32, const NDArray& y) {
  const int32_t* p = idx32.data<int32_t>();
  NDGRAD_DISPATCH_DTYPE(y.dtype, T, {
    T* q = y.data<T>();
    for (int64_t i = 0; i < y.size(); ++i) q[i] = static_cast<T>(p[i]);
  });
}

// BAD_ARGUMENT unless dtype holds every index below n exactly (float32: 2^24, uint8: 255).
void check_index_dtype(const char* op, DType t, const NDArray& x, int64_t n) {
  if (x.size() == 0) return;  // no index is ever written
  double most = t == DType::Float32 ? 16777216.0 : t == DType::UInt8 ? 255.0 : t == DType::Int32 ? 2147483647.0 : 9e15;
  if (n > 0 && static_cast<double>(n - 1) > most)
    fail(code::BAD_ARGUMENT, op, ": dtype ", dtype_name(t), " cannot hold the index ", n - 1, " exactly");
}

NDArray take_along(const NDArray& x, const NDArray& idx, int axis);
NDArray take_along_grad(const NDArray& dy, const NDArray& idx, int axis, const Shape& in_shape);

// The int32 positions the values came from, kept for the gradient (state[0]); none for an empty
// input, which forward never sorts.
void keep_positions(OpCall& c, const Shape& positions) {
  if (c.inputs[0].size() == 0) return;
  c.state_shapes = {positions};
  c.state_dtypes = {DType::Int32};
}

// The values' gradient: dy scattered to the positions the values came from (kept in state[0]).
NDArray values_grad(GradCall& g, int a) {
  if (g.state.empty()) return NDArray();  // an empty input: forward had nothing to sort
  return keep_connected(take_along_grad(g.out_grad(0), g.state[0], a, g.in_shapes[0]), g.inputs[0]);
}

// ---- sort(x; axis, is_ascend) and argsort(x; axis, is_ascend, dtype) ----

struct SortOptions {
  int64_t axis = -1;
  bool is_ascend = true;
  NDGRAD_FIELDS(v("axis", axis), v("is_ascend", is_ascend))
};
struct ArgsortOptions : SortOptions {
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(SortOptions::fields(v), v("dtype", dtype))
};

void sort_infer(OpCall& c) {
  sort_axis(c.name(), c.opts<SortOptions>().axis, c.inputs[0].shape);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
  keep_positions(c, c.inputs[0].shape);
}
void sort_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  int a = sort_axis(c.name(), c.opts<SortOptions>().axis, x.shape);
  NDArray idx = sorted_positions(x, a, x.shape[a], c.opts<SortOptions>().is_ascend);
  gather_along(x, positions_of(idx), a, c.outputs[0]);
  copy_into(idx, c.state[0]);
}
void sort_backward(GradCall& g) {
  if (!g.need[0]) return;
  g.in_grads[0] = values_grad(g, sort_axis(g.name(), g.opts<SortOptions>().axis, g.in_shapes[0]));
}

void argsort_infer(OpCall& c) {
  const ArgsortOptions& o = c.opts<ArgsortOptions>();
  int a = sort_axis(c.name(), o.axis, c.inputs[0].shape);
  check_index_dtype(c.name(), o.dtype, c.inputs[0], c.inputs[0].shape[a]);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {o.dtype};
}
void argsort_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  const ArgsortOptions& o = c.opts<ArgsortOptions>();
  int a = sort_axis(c.name(), o.axis, x.shape);
  write_indices(sorted_positions(x, a, x.shape[a], o.is_ascend), c.outputs[0]);
}

// ---- topk(x; axis, k, ret_typ, is_ascend, dtype) ----

struct TopkOptions {
  int64_t axis = -1;
  int64_t k = 1;  // below 1: every entry (MXNet's global sort)
  std::string ret_typ = "indices";
  bool is_ascend = false;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("axis", axis), v("k", k), v("ret_typ", ret_typ), v("is_ascend", is_ascend), v("dtype", dtype))
};

int64_t topk_k(const char* op, const TopkOptions& o, int64_t n) {
  if (o.k > n) fail(code::OUT_OF_RANGE, op, ": k = ", o.k, " is larger than the axis size ", n);
  return o.k < 1 ? n : o.k;
}

void topk_infer(OpCall& c) {
  const NDArray& x = c.inputs[0];
  const TopkOptions& o = c.opts<TopkOptions>();
  const std::string& rt = o.ret_typ;
  if (rt != "value" && rt != "indices" && rt != "mask" && rt != "both")
    fail(code::BAD_ARGUMENT, c.name(), ": retTyp must be 'value', 'indices', 'mask' or 'both', got '", rt, "'");
  int a = sort_axis(c.name(), o.axis, x.shape);
  int64_t k = topk_k(c.name(), o, x.shape[a]);
  Shape ks = with_axis(x.shape, a, k);
  if (rt != "value" && rt != "mask") check_index_dtype(c.name(), o.dtype, x, x.shape[a]);
  if (rt == "value") c.out_shapes = {ks}, c.out_dtypes = {x.dtype};
  else if (rt == "indices") c.out_shapes = {ks}, c.out_dtypes = {o.dtype};
  else if (rt == "mask") c.out_shapes = {x.shape}, c.out_dtypes = {x.dtype};
  else c.out_shapes = {ks, ks}, c.out_dtypes = {x.dtype, o.dtype};
  if (rt == "value" || rt == "both") keep_positions(c, ks);
}
void topk_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  const TopkOptions& o = c.opts<TopkOptions>();
  int a = sort_axis(c.name(), o.axis, x.shape);
  NDArray idx = sorted_positions(x, a, topk_k(c.name(), o, x.shape[a]), o.is_ascend);
  const std::string& rt = o.ret_typ;
  if (rt == "indices") return write_indices(idx, c.outputs[0]);
  if (rt == "mask") {
    std::vector<int64_t> pos = positions_of(idx);
    int64_t outer, inner, n = x.shape[a], k = idx.shape[a];
    outer_inner(x.shape, a, &outer, &inner);
    fill(c.outputs[0], 0.0);
    for (int64_t o2 = 0; o2 < outer; ++o2)
      for (int64_t j = 0; j < k; ++j)
        for (int64_t i = 0; i < inner; ++i)
          write_scalar(c.outputs[0], (o2 * n + pos[(o2 * k + j) * inner + i]) * inner + i, 1.0);
    return;
  }
  gather_along(x, positions_of(idx), a, c.outputs[0]);
  if (rt == "both") write_indices(idx, c.outputs[1]);
  copy_into(idx, c.state[0]);
}
// Only the values carry a gradient; indices and the mask are constants (zero gradient).
void topk_backward(GradCall& g) {
  const TopkOptions& o = g.opts<TopkOptions>();
  if (!g.need[0] || g.state.empty() || (o.ret_typ != "value" && o.ret_typ != "both")) return;
  g.in_grads[0] = values_grad(g, sort_axis(g.name(), o.axis, g.in_shapes[0]));
}

// ---- _take_along_axis(x, idx; axis) and its adjoint _take_along_axis_grad(dy, idx; axis, in_shape) ----

struct TakeAlongOptions {
  int64_t axis = -1;
  NDGRAD_FIELDS(v("axis", axis))
};
struct TakeAlongGradOptions : TakeAlongOptions {
  Ints in_shape;
  NDGRAD_FIELDS(TakeAlongOptions::fields(v), v("in_shape", in_shape, kArgument))
};

// idx must have `full`'s shape but for axis a; its values index that axis.
void check_along(const char* op, const Shape& full, int a, const NDArray& idx) {
  if (idx.ndim() != full.size() || with_axis(idx.shape, a, full[a]) != full)
    fail(code::SHAPE_MISMATCH, op, ": indices ", shape_str(idx.shape), " must have the shape of ", shape_str(full),
         " except along axis ", a);
  read_positions(op, idx, full[a]);
}

void take_along_infer(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = sort_axis(c.name(), c.opts<TakeAlongOptions>().axis, x.shape);
  check_along(c.name(), x.shape, a, idx);
  c.out_shapes = {idx.shape};
  c.out_dtypes = {x.dtype};
}
void take_along_forward(OpCall& c) {
  const NDArray &x = c.inputs[0], &idx = c.inputs[1];
  int a = sort_axis(c.name(), c.opts<TakeAlongOptions>().axis, x.shape);
  gather_along(x, read_positions(c.name(), idx, x.shape[a]), a, c.outputs[0]);
}
void take_along_backward(GradCall& g) {
  if (!g.need[0]) return;
  int a = sort_axis(g.name(), g.opts<TakeAlongOptions>().axis, g.in_shapes[0]);
  g.in_grads[0] = take_along_grad(g.out_grad(0), g.inputs[1], a, g.in_shapes[0]);
}

void take_along_grad_infer(OpCall& c) {
  const NDArray &dy = c.inputs[0], &idx = c.inputs[1];
  Shape in(c.opts<TakeAlongGradOptions>().in_shape);
  int a = sort_axis(c.name(), c.opts<TakeAlongGradOptions>().axis, in);
  expect_float(c, 0);
  if (dy.shape != idx.shape)
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(dy.shape), " does not match indices ",
         shape_str(idx.shape));
  check_along(c.name(), in, a, idx);
  c.out_shapes = {in};
  c.out_dtypes = {dy.dtype};
}
void take_along_grad_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  int a = sort_axis(c.name(), c.opts<TakeAlongGradOptions>().axis, y.shape);
  scatter_add_along(c.inputs[0], read_positions(c.name(), c.inputs[1], y.shape[a]), a, y);
}
void take_along_grad_backward(GradCall& g) {
  if (!g.need[0]) return;
  int a = sort_axis(g.name(), g.opts<TakeAlongGradOptions>().axis, g.out_shapes[0]);
  g.in_grads[0] = take_along(g.out_grad(0), g.inputs[1], a);
}

const OpDef kSort = OpDef::named("sort").rules(sort_infer, sort_forward, sort_backward).saves(1)
                        .with_options<SortOptions>();
const OpDef kArgsort = OpDef::named("argsort").rules(argsort_infer, argsort_forward).with_flags(kNoGrad)
                           .with_options<ArgsortOptions>();
const OpDef kTopk = OpDef::named("topk").rules(topk_infer, topk_forward, topk_backward).saves(1)
                        .with_options<TopkOptions>();
const OpDef kTakeAlong = OpDef::named("_take_along_axis").arity(2).saves(2)
                             .rules(take_along_infer, take_along_forward, take_along_backward)
                             .with_options<TakeAlongOptions>();
const OpDef kTakeAlongGrad = OpDef::named("_take_along_axis_grad").arity(2).saves(2)
                                 .rules(take_along_grad_infer, take_along_grad_forward, take_along_grad_backward)
                                 .with_options<TakeAlongGradOptions>();
OpRegistrar r1(kSort), r2(kArgsort), r3(kTopk), r4(kTakeAlong), r5(kTakeAlongGrad);

NDArray take_along(const NDArray& x, const NDArray& idx, int axis) {
  TakeAlongOptions o;
  o.axis = axis;
  return invoke1(kTakeAlong, {&x, &idx}, o);
}
NDArray take_along_grad(const NDArray& dy, const NDArray& idx, int axis, const Shape& in_shape) {
  TakeAlongGradOptions o;
  o.axis = axis;
  o.in_shape = in_shape.vec();
  return invoke1(kTakeAlongGrad, {&dy, &idx}, std::move(o));
}

}  // namespace
}  // namespace ops
}  // namespace ndgrad
