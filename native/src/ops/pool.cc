// Pooling (max / avg / sum, 1-D NCW and 2-D NCHW, stride, pad, global, 'valid' or 'full' convention,
// MXNet's count_include_pad for avg). Gradients: _pool_grad (dY routed to each window's argmax, or
// spread over the window) and, for max, _pool_gather (read G at each window's argmax). Each op's
// gradient is written with the others, so higher orders work (max pooling's x-derivative of its
// gradient is zero, as for relu).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "../core/threadpool.h"
#include "ops.h"
#include "window.h"

namespace ndgrad {
namespace ops {
namespace {

enum Which { kPool = 0, kGrad = 1, kGather = 2 };
enum Type { kMax, kAvg, kSum };

// The options of Pooling, which its gradient ops share.
struct PoolOptions {
  Ints kernel;
  std::string pool_type = "max";
  Ints stride, pad;
  bool global_pool = false;
  std::string pooling_convention = "valid";
  bool count_include_pad = true;
  NDGRAD_FIELDS(v("kernel", kernel), v("pool_type", pool_type), v("stride", stride), v("pad", pad),
                v("global_pool", global_pool), v("pooling_convention", pooling_convention),
                v("count_include_pad", count_include_pad))
};

struct PGeo : Window {
  int type;
  bool include_pad;
  int64_t OH, OW;
  Shape y_shape() const { return nd == 1 ? Shape{N, C, OW} : Shape{N, C, OH, OW}; }
};

PGeo pgeo(const char* op, const PoolOptions& o, const Shape& xs) {
  const std::string& t = o.pool_type;
  int type = t == "max" ? kMax : t == "avg" ? kAvg : t == "sum" ? kSum : -1;
  if (type < 0) fail(code::BAD_ARGUMENT, op, ": poolType must be 'max', 'avg' or 'sum', got '", t, "'");
  const std::string& conv = o.pooling_convention;
  if (conv != "valid" && conv != "full")
    fail(code::BAD_ARGUMENT, op, ": poolingConvention must be 'valid' or 'full', got '", conv, "'");
  bool global = o.global_pool;
  if (xs.size() != 3 && xs.size() != 4)
    fail(code::SHAPE_MISMATCH, op, ": data must be 3-D (NCW) or 4-D (NCHW), got ", shape_str(xs));
  int nd = static_cast<int>(xs.size()) - 2;
  Ints k;
  if (global) {
    k = nd == 1 ? Ints{xs[2]} : Ints{xs[2], xs[3]};
  } else {
    k = o.kernel;
    if (static_cast<int>(k.size()) != nd)
      fail(code::BAD_ARGUMENT, op, ": kernel must have ", nd, " entries for data ", shape_str(xs), " (or use globalPool)");
    for (int64_t d : k)
      if (d < 1) fail(code::BAD_ARGUMENT, op, ": kernel entries must be >= 1, got ", shape_str(Shape(k)));
  }
  Ints st = global ? Ints(nd, 1) : spatial(op, "stride", o.stride, nd, 1, 1);
  Ints pd = global ? Ints(nd, 0) : spatial(op, "pad", o.pad, nd, 0, 0);
  PGeo g;
  static_cast<Window&>(g) = window_of(nd, xs, k, st, pd);
  g.type = type;
  g.include_pad = o.count_include_pad;
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
// Planes (n, c) are independent, so they are split across the thread pool; fn may write anywhere
// inside its own plane.
template <class F>
void windows(const PGeo& g, const F& fn) {
  // kernel and pad bound each other (pad < kernel), not the data, so a window's area and the work
  // per plane can pass int64: saturating products here, and window areas in double below.
  int64_t per_plane = mul_dims(mul_dims(mul_dims(g.OH, g.OW), g.kh), g.kw);
  per_plane = per_plane == INT64_MAX ? per_plane : per_plane + 1;
  parallel_for(g.N * g.C, 1 + 32768 / per_plane, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
          int64_t he = std::min(hs + g.kh, g.H + g.ph), we = std::min(ws + g.kw, g.W + g.pw);
          // a 'full' convention's last window may start past the padded data: it is then empty
          auto len = [](int64_t a, int64_t b) { return static_cast<double>(std::max<int64_t>(b - a, 0)); };
          int64_t h0 = std::max<int64_t>(hs, 0), w0 = std::max<int64_t>(ws, 0);
          int64_t h1 = std::min(he, g.H), w1 = std::min(we, g.W);
          double cnt = g.include_pad ? len(hs, he) * len(ws, we) : len(h0, h1) * len(w0, w1);
          double div = g.type == kAvg ? std::max(cnt, 1.0) : 1.0;
          fn(p, (p * g.OH + oh) * g.OW + ow, h0, h1, w0, w1, div);
        }
  });
}

// Index (within the plane) of a window's max, first on ties, NaN wins; -1 for an empty window.
// Written with selects rather than branches: on real data the comparisons are unpredictable.
template <class T>
inline int64_t window_argmax(const T* xp, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  if (h0 >= h1 || w0 >= w1) return -1;
  int64_t best = h0 * W + w0;
  T bv = xp[best];
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      T v = xp[h * W + w];
      bool better = (v > bv) | ((v != v) & (bv == bv));
      best = better ? h * W + w : best;
      bv = better ? v : bv;
    }
  return best;
}

// A window's max (NaN if any element is NaN); 0 for an empty window.
template <class T>
inline T window_max(const T* xp, int64_t W, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
  if (h0 >= h1 || w0 >= w1) return T(0);
  T m = xp[h0 * W + w0];
  for (int64_t h = h0; h < h1; ++h)
    for (int64_t w = w0; w < w1; ++w) {
      T v = xp[h * W + w];
      m = (v > m) | (v != v) ? v : m;
    }
  return m;
}

// No window is clipped (no padding, none past the data's end: the common 'valid' pooling).
bool unclipped(const PGeo& g) {
  return g.ph == 0 && g.pw == 0 && (g.OH - 1) * g.sh + g.kh <= g.H && (g.OW - 1) * g.sw + g.kw <= g.W;
}

// The usual 2x2 / 2 max pooling without clipped windows has loops of its own (the generic ones
// read with a stride of 2 and keep per-row state): a window is a, b (row 2oh) and c, d (row 2oh+1).
bool max_2x2(const PGeo& g) {
  return g.type == kMax && g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && unclipped(g);
}

// The bits of v where keep is 1, else those of w: selects on floats compile to branches here, which
// mispredict on real data.
template <class T>
inline T select_bits(int keep, T v, T w) {
  using U = std::conditional_t<sizeof(T) == 8, uint64_t, std::conditional_t<sizeof(T) == 4, uint32_t,
                               std::conditional_t<sizeof(T) == 2, uint16_t, uint8_t>>>;
  static_assert(sizeof(U) == sizeof(T), "select_bits: no unsigned type of this size");
  U a, b;
  std::memcpy(&a, &v, sizeof(T));
  std::memcpy(&b, &w, sizeof(T));
  const U mask = static_cast<U>(0) - static_cast<U>(keep);
  a = (a & mask) | (b & ~mask);
  std::memcpy(&v, &a, sizeof(T));
  return v;
}

// The window's max in the generic loops' order (a, b, c, d), NaN winning, as they compute it.
template <class T>
inline T max4(T a, T b, T c, T d) {
  T m = select_bits((b > a) | (b != b), b, a);
  m = select_bits((c > m) | (c != c), c, m);
  return select_bits((d > m) | (d != d), d, m);
}

// Which of a, b, c, d (0..3) is the first to hold the window's max m (the first NaN when m is NaN),
// in integer arithmetic: the position is random on real data, so branches would mispredict.
template <class T>
inline int first4(T a, T b, T c, T m) {
  const int nan = m != m;
  const int ha = (a == m) | (nan & (a != a)), hb = (b == m) | (nan & (b != b)), hc = (c == m) | (nan & (c != c));
  return (ha ^ 1) * (1 + (hb ^ 1) * (1 + (hc ^ 1)));
}

// Pooling (which == kPool), _pool_grad (d = dY) and _pool_gather (d = G) for max_2x2 windows.
template <class T>
void max_2x2_run(int which, const PGeo& g, const T* x, const T* d, T* y) {
  const int64_t W = g.W, OH = g.OH, OW = g.OW, plane = g.H * W;
  parallel_for(g.N * g.C, 1 + 8192 / (OH * OW + 1), [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const T* r0 = x + p * plane + 2 * oh * W;
        const T* r1 = r0 + W;
        const int64_t o = (p * OH + oh) * OW;
        if (which == kPool) {
          for (int64_t ow = 0; ow < OW; ++ow) y[o + ow] = max4(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1]);
        } else if (which == kGrad) {  // each window's 4 gradients written (windows do not overlap)
          T* y0 = y + p * plane + 2 * oh * W;
          T* y1 = y0 + W;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1];
            const int k = first4(a, b, c, max4(a, b, c, e));
            const T dv = d[o + ow];
            y0[2 * ow] = select_bits(k == 0, dv, T(0));
            y0[2 * ow + 1] = select_bits(k == 1, dv, T(0));
            y1[2 * ow] = select_bits(k == 2, dv, T(0));
            y1[2 * ow + 1] = select_bits(k == 3, dv, T(0));
          }
        } else {
          const T* d0 = d + p * plane + 2 * oh * W;
          const T* d1 = d0 + W;
          for (int64_t ow = 0; ow < OW; ++ow) {
            const T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], e = r1[2 * ow + 1];
            const int k = first4(a, b, c, max4(a, b, c, e));
            y[o + ow] = (k < 2 ? d0 : d1)[2 * ow + (k & 1)];
          }
        }
      }
  });
}

// Inputs: Pooling (x); _pool_grad (dy, x) -> x's shape; _pool_gather (G, x) -> y's shape.
void pool_infer(OpCall& c) {
  const char* op = c.name();
  int which = c.op->param;
  const NDArray& x = which == kPool ? c.inputs[0] : c.inputs[1];
  PGeo g = pgeo(op, c.opts<PoolOptions>(), x.shape);
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
  const int64_t plane = g.H * g.W;
  if (max_2x2(g)) {
    // a row or column past the last window keeps a zero gradient
    if (which == kGrad && (2 * g.OH != g.H || 2 * g.OW != g.W)) fill(c.outputs[0], 0.0);
    const T* d = which == kPool ? nullptr : c.inputs[0].data<T>();
    return max_2x2_run<T>(which, g, c.inputs[which == kPool ? 0 : 1].data<T>(), d, y);
  }
  if (which == kPool) {
    const T* x = c.inputs[0].data<T>();
    if (g.type == kMax) {
      if (unclipped(g)) {  // plain loops, no per-window bounds
        parallel_for(g.N * g.C, 1 + 32768 / (g.OH * g.OW * g.kh * g.kw + 1), [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p)
            for (int64_t oh = 0; oh < g.OH; ++oh) {
              const T* row = x + p * plane + oh * g.sh * g.W;
              T* yr = y + (p * g.OH + oh) * g.OW;
              // Kernel offsets outermost: the output row's windows are independent chains.
              for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = row[ow * g.sw];
              for (int64_t ki = 0; ki < g.kh; ++ki)
                for (int64_t kj = 0; kj < g.kw; ++kj) {
                  const T* b = row + ki * g.W + kj;
                  for (int64_t ow = 0; ow < g.OW; ++ow) {
                    T v = b[ow * g.sw], m = yr[ow];
                    yr[ow] = (v > m) | (v != v) ? v : m;
                  }
                }
            }
        });
        return;
      }
      windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double) {
        y[o] = window_max(x + p * plane, g.W, h0, h1, w0, w1);
      });
      return;
    }
    if (unclipped(g)) {  // avg / sum without clipped windows: whole output rows, no per-window bounds
      const double div = g.type == kAvg ? static_cast<double>(g.kh * g.kw) : 1.0;
      parallel_for(g.N * g.C, 1 + 32768 / (g.OH * g.OW * g.kh * g.kw + 1), [&](int64_t p0, int64_t p1) {
        std::vector<double> acc(static_cast<size_t>(g.OW));
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const T* row = x + p * plane + oh * g.sh * g.W;
            T* yr = y + (p * g.OH + oh) * g.OW;
            if (g.kh == 2 && g.kw == 2 && g.sw == 2) {  // the usual 2x2 / 2: one expression the compiler vectorizes
              const double inv = 1.0 / div;             // exact: div is 4 or 1
              for (int64_t ow = 0; ow < g.OW; ++ow) {
                const T* a = row + 2 * ow;
                double s = static_cast<double>(a[0]) + static_cast<double>(a[1]) + static_cast<double>(a[g.W]) +
                           static_cast<double>(a[g.W + 1]);
                yr[ow] = static_cast<T>(s * inv);
              }
              continue;
            }
            std::fill(acc.begin(), acc.end(), 0.0);
            // in double, as the windows below: the sum of a few floats is exact, so the mean rounds once
            for (int64_t ki = 0; ki < g.kh; ++ki)
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                const T* b = row + ki * g.W + kj;
                for (int64_t ow = 0; ow < g.OW; ++ow) acc[ow] += static_cast<double>(b[ow * g.sw]);
              }
            for (int64_t ow = 0; ow < g.OW; ++ow) yr[ow] = static_cast<T>(acc[ow] / div);
          }
      });
      return;
    }
    windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
      const T* xp = x + p * plane;
      double s = 0;
      for (int64_t h = h0; h < h1; ++h)
        for (int64_t w = w0; w < w1; ++w) s += static_cast<double>(xp[h * g.W + w]);
      y[o] = static_cast<T>(s / div);
    });
    return;
  }
  const T* d = c.inputs[0].data<T>();
  const T* x = c.inputs[1].data<T>();
  if (which == kGrad && !(g.type != kMax && unclipped(g))) fill(c.outputs[0], 0.0);
  if (g.type == kMax) {
    // The max's position is recomputed from x (one pass over the windows, like the forward), so
    // these ops need no saved state and stay differentiable.
    if (unclipped(g) && plane < (int64_t(1) << 31)) {
      // No clipped window: argmax of a whole output row at once (independent chains, as forward).
      // Locals, not g's fields: stores into `best` (int64) could otherwise alias them.
      const int64_t OH = g.OH, OW = g.OW, W = g.W, sh = g.sh, sw = g.sw, kh = g.kh, kw = g.kw;
      parallel_for(g.N * g.C, 1 + 32768 / (OH * OW * kh * kw + 1), [&](int64_t p0, int64_t p1) {
        std::vector<int32_t> best(static_cast<size_t>(OW));
        std::vector<T> bv(static_cast<size_t>(OW));
        std::vector<int32_t> found(static_cast<size_t>(OW));
        int32_t* bp = best.data();
        int32_t* fp = found.data();
        T* vp = bv.data();
        for (int64_t p = p0; p < p1; ++p)
          for (int64_t oh = 0; oh < OH; ++oh) {
            const T* xp = x + p * plane;
            const int32_t r0 = static_cast<int32_t>(oh * sh * W);
            // Pass 1: each window's max (NaN if any), as the forward computes it.
            for (int64_t ow = 0; ow < OW; ++ow) vp[ow] = xp[r0 + ow * sw];
            for (int64_t ki = 0; ki < kh; ++ki)
              for (int64_t kj = 0; kj < kw; ++kj) {
                const T* b = xp + r0 + ki * W + kj;
                for (int64_t ow = 0; ow < OW; ++ow) {
                  T v = b[ow * sw], m = vp[ow];
                  vp[ow] = (v > m) | (v != v) ? v : m;
                }
              }
            // Pass 2: the first position holding it, with integer masks (the position is random,
            // so a branch would mispredict half the time).
            for (int64_t ow = 0; ow < OW; ++ow) {
              bp[ow] = -1;
              fp[ow] = 0;
            }
            for (int64_t ki = 0; ki < kh; ++ki)
              for (int64_t kj = 0; kj < kw; ++kj) {
                const int32_t off = r0 + static_cast<int32_t>(ki * W + kj);
                for (int64_t ow = 0; ow < OW; ++ow) {
                  const int32_t i = off + static_cast<int32_t>(ow * sw);
                  T v = xp[i], m = vp[ow];
                  int32_t match = static_cast<int32_t>((v == m) | ((m != m) & (v != v)));
                  int32_t take = match & (fp[ow] ^ 1);
                  bp[ow] ^= (bp[ow] ^ i) & -take;
                  fp[ow] |= match;
                }
              }
            int64_t o = (p * OH + oh) * OW;
            if (which == kGrad)
              for (int64_t ow = 0; ow < OW; ++ow) y[p * plane + bp[ow]] += d[o + ow];
            else
              for (int64_t ow = 0; ow < OW; ++ow) y[o + ow] = d[p * plane + bp[ow]];
          }
      });
      return;
    }
    windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double) {
      int64_t b = window_argmax(x + p * plane, g.W, h0, h1, w0, w1);
      if (which == kGrad) {
        if (b >= 0) y[p * plane + b] += d[o];
      } else {
        y[o] = b < 0 ? T(0) : d[p * plane + b];
      }
    });
    return;
  }
  // avg / sum gradient: spread dy over each window.
  if (unclipped(g)) {  // whole output rows; windows that tile x exactly need no zeroing first
    const double div = g.type == kAvg ? static_cast<double>(g.kh * g.kw) : 1.0;
    const bool tiles = g.sh == g.kh && g.sw == g.kw && g.OH * g.kh == g.H && g.OW * g.kw == g.W;
    parallel_for(g.N * g.C, 1 + 32768 / (g.OH * g.OW * g.kh * g.kw + 1), [&](int64_t p0, int64_t p1) {
      std::vector<T> v(static_cast<size_t>(g.OW));
      for (int64_t p = p0; p < p1; ++p) {
        if (!tiles) std::fill(y + p * plane, y + (p + 1) * plane, T(0));
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const T* dr = d + (p * g.OH + oh) * g.OW;
          T* row = y + p * plane + oh * g.sh * g.W;
          if (tiles && g.kh == 2 && g.kw == 2) {  // the usual 2x2 / 2, in one vectorizable pass
            const double inv = 1.0 / div;         // exact: div is 4 or 1
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              T e = static_cast<T>(static_cast<double>(dr[ow]) * inv);
              row[2 * ow] = row[2 * ow + 1] = row[g.W + 2 * ow] = row[g.W + 2 * ow + 1] = e;
            }
            continue;
          }
          for (int64_t ow = 0; ow < g.OW; ++ow) v[ow] = static_cast<T>(static_cast<double>(dr[ow]) / div);
          for (int64_t ki = 0; ki < g.kh; ++ki)
            for (int64_t kj = 0; kj < g.kw; ++kj) {
              T* b = row + ki * g.W + kj;
              if (tiles)
                for (int64_t ow = 0; ow < g.OW; ++ow) b[ow * g.sw] = v[ow];
              else
                for (int64_t ow = 0; ow < g.OW; ++ow) b[ow * g.sw] += v[ow];
            }
        }
      }
    });
    return;
  }
  windows(g, [&](int64_t p, int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1, double div) {
    T* yp = y + p * plane;
    T v = static_cast<T>(static_cast<double>(d[o]) / div);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t w = w0; w < w1; ++w) yp[h * g.W + w] += v;
  });
}

void pool_forward(OpCall& c) {
  int which = c.op->param;
  const NDArray& x = which == kPool ? c.inputs[0] : c.inputs[1];
  PGeo g = pgeo(c.name(), c.opts<PoolOptions>(), x.shape);
  if (c.outputs[0].size() == 0) return;
  NDGRAD_DISPATCH_DTYPE(c.outputs[0].dtype, T, pool_run<T>(c, g));
}

NDArray pool_call(int which, InputList in, const Options& o);

void pool_backward(GradCall& g) {
  int which = g.op->param;
  const std::string& t = g.opts<PoolOptions>().pool_type;
  NDArray dy = g.out_grad(0);
  if (which == kPool) {
    if (!g.need[0]) return;
    g.in_grads[0] = pool_call(kGrad, {&dy, &g.inputs[0]}, *g.options);
    return;
  }
  // Both gradient ops are linear in input 0; input 1 (x) only chooses the windows' argmax.
  if (g.need[1]) g.in_grads[1] = keep_connected(zeros_like(g.inputs[1]), g.inputs[1]);
  if (!g.need[0]) return;
  if (t == "max") g.in_grads[0] = pool_call(which == kGrad ? kGather : kGrad, {&dy, &g.inputs[1]}, *g.options);
  else g.in_grads[0] = pool_call(kPool, {&dy}, *g.options);
}

// the gradient ops get Pooling's options
constexpr OpDef pool_op(const char* name, int which) {
  return OpDef::named(name).arity(2).rules(pool_infer, pool_forward, pool_backward).saves(3).row(which)
      .with_options<PoolOptions>();
}
const OpDef kDefs[] = {
    pool_op("Pooling", kPool).alias("pooling").arity(1).saves(1),
    pool_op("_pool_grad", kGrad),
    pool_op("_pool_gather", kGather),
};
OpRegistrar r0(kDefs[0]), r1(kDefs[1]), r2(kDefs[2]);

NDArray pool_call(int which, InputList in, const Options& o) { return invoke1(kDefs[which], in, o); }

}  // namespace
}  // namespace ops
}  // namespace ndgrad
