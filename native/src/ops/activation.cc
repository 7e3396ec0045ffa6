// Activation (relu, sigmoid, tanh, softrelu, softsign), LeakyReLU (leaky, elu, gelu), clip, and relu's
// gradient mask for the ops with a fused ReLU.
// Forward is one elementwise pass; backward rules are written with ops, so every order works
// (piecewise-constant derivatives give zeros at the next order, staying connected to x).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "../core/bf16.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

enum Act { kRelu, kSigmoid, kTanh, kSoftrelu, kSoftsign, kLeaky, kElu, kGelu };

struct ActivationOptions {
  std::string act_type;
  NDGRAD_FIELDS(v("act_type", act_type))
};
struct LeakyOptions {
  std::string act_type = "leaky";
  double slope = 0.25;
  NDGRAD_FIELDS(v("act_type", act_type), v("slope", slope))
};
struct ClipOptions {
  double a_min = -INFINITY, a_max = INFINITY;
  NDGRAD_FIELDS(v("a_min", a_min, kArgument), v("a_max", a_max, kArgument))
};

// Which function, and LeakyReLU's slope (unused by Activation).
struct ActKind {
  int kind;
  double slope;
};

template <class C>
ActKind act_kind(const C& c) {
  const char* op = c.name();
  if (c.op->param == 0) {
    const std::string& t = c.template opts<ActivationOptions>().act_type;
    if (t == "relu") return {kRelu, 0};
    if (t == "sigmoid") return {kSigmoid, 0};
    if (t == "tanh") return {kTanh, 0};
    if (t == "softrelu") return {kSoftrelu, 0};
    if (t == "softsign") return {kSoftsign, 0};
    fail(code::BAD_ARGUMENT, op, ": actType must be 'relu', 'sigmoid', 'tanh', 'softrelu' or 'softsign', got '", t, "'");
  }
  const LeakyOptions& o = c.template opts<LeakyOptions>();
  const std::string& t = o.act_type;
  if (t == "leaky") return {kLeaky, o.slope};
  if (t == "elu") return {kElu, o.slope};
  if (t == "gelu") return {kGelu, o.slope};
  fail(code::BAD_ARGUMENT, op, ": actType must be 'leaky', 'elu' or 'gelu', got '", t, "'");
}

template <class T>
T act1(int kind, T x, double slope) {
  double v = static_cast<double>(x);
  switch (kind) {
    case kRelu: return x > T(0) ? x : T(0);
    case kSigmoid: return static_cast<T>(1.0 / (1.0 + std::exp(-v)));
    case kTanh: return static_cast<T>(std::tanh(v));
    case kSoftrelu: return static_cast<T>(std::max(v, 0.0) + std::log1p(std::exp(-std::fabs(v))));
    case kSoftsign: return static_cast<T>(v / (1.0 + std::fabs(v)));
    case kLeaky: return static_cast<T>(v > 0 ? v : slope * v);
    case kElu: return static_cast<T>(v > 0 ? v : slope * std::expm1(v));
    case kGelu: return static_cast<T>(0.5 * v * (1.0 + std::erf(v * M_SQRT1_2)));
  }
  return x;
}

void act_infer(OpCall& c) {
  act_kind(c);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {float_result(c.inputs[0].dtype)};
}

void act_forward(OpCall& c) {
  ActKind a = act_kind(c);
  int kind = a.kind;
  double slope = a.slope;
  NDArray& y = c.outputs[0];
  NDArray x = c.inputs[0].dtype == y.dtype ? c.inputs[0] : astype(c.inputs[0].plain(), y.dtype);
  // The functions that are also elementwise ops run those ops' kernels (SIMD, threaded), whose
  // scalar reference is the formula of act1.
  int same = kind == kRelu ? kernels::kRelu : kind == kSigmoid ? kernels::kSigmoid : kind == kTanh ? kernels::kTanh : -1;
  if (same >= 0) {
    kernels::unary(same, static_cast<int>(y.dtype), x.raw(), y.raw(), y.size());
    return;
  }
  NDGRAD_DISPATCH_FLOAT(y.dtype, T, {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    parallel_for(y.size(), 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) py[i] = act1<T>(kind, px[i], slope);
    });
  });
}

NDArray gt0(const NDArray& x) { return scalar_op("greater", x, 0); }

// ---- _activation_grad(dy, y): sigmoid's and tanh's gradient from the output in one pass (three
// elementwise ops before: a tenth of LeNet's step). Same roundings as those ops, in that order. ----

struct ActGradOptions {
  std::string act_type;
  NDGRAD_FIELDS(v("act_type", act_type))
};

bool grad_is_sigmoid(const char* op, const ActGradOptions& o) {
  if (o.act_type != "sigmoid" && o.act_type != "tanh")
    fail(code::BAD_ARGUMENT, op, ": actType must be 'sigmoid' or 'tanh', got '", o.act_type, "'");
  return o.act_type == "sigmoid";
}

void act_grad_infer(OpCall& c) {
  grad_is_sigmoid(c.name(), c.opts<ActGradOptions>());
  expect_same_dtype(c);
  expect_float(c, 0);
  if (c.inputs[0].shape != c.inputs[1].shape)
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(c.inputs[0].shape), " must have the output's shape ",
         shape_str(c.inputs[1].shape));
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}

void act_grad_forward(OpCall& c) {
  const bool sig = grad_is_sigmoid(c.name(), c.opts<ActGradOptions>());
  NDGRAD_DISPATCH_FLOAT(c.outputs[0].dtype, T, {
    const T* d = c.inputs[0].data<T>();
    const T* y = c.inputs[1].data<T>();
    T* o = c.outputs[0].data<T>();
    parallel_for(c.outputs[0].size(), 16384, [&](int64_t b, int64_t e) {
      if (sig)
        for (int64_t i = b; i < e; ++i) o[i] = d[i] * (y[i] * (T(1) - y[i]));
      else
        for (int64_t i = b; i < e; ++i) o[i] = d[i] * (T(1) - y[i] * y[i]);
    });
  });
}

NDArray act_grad(const NDArray& dy, const NDArray& y, const char* act);

// Linear in dy; in y: dy (1 - 2y) for sigmoid, dy (-2y) for tanh.
void act_grad_backward(GradCall& g) {
  const bool sig = grad_is_sigmoid(g.name(), g.opts<ActGradOptions>());
  const NDArray &dy = g.inputs[0], &y = g.inputs[1];
  NDArray gg = g.out_grad(0);
  if (g.need[0]) g.in_grads[0] = act_grad(gg, y, sig ? "sigmoid" : "tanh");
  if (g.need[1])
    g.in_grads[1] = mul(mul(gg, dy), sig ? scalar_op("subtract", scalar_op("multiply", y, 2), 1, true)
                                         : scalar_op("multiply", y, -2));
}

void act_backward(GradCall& g) {
  ActKind a = act_kind(g);
  int kind = a.kind;
  double slope = a.slope;
  const NDArray &x = g.inputs[0], &y = g.outputs[0];
  NDArray dy = g.out_grad(0);
  NDArray d;
  switch (kind) {
    case kRelu: d = mul(dy, gt0(x)); break;
    case kSigmoid: d = act_grad(dy, y, "sigmoid"); break;
    case kTanh: d = act_grad(dy, y, "tanh"); break;
    case kSoftrelu: d = mul(dy, unary("sigmoid", x)); break;
    case kSoftsign: d = div(dy, unary("square", scalar_op("add", unary("abs", x), 1))); break;
    case kLeaky:  // slope + (1 - slope) * (x > 0)
      d = mul(dy, scalar_op("add", scalar_op("multiply", gt0(x), 1 - slope), slope));
      break;
    case kElu: {  // 1 where x > 0, y + slope elsewhere
      NDArray m = gt0(x);
      d = mul(dy, add(m, mul(scalar_op("subtract", m, 1, true), scalar_op("add", y, slope))));
      break;
    }
    case kGelu: {  // Phi(x) + x * phi(x)
      NDArray cdf = scalar_op("multiply", scalar_op("add", unary("erf", scalar_op("multiply", x, M_SQRT1_2)), 1), 0.5);
      NDArray pdf = scalar_op("multiply", unary("exp", scalar_op("multiply", unary("square", x), -0.5)),
                              1.0 / std::sqrt(2 * M_PI));
      d = mul(dy, add(cdf, mul(x, pdf)));
      break;
    }
  }
  g.in_grads[0] = d;
}

// ---- clip(x, a_min, a_max) ----

void clip_infer(OpCall& c) {
  double lo = c.opts<ClipOptions>().a_min, hi = c.opts<ClipOptions>().a_max;
  if (std::isnan(lo) || std::isnan(hi) || lo > hi)
    fail(code::BAD_ARGUMENT, c.name(), ": aMin (", lo, ") must not exceed aMax (", hi, ") for ", shape_str(c.inputs[0].shape));
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}
void clip_forward(OpCall& c) {
  double lo = c.opts<ClipOptions>().a_min, hi = c.opts<ClipOptions>().a_max;
  const NDArray& x = c.inputs[0];
  NDArray& y = c.outputs[0];
  NDGRAD_DISPATCH_DTYPE(x.dtype, T, {
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.size(); ++i) {
      double v = static_cast<double>(px[i]);
      py[i] = std::isnan(v) ? px[i] : v < lo ? nearest_from_double<T>(lo) : v > hi ? nearest_from_double<T>(hi) : px[i];
    }
  });
}
// Gradient passes where a_min <= x <= a_max (PyTorch's clamp, MXNet's clip).
void clip_backward(GradCall& g) {
  double lo = g.opts<ClipOptions>().a_min, hi = g.opts<ClipOptions>().a_max;
  const NDArray& x = g.inputs[0];
  NDArray m = mul(scalar_op("greater_equal", x, lo), scalar_op("lesser_equal", x, hi));
  g.in_grads[0] = mul(g.out_grad(0), m);
}

const OpDef kAct = OpDef::named("Activation").alias("activation").rules(act_infer, act_forward, act_backward)
                       .saves(1, 1).with_options<ActivationOptions>();
const OpDef kLeakyDef = OpDef::named("LeakyReLU").alias("leakyRelu").rules(act_infer, act_forward, act_backward)
                            .saves(1, 1).row(1).with_options<LeakyOptions>();
const OpDef kClip = OpDef::named("clip").rules(clip_infer, clip_forward, clip_backward).saves(1).with_flags(kAliasSafe)
                        .with_options<ClipOptions>();
const OpDef kActGrad = OpDef::named("_activation_grad").arity(2).rules(act_grad_infer, act_grad_forward, act_grad_backward)
                           .saves(3).with_options<ActGradOptions>();
OpRegistrar r1(kAct), r2(kLeakyDef), r3(kClip), r4(kActGrad);

// _relu_mask(dy, y) = dy * (y > 0), relu's gradient rule in one pass over dY (bfloat16 directly: the
// product rounds to itself), the same numbers as the two ops of mul(dy, y > 0): the backward of the
// ops with a fused ReLU (_conv_relu, _fc_relu), which save their output.
void mask_infer(OpCall& c) {
  expect_same_dtype(c);
  expect_float(c, 0);
  if (c.inputs[0].shape != c.inputs[1].shape)
    fail(code::SHAPE_MISMATCH, c.name(), ": gradient ", shape_str(c.inputs[0].shape), " and output ",
         shape_str(c.inputs[1].shape), " differ");
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}

// 1 where v > 0, else 0, made from bits: GCC turns a factor (v > 0 ? 1 : 0) into a branch, which
// mispredicts half the time on the random signs of a layer's outputs (20x slower), and does not
// vectorise.
inline float one_if_positive(float v) {
  uint32_t b = -static_cast<uint32_t>(v > 0.f) & 0x3f800000u;
  float m;
  std::memcpy(&m, &b, 4);
  return m;
}
inline double one_if_positive(double v) {
  uint64_t b = -static_cast<uint64_t>(v > 0.0) & 0x3ff0000000000000ull;
  double m;
  std::memcpy(&m, &b, 8);
  return m;
}

template <class T, class Load, class Store>
void mask_run(OpCall& c, Load load, Store store) {
  const T* __restrict dy = static_cast<const T*>(c.inputs[0].raw());
  const T* __restrict y = static_cast<const T*>(c.inputs[1].raw());
  T* __restrict out = static_cast<T*>(c.outputs[0].raw());
  parallel_for(c.outputs[0].size(), 1 << 15, [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) out[i] = store(load(dy[i]) * one_if_positive(load(y[i])));
  });
}

void mask_forward(OpCall& c) {
  auto same = [](auto v) { return v; };
  switch (c.outputs[0].dtype) {
    case DType::Float32: return mask_run<float>(c, same, same);
    case DType::Float64: return mask_run<double>(c, same, same);
    default: return mask_run<uint16_t>(c, [](uint16_t v) { return bf16_to_float(v); }, [](float v) { return float_to_bf16(v); });
  }
}

void mask_backward(GradCall& g) {  // linear in dy; y's gradient is zero (a step function)
  if (g.need[0]) g.in_grads[0] = relu_mask(g.out_grad(0), g.inputs[1]);
}

const OpDef kReluMask = OpDef::named("_relu_mask").arity(2).rules(mask_infer, mask_forward, mask_backward).saves(2)
                            .with_flags(kBF16Native);
OpRegistrar r5(kReluMask);

NDArray act_grad(const NDArray& dy, const NDArray& y, const char* act) {
  ActGradOptions o;
  o.act_type = act;
  return invoke1(kActGrad, {&dy, &y}, o);
}

}  // namespace

NDArray relu_mask(const NDArray& dy, const NDArray& y) { return invoke1(kReluMask, {&dy, &y}, Options()); }

}  // namespace ops
}  // namespace ndgrad
