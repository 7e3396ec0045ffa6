// Pooling (max / avg / sum, 1-D NCW and 2-D NCHW, stride, pad, global, 'valid' or 'full' convention,
// MXNet's count_include_pad for avg). Gradients: _pool_grad (dY routed to each window's argmax, or
// spread over the window) and, for max, _pool_gather (read G at each window's argmax). Each op's
// gradient is written with the others, so higher orders work (max pooling's x-derivative of its
// gradient is zero, as for relu).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "ops2.h"

namespace ndgrad {
namespace ops {
namespace {

enum Which { kPool = 0, kGrad = 1, kGather = 2 };
enum Type { kMax, kAvg, kSum };

struct PGeo {
  int nd;
  int type;
  bool include_pad;
  int64_t N, C, H, W, kh, kw, sh, sw, ph, pw, OH, OW;
  Shape y_shape() const { return nd == 1 ? Shape{N, C, OW} : Shape{N, C, OH, OW}; }
};

PGeo pgeo(const char* op, const Attrs& at, const Shape& xs) {
  PGeo g;
  std::string t = at.string(op, "pool_type", "max");
  g.type = t == "max" ? kMax : t == "avg" ? kAvg : t == "sum" ? kSum : -1;
  if (g.type < 0) fail(code::BAD_ARGUMENT, op, ": poolType must be 'max', 'avg' or 'sum', got '", t, "'");
  std::string conv = at.string(op, "pooling_convention", "valid");
  if (conv != "valid" && conv != "full")
    fail(code::BAD_ARGUMENT, op, ": poolingConvention must be 'valid' or 'full', got '", conv, "'");
  g.include_pad = at.flag(op, "count_include_pad", true);
  bool global = at.flag(op, "global_pool", false);
  if (xs.size() != 3 && xs.size() != 4)
    fail(code::SHAPE_MISMATCH, op, ": data must be 3-D (NCW) or 4-D (NCHW), got ", shape_str(xs));
  g.nd = static_cast<int>(xs.size()) - 2;
  g.N = xs[0];
  g.C = xs[1];
  g.H = g.nd == 1 ? 1 : xs[2];
  g.W = xs.back();
  std::vector<int64_t> k;
  if (global) {
    k = g.nd == 1 ? std::vector<int64_t>{g.W} : std::vector<int64_t>{g.H, g.W};
  } else {
    bool present = false;
    k = at.ints(op, "kernel", &present);
    if (!present || static_cast<int>(k.size()) != g.nd)
      fail(code::BAD_ARGUMENT, op, ": kernel must have ", g.nd, " entries for data ", shape_str(xs),
           " (or use globalPool)");
    for (int64_t d : k)
      if (d < 1) fail(code::BAD_ARGUMENT, op, ": kernel entries must be >= 1, got ", shape_str(Shape(k)));
  }
  auto st = global ? std::vector<int64_t>(g.nd, 1) : at.tuple(op, "stride", g.nd, 1, 1);
  auto pd = global ? std::vector<int64_t>(g.nd, 0) : at.tuple(op, "pad", g.nd, 0, 0);
  g.kh = g.nd == 1 ? 1 : k[0];
  g.kw = k.back();
  g.sh = g.nd == 1 ? 1 : st[0];
  g.sw = st.back();
  g.ph = g.nd == 1 ? 0 : pd[0];
  g.pw = pd.back();
  if (g.ph >= g.kh || g.pw >= g.kw)
    fail(code::BAD_ARGUMENT, op, ": pad ", shape_str(Shape(pd)), " must be smaller than kernel ", shape_str(Shape(k)));
  if (g.H + 2 * g.ph < g.kh || g.W + 2 * g.pw < g.kw)
    fail(code::SHAPE_MISMATCH, op, ": kernel ", shape_str(Shape(k)), " is larger than the padded data ", shape_str(xs));
  if (global && (g.H == 0 || g.W == 0))
    fail(code::SHAPE_MISMATCH, op, ": global pooling of empty spatial axes in ", shape_str(xs));
  auto outsz = [&](int64_t n, int64_t kk, int64_t s, int64_t p) {
    int64_t span = n + 2 * p - kk;
    return (conv == "full" ? (span + s - 1) / s : span / s) + 1;
  };
  g.OH = outsz(g.H, g.kh, g.sh, g.ph);
  g.OW = outsz(g.W, g.kw, g.sw, g.pw);
  return g;
}

// Visits every window: fn(plane, out_index, h0, h1, w0, w1, divisor) with the clipped ranges.
template <class F>
void windows(const PGeo& g, const F& fn) {
  for (int64_t p = 0; p < g.N * g.C; ++p)
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
        int64_t he = std::min(hs + g.kh, g.H + g.ph), we = std::min(ws + g.kw, g.W + g.pw);
        int64_t pool_size = (he - hs) * (we - ws);
        int64_t h0 = std::max<int64_t>(hs, 0), w0 = std::max<int64_t>(ws, 0);
        int64_t h1 = std::min(he, g.H), w1 = std::min(we, g.W);
        int64_t cnt = g.include_pad ? pool_size : (h1 - h0) * (w1 - w0);
        double div = g.type == kAvg ? static_cast<double>(std::max<int64_t>(cnt, 1)) : 1.0;
        fn(p, (p * g.OH + oh) * g.OW + ow, h0, h1, w0, w1, div);
      }
}

// Flat input index of each window's max (first on ties); -1 for an empty window.
template <class T>
std::vector<int64_t> argmaxes(const PGeo& g, const T* x) {
  std::vector<int64_t> r(static_cast<size_t>(g.N * g.C * g.OH * g.OW), -1);
  windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double) {
    const T* xp = x + p * g.H * g.W;
    int64_t best = -1;
    T bv = T(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) {
        T v = xp[h * g.W + w];
        if (best < 0 || v > bv || (std::isnan(static_cast<double>(v)) && !std::isnan(static_cast<double>(bv)))) {
          best = h * g.W + w;
          bv = v;
        }
      }
    r[o] = best < 0 ? -1 : p * g.H * g.W + best;
  });
  return r;
}

// Inputs: Pooling (x); _pool_grad (dy, x) -> x's shape; _pool_gather (G, x) -> y's shape.
void pool_infer(OpCall& c) {
  const char* op = c.name();
  int which = c.op->param;
  const NDArray& x = which == kPool ? c.inputs[0] : c.inputs[1];
  PGeo g = pgeo(op, *c.attrs, x.shape);
  if (which != kPool) {
    expect_same_dtype(c);
    const Shape& want = which == kGrad ? g.y_shape() : x.shape;
    if (c.inputs[0].shape != want)
      fail(code::SHAPE_MISMATCH, op, ": gradient ", shape_str(c.inputs[0].shape), " must have shape ", shape_str(want));
  }
  if (g.type != kMax || which != kPool) expect_float(c, 0);
  c.out_shapes = {which == kGrad ? x.shape : g.y_shape()};
  c.out_dtypes = {x.dtype};
}

template <class T>
void pool_run(OpCall& c, const PGeo& g) {
  int which = c.op->param;
  T* y = c.outputs[0].data<T>();
  if (which == kPool) {
    const T* x = c.inputs[0].data<T>();
    if (g.type == kMax) {
      std::vector<int64_t> am = argmaxes(g, x);
      for (size_t o = 0; o < am.size(); ++o) y[o] = am[o] < 0 ? T(0) : x[am[o]];
      return;
    }
    windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
      const T* xp = x + p * g.H * g.W;
      double s = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) s += static_cast<double>(xp[h * g.W + w]);
      y[o] = static_cast<T>(s / div);
    });
    return;
  }
  const T* d = c.inputs[0].data<T>();
  const T* x = c.inputs[1].data<T>();
  if (g.type == kMax) {
    std::vector<int64_t> am = argmaxes(g, x);
    if (which == kGrad) {
      fill(c.outputs[0], 0.0);
      for (size_t o = 0; o < am.size(); ++o)
        if (am[o] >= 0) y[am[o]] += d[o];
    } else {
      for (size_t o = 0; o < am.size(); ++o) y[o] = am[o] < 0 ? T(0) : d[am[o]];
    }
    return;
  }
  // avg / sum gradient: spread dy over each window.
  fill(c.outputs[0], 0.0);
  windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
    T* yp = y + p * g.H * g.W;
    T v = static_cast<T>(static_cast<double>(d[o]) / div);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) yp[h * g.W + w] += v;
  });
}

void pool_forward(OpCall& c) {
  int which = c.op->param;
  const NDArray& x = which == kPool ? c.inputs[0] : c.inputs[1];
  PGeo g = pgeo(c.name(), *c.attrs, x.shape);
  if (c.outputs[0].size() == 0) return;
  NDGRAD_DISPATCH_DTYPE(c.outputs[0].dtype, T, pool_run<T>(c, g));
}

NDArray pool_call(int which, const std::vector<NDArray>& in, const Attrs& at);

void pool_backward(GradCall& g) {
  int which = g.op->param;
  std::string t = g.attrs->string(g.name(), "pool_type", "max");
  NDArray dy = g.out_grad(0);
  if (which == kPool) {
    if (!g.need[0]) return;
    g.in_grads[0] = pool_call(kGrad, {dy, g.inputs[0]}, *g.attrs);
    return;
  }
  // Both gradient ops are linear in input 0; input 1 (x) only chooses the windows' argmax.
  if (g.need[1]) g.in_grads[1] = keep_connected(zeros_like(g.inputs[1]), g.inputs[1]);
  if (!g.need[0]) return;
  if (t == "max") g.in_grads[0] = pool_call(which == kGrad ? kGather : kGrad, {dy, g.inputs[1]}, *g.attrs);
  else g.in_grads[0] = pool_call(kPool, {dy}, *g.attrs);
}

const OpDef kDefs[] = {
    {"Pooling", "pooling", "other", 1, pool_infer, pool_forward, pool_backward, 1, 0, 0, kPool},
    {"_pool_grad", "", "other", 2, pool_infer, pool_forward, pool_backward, 3, 0, 0, kGrad},
    {"_pool_gather", "", "other", 2, pool_infer, pool_forward, pool_backward, 3, 0, 0, kGather},
};
OpRegistrar r0(kDefs[0]), r1(kDefs[1]), r2(kDefs[2]);

NDArray pool_call(int which, const std::vector<NDArray>& in, const Attrs& at) { return invoke1(kDefs[which], in, at); }

}  // namespace
}  // namespace ops
}  // namespace ndgrad
