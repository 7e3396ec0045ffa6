// Ops with no array inputs: full, arange, eye, random_uniform, random_normal.
#include <cmath>

#include "../core/rng.h"
#include "../core/threadpool.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

struct FullOptions {
  Ints shape;
  double value = 0;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("shape", shape, kArgument), v("value", value, kArgument), v("dtype", dtype))
};
struct ArangeOptions {
  double start = 0, stop = 0, step = 1;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("start", start, kArgument), v("stop", stop, kArgument), v("step", step, kArgument), v("dtype", dtype))
};
struct EyeOptions {
  int64_t N = 0, M = 0, k = 0;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v("N", N, kArgument), v("M", M, kArgument), v("k", k, kArgument), v("dtype", dtype))
};
// random_uniform(low, high) and random_normal(loc, scale): `a` and `b` under their names.
template <bool kNormal>
struct RandomOptions {
  double a = 0, b = 1;
  Ints shape;
  DType dtype = DType::Float32;
  NDGRAD_FIELDS(v(kNormal ? "loc" : "low", a, kArgument), v(kNormal ? "scale" : "high", b, kArgument),
                v("shape", shape, kArgument), v("dtype", dtype))
};

Shape shape_attr(const OpCall& c, const Ints& s) {
  for (int64_t d : s)
    if (d < 0) fail(code::BAD_ARGUMENT, c.name(), ": negative dimension in shape ", shape_str(Shape(s)));
  return Shape(s);
}

void full_infer(OpCall& c) {
  const FullOptions& o = c.opts<FullOptions>();
  c.out_shapes = {shape_attr(c, o.shape)};
  c.out_dtypes = {o.dtype};
}
void full_forward(OpCall& c) { fill(c.outputs[0], c.opts<FullOptions>().value); }

void arange_infer(OpCall& c) {
  const ArangeOptions& o = c.opts<ArangeOptions>();
  double start = o.start, stop = o.stop, step = o.step;
  if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
    fail(code::BAD_ARGUMENT, "arange: step must be a finite non-zero number and start/stop finite");
  double n = std::ceil((stop - start) / step);
  if (n > 4e9) fail(code::BAD_ARGUMENT, "arange: too many elements (", n, ")");
  c.out_shapes = {Shape{static_cast<int64_t>(n > 0 ? n : 0)}};
  c.out_dtypes = {o.dtype};
}
void arange_forward(OpCall& c) {
  double start = c.opts<ArangeOptions>().start, step = c.opts<ArangeOptions>().step;
  NDArray& y = c.outputs[0];
  for (int64_t i = 0; i < y.size(); ++i) write_scalar(y, i, start + step * static_cast<double>(i));
}

void eye_infer(OpCall& c) {
  const EyeOptions& o = c.opts<EyeOptions>();
  int64_t n = o.N, m = o.M;
  if (n < 0 || m < 0) fail(code::BAD_ARGUMENT, "eye: sizes must be non-negative, got ", n, ", ", m);
  c.out_shapes = {Shape{n, m == 0 ? n : m}};
  c.out_dtypes = {o.dtype};
}
void eye_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  fill(y, 0);
  int64_t k = c.opts<EyeOptions>().k, n = y.shape[0], m = y.shape[1];
  for (int64_t i = 0; i < n; ++i)
    if (i + k >= 0 && i + k < m) write_scalar(y, i * m + i + k, 1.0);
}

// The two random ops' options, which differ only in names.
template <class F>
auto with_random_options(const OpCall& c, const F& f) {
  return c.op->param == 1 ? f(c.opts<RandomOptions<true>>()) : f(c.opts<RandomOptions<false>>());
}

void random_infer(OpCall& c) {
  with_random_options(c, [&](const auto& o) {
    c.out_shapes = {shape_attr(c, o.shape)};
    c.out_dtypes = {o.dtype};
    return 0;
  });
  if (!is_float(c.out_dtypes[0])) fail(code::DTYPE_MISMATCH, c.name(), ": dtype must be float32 or float64");
  bool normal = c.op->param == 1;
  double a = with_random_options(c, [](const auto& o) { return o.a; });
  double b = with_random_options(c, [](const auto& o) { return o.b; });
  if (!std::isfinite(a) || !std::isfinite(b) || (normal ? b < 0 : b < a))
    fail(code::BAD_ARGUMENT, c.name(), normal ? ": scale must be >= 0" : ": high must be >= low");
}

void random_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  bool normal = c.op->param == 1;
  double a = with_random_options(c, [](const auto& o) { return o.a; });
  double b = with_random_options(c, [](const auto& o) { return o.b; });
  int64_t n = y.size();
  uint64_t key = rng::current_seed(), base = rng::reserve(static_cast<uint64_t>(n) * (normal ? 2 : 1));
  bool f32 = y.dtype == DType::Float32;
  parallel_for((n + 3) / 4, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      uint32_t w[4], w2[4];
      rng::philox(key, base / 4 + static_cast<uint64_t>(blk) * (normal ? 2 : 1), w);
      if (normal) rng::philox(key, base / 4 + static_cast<uint64_t>(blk) * 2 + 1, w2);
      for (int j = 0; j < 4; ++j) {
        int64_t i = blk * 4 + j;
        if (i >= n) break;
        double v;
        if (normal) {  // Box-Muller on two uniforms
          double u1 = (static_cast<double>(w[j]) + 1.0) / 4294967297.0, u2 = rng::to_unit_double(w2[j]);
          v = a + b * std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * M_PI * u2);
        } else {
          v = a + (b - a) * (f32 ? static_cast<double>(rng::to_unit_float(w[j])) : rng::to_unit_double(w[j]));
          if (v >= b && b > a) v = a;  // rounding must not reach `high`
        }
        if (f32) y.data<float>()[i] = static_cast<float>(v);
        else y.data<double>()[i] = v;
      }
    }
  });
}

const OpDef kFull = OpDef::named("full").arity(0).rules(full_infer, full_forward).with_flags(kBF16Storage)
                        .with_options<FullOptions>();
const OpDef kArange = OpDef::named("arange").arity(0).rules(arange_infer, arange_forward)
                          .with_flags(kBF16Storage).with_options<ArangeOptions>();
const OpDef kEye = OpDef::named("eye").arity(0).rules(eye_infer, eye_forward).with_flags(kBF16Storage)
                       .with_options<EyeOptions>();
const OpDef kUniform = OpDef::named("random_uniform").arity(0).rules(random_infer, random_forward)
                           .with_flags(kRandom).with_options<RandomOptions<false>>();
const OpDef kNormal = OpDef::named("random_normal").arity(0).rules(random_infer, random_forward)
                          .with_flags(kRandom).row(1).with_options<RandomOptions<true>>();
OpRegistrar r1(kFull), r2(kArange), r3(kEye), r4(kUniform), r5(kNormal);

}  // namespace
}  // namespace ops
}  // namespace ndgrad
