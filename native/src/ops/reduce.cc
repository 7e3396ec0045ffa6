// Reductions with axis / keepdims: sum, mean, prod, max, min, norm (L2), argmax, argmin.
#include <algorithm>
#include <cmath>

#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

namespace k = kernels;

enum Which { kSum, kMean, kProd, kMax, kMin, kNorm, kArgmax, kArgmin };

struct ReduceOptions {
  Maybe<Ints> axis;  // absent: every axis
  bool keepdims = false;
  NDGRAD_FIELDS(v("axis", axis), v("keepdims", keepdims))
};

// The reduced axes (sorted, unique); all axes when `axis` is absent. Throws BAD_AXIS.
std::vector<int> reduced_axes(const char* op, const ReduceOptions& o, const Shape& shape) {
  std::vector<int> r;
  if (!o.axis) {
    for (size_t i = 0; i < shape.size(); ++i) r.push_back(static_cast<int>(i));
    return r;
  }
  for (int64_t a : *o.axis) r.push_back(normalize_axis(a, shape.size(), op, shape));
  std::sort(r.begin(), r.end());
  for (size_t i = 1; i < r.size(); ++i)
    if (r[i] == r[i - 1]) fail(code::BAD_AXIS, op, ": axis ", r[i], " repeated for shape ", shape_str(shape));
  return r;
}

Shape reduced_shape(const Shape& s, const std::vector<int>& axes, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool red = std::find(axes.begin(), axes.end(), static_cast<int>(i)) != axes.end();
    if (!red) out.push_back(s[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

void reduce_infer(OpCall& c) {
  const NDArray& x = c.inputs[0];
  int which = c.op->param;
  std::vector<int> axes = reduced_axes(c.name(), c.opts<ReduceOptions>(), x.shape);
  bool keepdims = c.opts<ReduceOptions>().keepdims;
  if ((which == kMax || which == kMin || which == kArgmax || which == kArgmin))
    for (int a : axes)
      if (x.shape[a] == 0)
        fail(code::BAD_ARGUMENT, c.name(), ": zero-size axis ", a, " of shape ", shape_str(x.shape),
             " has no identity");
  if ((which == kArgmax || which == kArgmin) && axes.size() > 1 && axes.size() != x.ndim())
    fail(code::BAD_AXIS, c.name(), ": takes one axis (or none), got ", axes.size(), " for shape ", shape_str(x.shape));
  c.out_shapes = {reduced_shape(x.shape, axes, keepdims)};
  DType t = x.dtype;
  if (which == kMean || which == kNorm) t = float_result(t);
  if (which == kArgmax || which == kArgmin) t = DType::Float32;  // MXNet returns indices as float32
  c.out_dtypes = {t};
}

// Reduces axis `a` of x (contiguous) with a kernel, keeping it as size 1.
NDArray reduce_axis(const NDArray& x, int a, int kind) {
  Shape os = x.shape;
  int64_t outer = 1, inner = 1, n = x.shape[a];
  for (int i = 0; i < a; ++i) outer *= x.shape[i];
  for (size_t i = a + 1; i < x.ndim(); ++i) inner *= x.shape[i];
  os[a] = 1;
  NDArray y = empty(os, x.dtype);
  k::reduce(kind, static_cast<int>(x.dtype), x.raw(), outer, n, inner, y.raw());
  return y;
}

void reduce_forward(OpCall& c) {
  int which = c.op->param;
  NDArray x = c.inputs[0].plain();
  std::vector<int> axes = reduced_axes(c.name(), c.opts<ReduceOptions>(), x.shape);
  NDArray& out = c.outputs[0];
  if (which == kArgmax || which == kArgmin) {
    int a = axes.size() == 1 ? axes[0] : -1;
    int64_t outer = 1, inner = 1, n = x.size();
    if (a >= 0) {
      n = x.shape[a];
      for (int i = 0; i < a; ++i) outer *= x.shape[i];
      for (size_t i = a + 1; i < x.ndim(); ++i) inner *= x.shape[i];
    }
    k::arg_reduce(which == kArgmax, static_cast<int>(x.dtype), x.raw(), outer, n, inner,
                  static_cast<int>(out.dtype), out.raw());
    return;
  }
  if (x.size() == 0) {  // over an empty axis: the identity, in O(result) (no intermediate per axis)
    fill(out, which == kProd ? 1.0 : which == kMean ? std::nan("") : 0.0);
    return;
  }
  if (x.dtype != out.dtype) x = astype(x, out.dtype);
  if (which == kNorm) x = unary("square", x);
  int kind = which == kProd ? k::kProd : which == kMax ? k::kMaxR : which == kMin ? k::kMinR : k::kSum;
  NDArray cur = x;
  for (size_t i = axes.size(); i-- > 0;) cur = reduce_axis(cur, axes[i], kind);
  if (axes.empty()) cur = x;
  int64_t count = 1;
  for (int a : axes) count *= x.shape[a];
  if (which == kMean) {
    NDArray t = view(cur, out.shape);
    k::unary(k::kIdentity, static_cast<int>(out.dtype), t.raw(), out.raw(), out.size());
    NDArray s = full(Shape(), out.dtype, 1.0 / static_cast<double>(count));
    Shape zero(out.ndim(), 0), cs = contiguous_strides(out.shape);
    k::binary(k::kMul, static_cast<int>(out.dtype), static_cast<int>(out.ndim()), out.shape.data(), out.raw(),
              cs.data(), s.raw(), zero.data(), out.raw());
    // Mean of an empty axis is NaN, as NumPy.
    if (count == 0) fill(out, std::nan(""));
    return;
  }
  if (which == kNorm) cur = unary("sqrt", cur);
  copy_into(view(cur, out.shape), out);
}

// The gradient g of the reduced result, reshaped with size-1 axes and broadcast back to x's shape.
NDArray expand_back(const GradCall& g, const NDArray& r) {
  const Shape& xs = g.in_shapes[0];
  std::vector<int> axes = reduced_axes(g.name(), g.opts<ReduceOptions>(), xs);
  return broadcast_to(reshape(r, reduced_shape(xs, axes, true)), xs);
}

void reduce_backward(GradCall& g) {
  int which = g.op->param;
  NDArray dy = expand_back(g, g.out_grad(0));
  int64_t count = numel(g.in_shapes[0]) / std::max<int64_t>(1, numel(g.out_shapes[0]));
  switch (which) {
    case kSum: g.in_grads[0] = dy; break;
    case kMean: g.in_grads[0] = scalar_op("divide", dy, static_cast<double>(count)); break;
    case kProd: g.in_grads[0] = mul(dy, div(expand_back(g, g.outputs[0]), g.inputs[0])); break;
    case kMax:
    case kMin: {
      NDArray y = expand_back(g, g.outputs[0]);
      g.in_grads[0] = mul(dy, binary("equal", g.inputs[0], y));
      break;
    }
    case kNorm: g.in_grads[0] = mul(dy, div(g.inputs[0], expand_back(g, g.outputs[0]))); break;
  }
}

constexpr OpDef reduction(const char* name, int which) {
  return OpDef::named(name).of_kind("reduce").rules(reduce_infer, reduce_forward, reduce_backward).row(which)
      .with_options<ReduceOptions>();
}
// prod, max, min and norm read x and y again in backward; argmax/argmin have no gradient.
const OpDef kDefs[] = {
    reduction("sum", kSum),
    reduction("mean", kMean),
    reduction("prod", kProd).saves(1, 1),
    reduction("max", kMax).saves(1, 1),
    reduction("min", kMin).saves(1, 1),
    reduction("norm", kNorm).saves(1, 1),
    reduction("argmax", kArgmax).rules(reduce_infer, reduce_forward).with_flags(kNoGrad),
    reduction("argmin", kArgmin).rules(reduce_infer, reduce_forward).with_flags(kNoGrad),
};
OpRegistrar r0(kDefs[0]), r1(kDefs[1]), r2(kDefs[2]), r3(kDefs[3]), r4(kDefs[4]), r5(kDefs[5]), r6(kDefs[6]),
    r7(kDefs[7]);

}  // namespace

NDArray sum(const NDArray& x, const std::vector<int64_t>& axes, bool keepdims) {
  ReduceOptions o;
  o.axis = axes;
  o.keepdims = keepdims;
  return invoke1(kDefs[kSum], {&x}, std::move(o));
}

NDArray sum_to(const NDArray& g, const Shape& shape) {
  if (g.shape == shape) return g;
  std::vector<int64_t> axes;
  size_t off = g.ndim() - shape.size();
  for (size_t i = 0; i < g.ndim(); ++i)
    if (i < off || (shape[i - off] == 1 && g.shape[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  NDArray s = axes.empty() ? g : sum(g, axes, true);
  return reshape(s, shape);
}

}  // namespace ops
}  // namespace ndgrad
