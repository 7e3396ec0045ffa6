// Neural-network ops used by MXNet's autograd tests: Dropout (train/predict behaviour, mask decided
// at forward) and FullyConnected. Every backward is written with ops, so createGraph records it
// (mixed second order for FullyConnected).
#include <cmath>
#include <cstring>

#include "../autograd/tape.h"
#include "../core/rng.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// ---------------------------------------------------------------------------------------------
// Dropout(x; p = 0.5, axes = []): inverted dropout, active when training and p > 0. The mask
// (0 or 1/(1-p), of x's shape with `axes` set to 1, so it is shared along them) is drawn at forward
// and kept in the call's state; no state means passthrough (decided at forward, as MXNet).

struct DropoutOptions {
  double p = 0.5;
  Ints axes;
  NDGRAD_FIELDS(v("p", p), v("axes", axes))
};

void dropout_infer(OpCall& c) {
  const NDArray& x = c.inputs[0];
  expect_float(c, 0);
  double p = c.opts<DropoutOptions>().p;
  if (!(p >= 0 && p < 1))
    fail(code::BAD_ARGUMENT, "Dropout: p must be in [0, 1), got ", p, " (data ", shape_str(x.shape), ")");
  const Ints& axes = c.opts<DropoutOptions>().axes;
  std::vector<char> seen(x.ndim(), 0);
  for (int64_t a : axes) {
    int n = normalize_axis(a, x.ndim(), c.name(), x.shape);
    if (seen[n]) fail(code::BAD_AXIS, "Dropout: axis ", a, " repeated in axes for data ", shape_str(x.shape));
    seen[n] = 1;
  }
  c.out_shapes = {x.shape};
  c.out_dtypes = {x.dtype};
  if (c.training && p > 0) {  // the mask, shared along `axes`
    Shape ms = x.shape;
    for (int64_t a : axes) ms[normalize_axis(a, x.ndim(), c.name(), x.shape)] = 1;
    c.state_shapes = {ms};
    c.state_dtypes = {x.dtype};
  }
}

void dropout_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  NDArray& y = c.outputs[0];
  double p = c.opts<DropoutOptions>().p;
  if (!c.training || p == 0) {
    copy_into(x, y);
    return;
  }
  const NDArray& mask = c.state[0];
  const Shape& ms = mask.shape;
  int64_t n = mask.size();
  uint64_t key = rng::current_seed(), base = rng::reserve(static_cast<uint64_t>(n));
  double scale = 1.0 / (1.0 - p);
  // keep with probability 1-p: a uniform u in [0,1) is kept when u >= p
  for (int64_t blk = 0; blk * 4 < n; ++blk) {
    uint32_t w[4];
    rng::philox(key, base / 4 + static_cast<uint64_t>(blk), w);
    for (int j = 0; j < 4 && blk * 4 + j < n; ++j) {
      double u = rng::to_unit_double(w[j]);
      write_scalar(mask, blk * 4 + j, u >= p ? scale : 0.0);
    }
  }
  // y = x * mask (broadcast along the shared axes)
  Shape sa = broadcast_strides(x.shape, y.shape), sb = broadcast_strides(ms, y.shape);
  kernels::binary(kernels::kMul, static_cast<int>(y.dtype), static_cast<int>(y.ndim()), y.shape.data(), x.raw(),
                  sa.data(), mask.raw(), sb.data(), y.raw());
}

void dropout_backward(GradCall& g) {
  NDArray dy = g.out_grad(0);
  // The mask is a constant: the result's own derivative w.r.t. x is zero, so it is tied to x
  // (keep_connected) and the next order gives zeros instead of "unreachable".
  NDArray dx = g.state.empty() ? dy : mul(dy, g.state[0]);
  g.in_grads[0] = keep_connected(dx, g.inputs[0]);
}

// ---------------------------------------------------------------------------------------------
// FullyConnected(x, weight[, bias]; num_hidden, no_bias = false, flatten = true):
// y = x2 · weightᵀ + bias with x2 = x as (batch, features) when flatten, else x's last axis.

struct FcDims {
  int64_t m, k, n;
  Shape out;
};

struct FcOptions {
  Maybe<int64_t> num_hidden;  // absent: the weight's
  bool no_bias = false;
  bool flatten = true;
  NDGRAD_FIELDS(v("num_hidden", num_hidden), v("no_bias", no_bias), v("flatten", flatten))
};

FcDims fc_dims(const char* op, const FcOptions& o, const ShapeList& in, bool* no_bias_out) {
  bool no_bias = o.no_bias;
  bool flatten = o.flatten;
  if (in.size() != (no_bias ? 2u : 3u))
    fail(code::BAD_ARGUMENT, op, ": expects ", no_bias ? "2 inputs (data, weight) with noBias" : "3 inputs (data, weight, bias)",
         ", got ", in.size());
  const Shape &x = in[0], &w = in[1];
  if (w.size() != 2)
    fail(code::SHAPE_MISMATCH, op, ": weight must be 2-D (numHidden, inputFeatures), got ", shape_str(w), " for data ",
         shape_str(x));
  if (x.empty()) fail(code::SHAPE_MISMATCH, op, ": data must have at least one dimension, got ", shape_str(x));
  int64_t n = o.num_hidden.value_or(w[0]);
  if (n != w[0])
    fail(code::SHAPE_MISMATCH, op, ": numHidden ", n, " does not match weight ", shape_str(w), " (", w[0], " outputs)");
  FcDims d;
  d.n = n;
  if (flatten) {
    d.m = x[0];
    d.k = 1;
    for (size_t i = 1; i < x.size(); ++i) d.k = mul_dims(d.k, x[i]);  // saturates (empty x only)
    d.out = Shape{x[0], n};
  } else {
    d.k = x.back();
    d.m = 1;
    for (size_t i = 0; i + 1 < x.size(); ++i) d.m = mul_dims(d.m, x[i]);
    d.out = x;
    d.out[x.size() - 1] = n;
  }
  if (w[1] != d.k)
    fail(code::SHAPE_MISMATCH, op, ": weight ", shape_str(w), " expects ", w[1], " input features, got ", d.k,
         " in data ", shape_str(x));
  if (!no_bias && !(in[2].size() == 1 && in[2][0] == n))
    fail(code::SHAPE_MISMATCH, op, ": bias must have shape (", n, "), got ", shape_str(in[2]), " (weight ", shape_str(w),
         ")");
  if (no_bias_out) *no_bias_out = no_bias;
  return d;
}

void fc_infer(OpCall& c) {
  ShapeList in;
  for (auto& a : c.inputs) in.push_back(a.shape);
  FcDims d = fc_dims(c.name(), c.opts<FcOptions>(), in, nullptr);
  expect_same_dtype(c);
  for (size_t i = 0; i < c.inputs.size(); ++i) expect_float(c, i);
  c.out_shapes = {d.out};
  c.out_dtypes = {c.inputs[0].dtype};
}

// _fc_relu (param 1): relu(FullyConnected(...)) as one op (Gluon's Dense with activation 'relu'): the
// ReLU applied while the product is still in cache (relu's own rule, v > 0 ? v : 0), its mask taken
// from the saved output in backward. Saves the relu op's pass over memory and its result array.
constexpr int kFusedRelu = 1;  // OpDef::param of _fc_relu
bool fused_relu(const OpDef& op) { return op.param == kFusedRelu; }

template <class T>
void relu_in_place(T* y, int64_t n) {
  parallel_for(n, 1 << 15, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) y[i] = y[i] > T(0) ? y[i] : T(0);
  });
}

// bfloat16 x, weight and bias: float32 sums from the bfloat16 GEMM (the bias widened into them),
// rounded once (after the ReLU: rounding keeps the sign, so the order does not matter). Without the
// ReLU the GEMM rounds them into y itself, part by part while they are in cache.
void fc_forward_bf16(OpCall& c, const FcDims& d, bool no_bias) {
  const bool relu = fused_relu(*c.op);
  NDArray sums = empty(Shape{d.m, d.n}, DType::Float32);
  if (!no_bias)
    for (int64_t i = 0; i < d.m; ++i)
      bf16_to_float_n(static_cast<const uint16_t*>(c.inputs[2].raw()), sums.data<float>() + i * d.n, d.n);
  kernels::gemm_bf16(false, true, d.m, d.n, d.k, static_cast<const uint16_t*>(c.inputs[0].raw()), d.k,
                     static_cast<const uint16_t*>(c.inputs[1].raw()), d.k, sums.data<float>(), d.n, !no_bias,
                     relu ? nullptr : static_cast<uint16_t*>(c.outputs[0].raw()));
  if (relu) {
    relu_in_place(sums.data<float>(), sums.size());
    copy_into(sums, view(c.outputs[0], sums.shape));
  }
}

void fc_forward(OpCall& c) {
  ShapeList in;
  for (auto& a : c.inputs) in.push_back(a.shape);
  bool no_bias = false;
  FcDims d = fc_dims(c.name(), c.opts<FcOptions>(), in, &no_bias);
  NDArray& y = c.outputs[0];
  if (y.dtype == DType::BFloat16) return fc_forward_bf16(c, d, no_bias);
  int t = static_cast<int>(y.dtype);
  if (!no_bias && d.m > 0) {  // y = bias broadcast over rows, then y += x2 · wᵀ
    Shape sb = broadcast_strides(c.inputs[2].shape, Shape{d.m, d.n});
    Shape ys{d.m, d.n};
    kernels::strided_copy(t, 2, ys.data(), c.inputs[2].raw(), sb.data(), y.raw());
  }
  kernels::gemm(t, false, true, d.m, d.n, d.k, c.inputs[0].raw(), d.k, c.inputs[1].raw(), d.k, y.raw(), d.n, !no_bias);
  if (fused_relu(*c.op)) NDGRAD_DISPATCH_FLOAT(y.dtype, T, relu_in_place(y.data<T>(), y.size()));
}

void fc_backward(GradCall& g) {
  bool no_bias = false;
  FcDims d = fc_dims(g.name(), g.opts<FcOptions>(), g.in_shapes, &no_bias);
  NDArray dy = g.out_grad(0);
  if (fused_relu(*g.op)) dy = relu_mask(dy, g.outputs[0]);  // _fc_relu: the gradient of the sums
  dy = reshape(dy, Shape{d.m, d.n});
  if (g.need[0]) g.in_grads[0] = reshape(dot(dy, g.inputs[1], false, false), g.in_shapes[0]);
  if (g.need[1]) g.in_grads[1] = dot(dy, reshape(g.inputs[0], Shape{d.m, d.k}), true, false);
  if (!no_bias && g.need[2]) g.in_grads[2] = sum(dy, {0}, false);
}

const OpDef kDropout = OpDef::named("Dropout").alias("dropout").rules(dropout_infer, dropout_forward, dropout_backward)
                           .saves(1).with_flags(kRandom).with_options<DropoutOptions>();
const OpDef kFullyConnected = OpDef::named("FullyConnected").arity(-1).rules(fc_infer, fc_forward, fc_backward).saves(3)
                                  .with_flags(kScratch | kBF16Native).with_options<FcOptions>();
const OpDef kFcRelu = OpDef::named("_fc_relu").arity(-1).rules(fc_infer, fc_forward, fc_backward).saves(3, 1).row(kFusedRelu)
                          .with_flags(kScratch | kBF16Native).with_options<FcOptions>();
OpRegistrar r_dropout(kDropout), r_fc(kFullyConnected), r_fc_relu(kFcRelu);

}  // namespace
}  // namespace ops
}  // namespace ndgrad
