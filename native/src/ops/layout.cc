// Layout ops (data copied into a new arrangement): swapaxes, tile, repeat, flip, stack, concat, split, slice, slice_axis, and the internal pair
// _strided_slice / _slice_scatter (each the other's gradient, so slicing has every order).
#include <algorithm>
#include <cstring>

#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

namespace k = kernels;

// y (contiguous, `shape`) = x viewed from element `offset` with `strides` (any sign).
void gather(const NDArray& x, int64_t offset, const Shape& shape, const Shape& strides, const NDArray& y) {
  if (numel(shape) == 0) return;
  const char* base = static_cast<const char*>(x.raw()) + offset * static_cast<int64_t>(dtype_size(x.dtype));
  k::strided_copy(static_cast<int>(x.dtype), static_cast<int>(shape.size()), shape.data(), base, strides.data(),
                  y.raw());
}

// dst viewed from `offset` with `strides` (shape `shape`) = src (contiguous). O(n) odometer walk.
void scatter(const NDArray& src, const NDArray& dst, int64_t offset, const Shape& shape, const Shape& strides) {
  int64_t n = numel(shape);
  if (n == 0) return;
  size_t es = dtype_size(dst.dtype);
  const char* s = static_cast<const char*>(src.raw());
  char* d = static_cast<char*>(dst.raw()) + offset * static_cast<int64_t>(es);
  size_t nd = shape.size();
  if (nd == 0) {
    std::memcpy(d, s, es);
    return;
  }
  int64_t inner = shape[nd - 1], st = strides[nd - 1];
  std::vector<int64_t> idx(nd, 0);
  int64_t rows = n / inner;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = 0;
    for (size_t i = 0; i + 1 < nd; ++i) off += idx[i] * strides[i];
    char* dr = d + off * static_cast<int64_t>(es);
    const char* sr = s + r * inner * static_cast<int64_t>(es);
    if (st == 1) std::memcpy(dr, sr, inner * es);
    else
      for (int64_t j = 0; j < inner; ++j) std::memcpy(dr + j * st * static_cast<int64_t>(es), sr + j * es, es);
    for (size_t i = nd - 1; i-- > 0;) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

// reshape for gradients: ops::reshape reads 0 as MXNet's "copy this axis" code, so a target shape
// with a zero-size axis cannot go through it; an empty gradient is plain zeros.
NDArray reshape_grad(const NDArray& g, const Shape& s) {
  if (numel(s) == 0 || g.size() == 0) return zeros(s, g.dtype);
  return reshape(g, s);
}

// ---- slicing: a normalised spec (start, step, len) per axis ----

// slice: begin, end, step (lists up to ndim); begin_none / end_none (0/1 lists) mark null entries.
struct SliceOptions {
  Maybe<Ints> begin, end;
  Ints step, begin_none, end_none;
  NDGRAD_FIELDS(v("begin", begin, kArgument), v("end", end, kArgument), v("step", step, kArgument),
                v("begin_none", begin_none, kArgument), v("end_none", end_none, kArgument))
};
// slice_axis: end absent (null) is the whole axis.
struct SliceAxisOptions {
  int64_t axis = 0, begin = 0;
  Maybe<int64_t> end;
  NDGRAD_FIELDS(v("axis", axis, kArgument), v("begin", begin, kArgument), v("end", end, kArgument))
};
// _strided_slice: a normalised spec, one entry per axis; _slice_scatter adds the input's shape.
struct SpecOptions {
  Ints starts, steps, lens;
  NDGRAD_FIELDS(v("starts", starts, kArgument), v("steps", steps, kArgument), v("lens", lens, kArgument))
};
struct ScatterOptions : SpecOptions {
  Ints in_shape;
  NDGRAD_FIELDS(v("in_shape", in_shape, kArgument), SpecOptions::fields(v))
};

struct Spec {
  std::vector<int64_t> start, step, len;
};

int64_t spec_offset(const Spec& s, const Shape& in) {
  Shape cs = contiguous_strides(in);
  int64_t off = 0;
  for (size_t i = 0; i < in.size(); ++i)
    if (s.len[i] > 0) off += s.start[i] * cs[i];
  return off;
}
Shape spec_strides(const Spec& s, const Shape& in) {
  Shape cs = contiguous_strides(in), r;
  for (size_t i = 0; i < in.size(); ++i) r.push_back(s.step[i] * cs[i]);
  return r;
}
Shape spec_shape(const Spec& s) { return Shape(s.len); }

// Python's slice.indices(): clamps begin/end into range; `has_b`/`has_e` false = whole axis.
void adjust(int64_t n, bool has_b, int64_t b, bool has_e, int64_t e, int64_t step, int64_t* start, int64_t* len) {
  if (step > 0) {
    if (!has_b) b = 0;
    else if (b < 0) b = std::max<int64_t>(b + n, 0);
    else b = std::min(b, n);
    if (!has_e) e = n;
    else if (e < 0) e = std::max<int64_t>(e + n, 0);
    else e = std::min(e, n);
    *len = e > b ? (e - b - 1) / step + 1 : 0;
  } else {
    if (!has_b) b = n - 1;
    else if (b < 0) b = std::max<int64_t>(b + n, -1);
    else b = std::min(b, n - 1);
    if (!has_e) e = -1;
    else if (e < 0) e = std::max<int64_t>(e + n, -1);
    else e = std::min(e, n - 1);
    *len = b > e ? (b - e - 1) / (-step) + 1 : 0;
  }
  *start = *len > 0 ? b : 0;
}

Spec slice_spec(const char* op, const SliceOptions& o, const Shape& s) {
  if (!o.begin || !o.end) fail(code::BAD_ARGUMENT, op, ": needs begin and end");
  const Ints &b = *o.begin, &e = *o.end, &st = o.step, &bn = o.begin_none, &en = o.end_none;
  if (b.size() != e.size() || (!st.empty() && st.size() != b.size()))
    fail(code::BAD_ARGUMENT, op, ": begin (", b.size(), " entries), end (", e.size(), ") and step (", st.size(),
         ") must have the same length");
  if (b.size() > s.size())
    fail(code::BAD_ARGUMENT, op, ": begin has ", b.size(), " entries but the input ", shape_str(s), " has ", s.size(),
         " dims");
  if (s.empty()) fail(code::BAD_ARGUMENT, op, ": cannot slice a 0-d array");
  Spec r;
  for (size_t i = 0; i < s.size(); ++i) {
    int64_t step = (i < st.size()) ? st[i] : 1;
    if (step == 0) fail(code::BAD_ARGUMENT, op, ": step cannot be 0 (axis ", i, ", input ", shape_str(s), ")");
    bool has_b = i < b.size() && !(i < bn.size() && bn[i]);
    bool has_e = i < e.size() && !(i < en.size() && en[i]);
    int64_t start, len;
    adjust(s[i], has_b, has_b ? b[i] : 0, has_e, has_e ? e[i] : 0, step, &start, &len);
    r.start.push_back(start);
    r.step.push_back(step);
    r.len.push_back(len);
  }
  return r;
}

// slice_axis: axis, begin, end (end may be null = whole axis); MXNet's range checks (no clamping).
Spec slice_axis_spec(const char* op, const SliceAxisOptions& o, const Shape& s) {
  if (s.empty()) fail(code::BAD_ARGUMENT, op, ": cannot slice a 0-d array");
  int a = normalize_axis(o.axis, s.size(), op, s);
  int64_t n = s[a];
  int64_t b = o.begin;
  int64_t e = o.end.value_or(n);
  int64_t b0 = b, e0 = e;
  if (b < 0) b += n;
  if (e < 0) e += n;
  if (b < 0 || b > n || e < 0 || e > n || b > e)
    fail(code::OUT_OF_RANGE, op, ": range [", b0, ", ", e0, ") is invalid for axis ", a, " of size ", n, " (input ",
         shape_str(s), ")");
  Spec r;
  for (size_t i = 0; i < s.size(); ++i) {
    bool on = static_cast<int>(i) == a;
    r.start.push_back(on ? b : 0);
    r.step.push_back(1);
    r.len.push_back(on ? e - b : s[i]);
  }
  return r;
}

Spec norm_spec(const SpecOptions& o, const char* op, size_t ndim) {
  Spec r;
  r.start = o.starts;
  r.step = o.steps;
  r.len = o.lens;
  if (r.start.size() != ndim || r.step.size() != ndim || r.len.size() != ndim)
    fail(code::BAD_ARGUMENT, op, ": starts/steps/lens must have one entry per axis");
  return r;
}

void check_spec_fits(const char* op, const Spec& sp, const Shape& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (sp.len[i] < 0 || sp.step[i] == 0) fail(code::BAD_ARGUMENT, op, ": bad slice spec at axis ", i);
    if (sp.len[i] == 0) continue;
    int64_t last = sp.start[i] + (sp.len[i] - 1) * sp.step[i];
    if (sp.start[i] < 0 || sp.start[i] >= s[i] || last < 0 || last >= s[i])
      fail(code::OUT_OF_RANGE, op, ": slice out of range at axis ", i, " of ", shape_str(s));
  }
}

// The spec of any of the three slicing ops (a call's or a gradient's), on input shape `s`.
template <class C>
Spec spec_of(const C& c, const Shape& s) {
  switch (c.op->param) {
    case 0: return slice_spec(c.name(), c.template opts<SliceOptions>(), s);
    case 1: return slice_axis_spec(c.name(), c.template opts<SliceAxisOptions>(), s);
    default: {
      Spec sp = norm_spec(c.template opts<SpecOptions>(), c.name(), s.size());
      check_spec_fits(c.name(), sp, s);
      return sp;
    }
  }
}

void slice_infer(OpCall& c) {
  Spec sp = spec_of(c, c.inputs[0].shape);
  c.out_shapes = {spec_shape(sp)};
  c.out_dtypes = {c.inputs[0].dtype};
}
void slice_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  Spec sp = spec_of(c, x.shape);
  gather(x, spec_offset(sp, x.shape), spec_shape(sp), spec_strides(sp, x.shape), c.outputs[0]);
}
void slice_backward(GradCall& g) {
  Spec sp = spec_of(g, g.in_shapes[0]);
  g.in_grads[0] = slice_scatter(g.out_grad(0), g.in_shapes[0], sp.start, sp.step, sp.len);
}

// _slice_scatter(dy): x's shape + normalised spec.
void scatter_infer(OpCall& c) {
  Shape in(c.opts<ScatterOptions>().in_shape);
  Spec sp = norm_spec(c.opts<ScatterOptions>(), c.name(), in.size());
  check_spec_fits(c.name(), sp, in);
  if (spec_shape(sp) != c.inputs[0].shape)
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(c.inputs[0].shape), " does not match slice ",
         shape_str(spec_shape(sp)));
  c.out_shapes = {in};
  c.out_dtypes = {c.inputs[0].dtype};
}
void scatter_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  Spec sp = norm_spec(c.opts<ScatterOptions>(), c.name(), y.ndim());
  fill(y, 0.0);
  scatter(c.inputs[0], y, spec_offset(sp, y.shape), spec_shape(sp), spec_strides(sp, y.shape));
}
void scatter_backward(GradCall& g) {
  Spec sp = norm_spec(g.opts<ScatterOptions>(), g.name(), g.out_shapes[0].size());
  g.in_grads[0] = strided_slice(g.out_grad(0), sp.start, sp.step, sp.len);
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
  gather(x, 0, c.outputs[0].shape, st, c.outputs[0]);
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
  gather(c.inputs[0], 0, sh, st, c.outputs[0]);
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
  for (int i = 0; i < a; ++i) *outer = mul_dims(*outer, s[i]);
  for (size_t i = a + 1; i < s.size(); ++i) *inner = mul_dims(*inner, s[i]);
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
  gather(c.inputs[0], 0, Shape{o, n, r, i}, Shape{n * i, i, 0, 1}, c.outputs[0]);
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
  gather(x, off, x.shape, st, c.outputs[0]);
}
void flip_backward(GradCall& g) {
  std::vector<int> ax = flip_axes(g.name(), g.opts<FlipOptions>(), g.in_shapes[0]);
  g.in_grads[0] = flip(g.out_grad(0), std::vector<int64_t>(ax.begin(), ax.end()));
}

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

// The three slicing ops share their rules; the row says which options they read.
const OpDef kSlice = OpDef::named("slice").alias("crop").rules(slice_infer, slice_forward, slice_backward)
                         .with_options<SliceOptions>();
const OpDef kSliceAxis = OpDef::named("slice_axis").alias("sliceAxis").rules(slice_infer, slice_forward, slice_backward)
                             .row(1).with_options<SliceAxisOptions>();
const OpDef kStrided = OpDef::named("_strided_slice").rules(slice_infer, slice_forward, slice_backward).row(2)
                           .with_options<SpecOptions>();
const OpDef kScatter = OpDef::named("_slice_scatter").rules(scatter_infer, scatter_forward, scatter_backward)
                           .with_options<ScatterOptions>();
const OpDef kSwap = OpDef::named("swapaxes").alias("SwapAxis swapAxes").rules(swap_infer, swap_forward, swap_backward)
                        .with_options<SwapOptions>();
const OpDef kTile = OpDef::named("tile").rules(tile_infer, tile_forward, tile_backward).with_options<TileOptions>();
const OpDef kRepeat =
    OpDef::named("repeat").rules(repeat_infer, repeat_forward, repeat_backward).with_options<RepeatOptions>();
const OpDef kFlip =
    OpDef::named("flip").alias("reverse").rules(flip_infer, flip_forward, flip_backward).with_options<FlipOptions>();
const OpDef kStack =
    OpDef::named("stack").arity(-1).rules(stack_infer, stack_forward, stack_backward).with_options<StackOptions>();
const OpDef kSplit = OpDef::named("split").alias("SliceChannel").rules(split_infer, split_forward, split_backward)
                         .with_options<SplitOptions>();
const OpDef kSplitSizes = OpDef::named("_split_sizes").rules(split_infer, split_forward, split_backward).row(1)
                              .with_options<SplitSizesOptions>();
const OpDef kConcat = OpDef::named("concat").alias("Concat").arity(-1).rules(concat_infer, concat_forward, concat_backward)
                          .with_options<ConcatOptions>();
OpRegistrar r1(kSlice), r2(kSliceAxis), r3(kStrided), r4(kScatter), r5(kSwap), r6(kTile), r7(kRepeat), r8(kFlip),
    r10(kStack), r_split(kSplit), r_split_sizes(kSplitSizes), r_concat(kConcat);

const OpDef& split_sizes_op() { return kSplitSizes; }

NDArray concat_axis(const std::vector<NDArray>& xs, int64_t axis) {
  if (xs.size() == 1) return xs[0];
  return invoke1(kConcat, xs, ConcatOptions{axis});
}

}  // namespace

NDArray strided_slice(const NDArray& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                      const std::vector<int64_t>& lens) {
  return invoke1(kStrided, {&x}, SpecOptions{starts, steps, lens});
}
NDArray slice_scatter(const NDArray& dy, const Shape& in_shape, const std::vector<int64_t>& starts,
                      const std::vector<int64_t>& steps, const std::vector<int64_t>& lens) {
  ScatterOptions o;
  o.starts = starts;
  o.steps = steps;
  o.lens = lens;
  o.in_shape = in_shape.vec();
  return invoke1(kScatter, {&dy}, std::move(o));
}
NDArray slice_range(const NDArray& x, int axis, int64_t begin, int64_t end) {
  std::vector<int64_t> st(x.ndim(), 0), sp(x.ndim(), 1), ln(x.shape.begin(), x.shape.end());
  st[axis] = end > begin ? begin : 0;
  ln[axis] = end - begin;
  return strided_slice(x, st, sp, ln);
}
NDArray swapaxes(const NDArray& x, int a, int b) { return invoke1(kSwap, {&x}, SwapOptions{a, b}); }
NDArray flip(const NDArray& x, const std::vector<int64_t>& axes) { return invoke1(kFlip, {&x}, FlipOptions{axes}); }

}  // namespace ops
}  // namespace ndgrad
