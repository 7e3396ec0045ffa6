// BatchNorm (batch statistics + in-place running-statistics update while training; running
// statistics as constants in predict mode or with use_global_stats; fix_gamma; any axis) and
// LayerNorm (one axis). Forward is a fused pass; backward is written with ops that recompute the
// statistics from x, so second and higher orders are exact.
#include <cmath>

#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// x as (outer, C, inner) around `axis`.
struct Dims {
  int axis;
  int64_t outer, C, inner;
};
struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.9;
  bool fix_gamma = false;
  bool use_global_stats = false;
  int64_t axis = 1;
  NDGRAD_FIELDS(v("eps", eps), v("momentum", momentum), v("fix_gamma", fix_gamma),
                v("use_global_stats", use_global_stats), v("axis", axis))
};
struct LayerNormOptions {
  int64_t axis = -1;
  double eps = 1e-5;
  NDGRAD_FIELDS(v("axis", axis), v("eps", eps))
};

Dims dims_of(const char* op, int64_t axis, const Shape& s) {
  if (s.empty()) fail(code::BAD_AXIS, op, ": data must have at least one axis, got a 0-d array");
  Dims d;
  d.axis = normalize_axis(axis, s.size(), op, s);
  d.outer = 1;
  d.inner = 1;
  for (int i = 0; i < d.axis; ++i) d.outer = mul_dims(d.outer, s[i]);
  for (size_t i = d.axis + 1; i < s.size(); ++i) d.inner = mul_dims(d.inner, s[i]);
  d.C = s[d.axis];
  return d;
}

void check_params(const OpCall& c, size_t first, size_t count, int64_t C, const char* const* names) {
  for (size_t i = first; i < first + count; ++i)
    if (c.inputs[i].shape != Shape{C})
      fail(code::SHAPE_MISMATCH, c.name(), ": ", names[i - first], " ", shape_str(c.inputs[i].shape), " must have shape (",
           C, ") for data ", shape_str(c.inputs[0].shape));
}

std::vector<int64_t> axes_except(size_t nd, int axis) {
  std::vector<int64_t> r;
  for (size_t i = 0; i < nd; ++i)
    if (static_cast<int>(i) != axis) r.push_back(static_cast<int64_t>(i));
  return r;
}
Shape param_shape(size_t nd, int axis, int64_t C) {
  Shape s(nd, 1);
  s[axis] = C;
  return s;
}
double eps_of(const char* op, double eps) {
  if (!(eps >= 0)) fail(code::BAD_ARGUMENT, op, ": eps must be non-negative, got ", eps);
  return eps;
}

// mean over `red` (keepdims) written with ops.
NDArray mean_k(const NDArray& x, const std::vector<int64_t>& red, int64_t count) {
  return scalar_op("divide", sum(x, red, true), static_cast<double>(std::max<int64_t>(count, 1)));
}

// Gradient of y = xhat * gb (+ beta) w.r.t. x when xhat = (x - mean) / sqrt(var + eps) over `red`:
// dx = invstd * (dxh - mean(dxh) - xhat * mean(dxh * xhat)), dxh = dy * gb. Also returns xhat.
NDArray norm_dx(const NDArray& x, const NDArray& dy, const NDArray& gb, const std::vector<int64_t>& red, int64_t count,
                double eps, NDArray* xhat_out) {
  if (x.size() == 0) {  // empty x: empty dx and xhat, without statistics as large as the other axes
    *xhat_out = x;
    return dy;
  }
  NDArray mu = mean_k(x, red, count);
  NDArray xc = sub(x, mu);
  NDArray var = mean_k(unary("square", xc), red, count);
  NDArray invstd = unary("rsqrt", scalar_op("add", var, eps));
  NDArray xhat = mul(xc, invstd);
  *xhat_out = xhat;
  NDArray dxh = gb.defined() ? mul(dy, gb) : dy;
  NDArray t = sub(sub(dxh, mean_k(dxh, red, count)), mul(xhat, mean_k(mul(dxh, xhat), red, count)));
  return mul(invstd, t);
}

// ---- BatchNorm(x, gamma, beta, moving_mean, moving_var) ----

const char* const kBnNames[] = {"gamma", "beta", "movingMean", "movingVar"};

void bn_infer(OpCall& c) {
  const char* op = c.name();
  expect_float(c, 0);
  expect_same_dtype(c);
  const BatchNormOptions& o = c.opts<BatchNormOptions>();
  Dims d = dims_of(op, o.axis, c.inputs[0].shape);
  check_params(c, 1, 4, d.C, kBnNames);
  eps_of(op, o.eps);
  double m = o.momentum;
  if (!(m >= 0 && m <= 1)) fail(code::BAD_ARGUMENT, op, ": momentum must be in [0, 1], got ", m);
  // Training on a batch with no values per channel would pull the running statistics toward the
  // empty batch's 0 mean and 0 variance: refused, as PyTorch does.
  if (c.training && !o.use_global_stats && d.C > 0 && mul_dims(d.outer, d.inner) == 0)
    fail(code::BAD_ARGUMENT, op, ": training needs at least one value per channel, got data ",
         shape_str(c.inputs[0].shape), " (axis ", d.axis, "); use predict mode for an empty batch");
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
  if (c.training && !o.use_global_stats) {
    c.written = {3, 4};  // forward updates the running statistics
  } else {  // constants for backward (copies: the running arrays may change later)
    c.state_shapes = {c.inputs[3].shape, c.inputs[4].shape};
    c.state_dtypes = {c.inputs[3].dtype, c.inputs[4].dtype};
  }
}

template <class T>
void bn_run(OpCall& c, const Dims& d, bool batch_stats) {
  const BatchNormOptions& o = c.opts<BatchNormOptions>();
  double eps = o.eps, mom = o.momentum;
  bool fix = o.fix_gamma;
  const T* x = c.inputs[0].data<T>();
  const T *gamma = c.inputs[1].data<T>(), *beta = c.inputs[2].data<T>();
  T *mm = c.inputs[3].data<T>(), *mv = c.inputs[4].data<T>();
  T* y = c.outputs[0].data<T>();
  int64_t cnt = mul_dims(d.outer, d.inner);
  for (int64_t ch = 0; ch < d.C; ++ch) {
    double mean, var;
    if (batch_stats) {
      double s = 0;
      for (int64_t o = 0; o < d.outer; ++o)
        for (int64_t i = 0; i < d.inner; ++i) s += static_cast<double>(x[(o * d.C + ch) * d.inner + i]);
      mean = cnt ? s / static_cast<double>(cnt) : 0.0;
      double v = 0;
      for (int64_t o = 0; o < d.outer; ++o)
        for (int64_t i = 0; i < d.inner; ++i) {
          double t = static_cast<double>(x[(o * d.C + ch) * d.inner + i]) - mean;
          v += t * t;
        }
      var = cnt ? v / static_cast<double>(cnt) : 0.0;
    } else {
      mean = static_cast<double>(mm[ch]);
      var = static_cast<double>(mv[ch]);
    }
    double inv = 1.0 / std::sqrt(var + eps);
    double gm = fix ? 1.0 : static_cast<double>(gamma[ch]), bt = static_cast<double>(beta[ch]);
    for (int64_t o = 0; o < d.outer; ++o)
      for (int64_t i = 0; i < d.inner; ++i) {
        int64_t k = (o * d.C + ch) * d.inner + i;
        y[k] = static_cast<T>((static_cast<double>(x[k]) - mean) * inv * gm + bt);
      }
    if (batch_stats) {  // MXNet: running = running * momentum + batch * (1 - momentum), biased variance
      mm[ch] = static_cast<T>(static_cast<double>(mm[ch]) * mom + mean * (1 - mom));
      mv[ch] = static_cast<T>(static_cast<double>(mv[ch]) * mom + var * (1 - mom));
    }
  }
}

void bn_forward(OpCall& c) {
  const NDArray& x = c.inputs[0];
  const BatchNormOptions& o = c.opts<BatchNormOptions>();
  Dims d = dims_of(c.name(), o.axis, x.shape);
  bool batch_stats = c.training && !o.use_global_stats;
  if (!batch_stats) {
    copy_into(c.inputs[3], c.state[0]);
    copy_into(c.inputs[4], c.state[1]);
  }
  NDGRAD_DISPATCH_FLOAT(x.dtype, T, bn_run<T>(c, d, batch_stats));
}

void bn_backward(GradCall& g) {
  const char* op = g.name();
  const Shape& s = g.in_shapes[0];
  const BatchNormOptions& o = g.opts<BatchNormOptions>();
  Dims d = dims_of(op, o.axis, s);
  double eps = o.eps;
  bool fix = o.fix_gamma;
  std::vector<int64_t> red = axes_except(s.size(), d.axis);
  Shape ps = param_shape(s.size(), d.axis, d.C);
  const NDArray& x = g.inputs[0];
  NDArray dy = g.out_grad(0);
  NDArray gb = fix ? NDArray() : reshape(g.inputs[1], ps);
  NDArray xhat;
  if (g.state.empty()) {  // batch statistics
    NDArray dx = norm_dx(x, dy, gb, red, mul_dims(d.outer, d.inner), eps, &xhat);
    if (g.need[0]) g.in_grads[0] = dx;
  } else {  // running statistics: constants
    NDArray mu = reshape(g.state[0], ps);
    NDArray invstd = unary("rsqrt", scalar_op("add", reshape(g.state[1], ps), eps));
    xhat = mul(sub(x, mu), invstd);
    if (g.need[0]) g.in_grads[0] = gb.defined() ? mul(dy, mul(gb, invstd)) : mul(dy, invstd);
  }
  if (g.need[1]) {
    if (fix) g.in_grads[1] = zeros(Shape{d.C}, g.in_dtypes[1]);  // MXNet: gamma gets no gradient
    else g.in_grads[1] = sum(mul(dy, xhat), red, false);
  }
  if (g.need[2]) g.in_grads[2] = sum(dy, red, false);
  // moving_mean / moving_var: no gradient (MXNet).
}

// ---- LayerNorm(x, gamma, beta; axis = -1, eps) ----

const char* const kLnNames[] = {"gamma", "beta"};

void ln_infer(OpCall& c) {
  expect_float(c, 0);
  expect_same_dtype(c);
  Dims d = dims_of(c.name(), c.opts<LayerNormOptions>().axis, c.inputs[0].shape);
  check_params(c, 1, 2, d.C, kLnNames);
  eps_of(c.name(), c.opts<LayerNormOptions>().eps);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}

template <class T>
void ln_run(OpCall& c, const Dims& d, double eps) {
  const T* x = c.inputs[0].data<T>();
  const T *gamma = c.inputs[1].data<T>(), *beta = c.inputs[2].data<T>();
  T* y = c.outputs[0].data<T>();
  for (int64_t o = 0; o < d.outer; ++o)
    for (int64_t i = 0; i < d.inner; ++i) {
      const T* xr = x + o * d.C * d.inner + i;
      T* yr = y + o * d.C * d.inner + i;
      double s = 0, v = 0;
      for (int64_t ch = 0; ch < d.C; ++ch) s += static_cast<double>(xr[ch * d.inner]);
      double mean = d.C ? s / static_cast<double>(d.C) : 0.0;
      for (int64_t ch = 0; ch < d.C; ++ch) {
        double t = static_cast<double>(xr[ch * d.inner]) - mean;
        v += t * t;
      }
      double inv = 1.0 / std::sqrt((d.C ? v / static_cast<double>(d.C) : 0.0) + eps);
      for (int64_t ch = 0; ch < d.C; ++ch)
        yr[ch * d.inner] = static_cast<T>((static_cast<double>(xr[ch * d.inner]) - mean) * inv *
                                              static_cast<double>(gamma[ch]) + static_cast<double>(beta[ch]));
    }
}

void ln_forward(OpCall& c) {
  Dims d = dims_of(c.name(), c.opts<LayerNormOptions>().axis, c.inputs[0].shape);
  double eps = c.opts<LayerNormOptions>().eps;
  NDGRAD_DISPATCH_FLOAT(c.inputs[0].dtype, T, ln_run<T>(c, d, eps));
}

void ln_backward(GradCall& g) {
  const Shape& s = g.in_shapes[0];
  Dims d = dims_of(g.name(), g.opts<LayerNormOptions>().axis, s);
  double eps = g.opts<LayerNormOptions>().eps;
  std::vector<int64_t> red = {d.axis}, others = axes_except(s.size(), d.axis);
  Shape ps = param_shape(s.size(), d.axis, d.C);
  NDArray dy = g.out_grad(0);
  NDArray xhat;
  NDArray dx = norm_dx(g.inputs[0], dy, reshape(g.inputs[1], ps), red, d.C, eps, &xhat);
  if (g.need[0]) g.in_grads[0] = dx;
  if (g.need[1]) g.in_grads[1] = sum(mul(dy, xhat), others, false);
  if (g.need[2]) g.in_grads[2] = sum(dy, others, false);
}

const OpDef kBatchNorm = OpDef::named("BatchNorm").alias("batchNorm").arity(5).rules(bn_infer, bn_forward, bn_backward)
                             .saves(3).with_options<BatchNormOptions>();
const OpDef kLayerNorm = OpDef::named("LayerNorm").alias("layerNorm").arity(3).rules(ln_infer, ln_forward, ln_backward)
                             .saves(3).with_options<LayerNormOptions>();
OpRegistrar r1(kBatchNorm), r2(kLayerNorm);

}  // namespace
}  // namespace ops
}  // namespace ndgrad
