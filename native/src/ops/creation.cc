// Ops with no array inputs: full, arange, eye, random_uniform, random_normal.
#include <cmath>

#include "../core/rng.h"
#include "../core/threadpool.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

DType dtype_attr(const OpCall& c, DType def) {
  std::string name = c.attrs->string(c.name(), "dtype", dtype_name(def));
  DType t;
  if (!parse_dtype(name, &t))
    fail(code::BAD_ARGUMENT, c.name(), ": unknown dtype '", name, "' (float32, float64, int32, uint8)");
  return t;
}

Shape shape_attr(const OpCall& c) {
  bool present = false;
  std::vector<int64_t> s = c.attrs->ints(c.name(), "shape", &present);
  for (int64_t d : s)
    if (d < 0) fail(code::BAD_ARGUMENT, c.name(), ": negative dimension in shape ", shape_str(Shape(s)));
  return Shape(s);
}

void full_infer(OpCall& c) {
  c.out_shapes = {shape_attr(c)};
  c.out_dtypes = {dtype_attr(c, DType::Float32)};
  c.attrs->number(c.name(), "value", 0);
}
void full_forward(OpCall& c) { fill(c.outputs[0], c.attrs->number(c.name(), "value", 0)); }

void arange_infer(OpCall& c) {
  double start = c.attrs->number(c.name(), "start", 0), stop = c.attrs->number(c.name(), "stop", 0),
         step = c.attrs->number(c.name(), "step", 1);
  if (step == 0 || !std::isfinite(step) || !std::isfinite(start) || !std::isfinite(stop))
    fail(code::BAD_ARGUMENT, "arange: step must be a finite non-zero number and start/stop finite");
  double n = std::ceil((stop - start) / step);
  if (n > 4e9) fail(code::BAD_ARGUMENT, "arange: too many elements (", n, ")");
  c.out_shapes = {Shape{static_cast<int64_t>(n > 0 ? n : 0)}};
  c.out_dtypes = {dtype_attr(c, DType::Float32)};
}
void arange_forward(OpCall& c) {
  double start = c.attrs->number(c.name(), "start", 0), step = c.attrs->number(c.name(), "step", 1);
  NDArray& y = c.outputs[0];
  for (int64_t i = 0; i < y.size(); ++i) write_scalar(y, i, start + step * static_cast<double>(i));
}

void eye_infer(OpCall& c) {
  int64_t n = c.attrs->integer(c.name(), "N", 0), m = c.attrs->integer(c.name(), "M", 0);
  if (n < 0 || m < 0) fail(code::BAD_ARGUMENT, "eye: sizes must be non-negative, got ", n, ", ", m);
  c.attrs->integer(c.name(), "k", 0);
  c.out_shapes = {Shape{n, m == 0 ? n : m}};
  c.out_dtypes = {dtype_attr(c, DType::Float32)};
}
void eye_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  fill(y, 0);
  int64_t k = c.attrs->integer(c.name(), "k", 0), n = y.shape[0], m = y.shape[1];
  for (int64_t i = 0; i < n; ++i)
    if (i + k >= 0 && i + k < m) write_scalar(y, i * m + i + k, 1.0);
}

void random_infer(OpCall& c) {
  c.out_shapes = {shape_attr(c)};
  DType t = dtype_attr(c, DType::Float32);
  if (!is_float(t)) fail(code::DTYPE_MISMATCH, c.name(), ": dtype must be float32 or float64");
  c.out_dtypes = {t};
  bool normal = c.op->param == 1;
  double a = c.attrs->number(c.name(), normal ? "loc" : "low", 0);
  double b = c.attrs->number(c.name(), normal ? "scale" : "high", 1);
  if (!std::isfinite(a) || !std::isfinite(b) || (normal ? b < 0 : b < a))
    fail(code::BAD_ARGUMENT, c.name(), normal ? ": scale must be >= 0" : ": high must be >= low");
}

void random_forward(OpCall& c) {
  NDArray& y = c.outputs[0];
  bool normal = c.op->param == 1;
  double a = c.attrs->number(c.name(), normal ? "loc" : "low", 0);
  double b = c.attrs->number(c.name(), normal ? "scale" : "high", 1);
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

const OpDef kFull = {"full", "", "other", 0, full_infer, full_forward, nullptr, 0, 0, 0, 0, "*shape:ints *value:num=0 dtype:str=float32"};
const OpDef kArange = {"arange", "", "other", 0, arange_infer, arange_forward, nullptr, 0, 0, 0, 0,
                       "*start:num=0 *stop:num=0 *step:num=1 dtype:str=float32"};
const OpDef kEye = {"eye", "", "other", 0, eye_infer, eye_forward, nullptr, 0, 0, 0, 0, "*N:int *M:int=0 *k:int=0 dtype:str=float32"};
const OpDef kUniform = {"random_uniform", "", "other", 0, random_infer, random_forward, nullptr, 0, 0, kRandom, 0,
                        "*low:num=0 *high:num=1 *shape:ints dtype:str=float32"};
const OpDef kNormal = {"random_normal", "", "other", 0, random_infer, random_forward, nullptr, 0, 0, kRandom, 1,
                       "*loc:num=0 *scale:num=1 *shape:ints dtype:str=float32"};
OpRegistrar r1(kFull), r2(kArange), r3(kEye), r4(kUniform), r5(kNormal);

}  // namespace
}  // namespace ops
}  // namespace ndgrad
