// Slicing: slice, slice_axis, and the internal pair _strided_slice / _slice_scatter (each the
// other's gradient, so slicing has every order). Every slice is a normalised spec (start, step,
// len) per axis, read by one strided gather.
#include <algorithm>
#include <cstring>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

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
  gather_strided(x, spec_offset(sp, x.shape), spec_shape(sp), spec_strides(sp, x.shape), c.outputs[0]);
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

// The three slicing ops share their rules; the row says which options they read.
const OpDef kSlice = OpDef::named("slice").alias("crop").rules(slice_infer, slice_forward, slice_backward)
                         .with_options<SliceOptions>();
const OpDef kSliceAxis = OpDef::named("slice_axis").alias("sliceAxis").rules(slice_infer, slice_forward, slice_backward)
                             .row(1).with_options<SliceAxisOptions>();
const OpDef kStrided = OpDef::named("_strided_slice").rules(slice_infer, slice_forward, slice_backward).row(2)
                           .with_options<SpecOptions>();
const OpDef kScatter = OpDef::named("_slice_scatter").rules(scatter_infer, scatter_forward, scatter_backward)
                           .with_options<ScatterOptions>();
OpRegistrar r1(kSlice), r2(kSliceAxis), r3(kStrided), r4(kScatter);

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

}  // namespace ops
}  // namespace ndgrad
