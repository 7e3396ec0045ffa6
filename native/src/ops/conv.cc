// Convolution (1-D NCW and 2-D NCHW; stride, pad, dilate, groups, bias) through im2col + the packed
// GEMM. Its gradients are two more ops, _conv_data_grad (col2im of Wᵀ·dY) and _conv_weight_grad
// (dY·colᵀ); the three are bilinear and each one's gradient is written with the others, so every
// order of differentiation works.
#include <algorithm>

#include "../core/bf16.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "ops.h"
#include "conv.h"

namespace ndgrad {
namespace ops {
namespace {
using conv::Geo;
using conv::kConv;
using conv::kDataGrad;
using conv::kWeightGrad;

// The direct path's limit on filters and channels per group (beyond it im2col + GEMM wins).
constexpr int64_t kDirectMaxFilters = 64;

// The three ops' options: the gradient ops also get x's or w's shape.
struct ConvOptions {
  Ints kernel, stride, pad, dilate;
  Maybe<int64_t> num_filter;  // absent: the weight's
  int64_t num_group = 1;
  bool no_bias = false;
  Maybe<Ints> x_shape, w_shape;
  NDGRAD_FIELDS(v("kernel", kernel), v("stride", stride), v("pad", pad), v("dilate", dilate),
                v("num_filter", num_filter), v("num_group", num_group), v("no_bias", no_bias),
                v("x_shape", x_shape, kArgument), v("w_shape", w_shape, kArgument))
};


// Geometry from x's and w's shapes (either may come from the options for the gradient ops).
Geo geometry(const char* op, const ConvOptions& o, const Shape& xs, const Shape& ws) {
  const Ints& k = o.kernel;
  if (k.empty() || k.size() > 2)
    fail(code::BAD_ARGUMENT, op, ": kernel must have 1 or 2 entries (1-D or 2-D convolution)");
  int nd = static_cast<int>(k.size());
  for (int64_t d : k)
    if (d < 1) fail(code::BAD_ARGUMENT, op, ": kernel entries must be >= 1, got ", shape_str(Shape(k)));
  if (xs.size() != static_cast<size_t>(nd + 2))
    fail(code::SHAPE_MISMATCH, op, ": data ", shape_str(xs), " must be ", nd + 2, "-D (", nd == 1 ? "NCW" : "NCHW",
         ") for a ", nd, "-D kernel ", shape_str(Shape(k)));
  if (ws.size() != xs.size())
    fail(code::SHAPE_MISMATCH, op, ": weight ", shape_str(ws), " must be ", nd + 2, "-D for data ", shape_str(xs));
  Ints st = spatial(op, "stride", o.stride, nd, 1, 1), pd = spatial(op, "pad", o.pad, nd, 0, 0),
       dl = spatial(op, "dilate", o.dilate, nd, 1, 1);
  Geo g;
  static_cast<Window&>(g) = window_of(nd, xs, k, st, pd);
  g.dh = g.nd == 1 ? 1 : dl[0];
  g.dw = dl.back();
  g.G = o.num_group;
  if (g.G < 1) fail(code::BAD_ARGUMENT, op, ": numGroup must be >= 1, got ", g.G);
  g.F = ws[0];
  int64_t nf = o.num_filter.value_or(g.F);
  if (nf != g.F) fail(code::SHAPE_MISMATCH, op, ": numFilter ", nf, " does not match weight ", shape_str(ws));
  if (g.C % g.G != 0 || g.F % g.G != 0)
    fail(code::SHAPE_MISMATCH, op, ": numGroup ", g.G, " must divide the input channels of data ", shape_str(xs),
         " and the filters of weight ", shape_str(ws));
  if (ws[1] * g.G != g.C)
    fail(code::SHAPE_MISMATCH, op, ": weight ", shape_str(ws), " expects ", ws[1] * g.G, " input channels, got ", g.C,
         " in data ", shape_str(xs));
  if ((g.nd == 2 && (ws[2] != g.kh || ws[3] != g.kw)) || (g.nd == 1 && ws[2] != g.kw))
    fail(code::SHAPE_MISMATCH, op, ": weight ", shape_str(ws), " does not match kernel ", shape_str(Shape(k)));
  int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
  if (g.H + 2 * g.ph < eh || g.W + 2 * g.pw < ew)
    fail(code::SHAPE_MISMATCH, op, ": kernel ", shape_str(Shape(k)), " (dilated) is larger than the padded data ",
         shape_str(xs));
  g.OH = (g.H + 2 * g.ph - eh) / g.sh + 1;
  g.OW = (g.W + 2 * g.pw - ew) / g.sw + 1;
  return g;
}

// x: (Cg, H, W) -> col rows of the (K, ld) matrix, this image's OH*OW columns starting at col.
template <class T>
void im2col(const Geo& g, const T* x, T* col, int64_t ld) {
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t ki = 0; ki < g.kh; ++ki)
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        T* row = col + ((c * g.kh + ki) * g.kw + kj) * ld;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sh - g.ph + ki * g.dh;
          T* r = row + oh * g.OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(r, r + g.OW, T(0));
            continue;
          }
          const T* xr = x + (c * g.H + ih) * g.W;
          int64_t iw0 = -g.pw + kj * g.dw;
          if (g.sw == 1 && iw0 >= 0 && iw0 + g.OW <= g.W) {  // interior row: a plain copy
            std::copy(xr + iw0, xr + iw0 + g.OW, r);
            continue;
          }
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * g.sw + iw0;
            r[ow] = (iw >= 0 && iw < g.W) ? xr[iw] : T(0);
          }
        }
      }
}

// x (Cg, H, W) += this image's columns of col (K, ld), scattered back.
template <class T>
void col2im(const Geo& g, const T* col, T* x, int64_t ld) {
  for (int64_t c = 0; c < g.Cg(); ++c)
    for (int64_t ki = 0; ki < g.kh; ++ki)
      for (int64_t kj = 0; kj < g.kw; ++kj) {
        const T* row = col + ((c * g.kh + ki) * g.kw + kj) * ld;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          int64_t ih = oh * g.sh - g.ph + ki * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          T* xr = x + (c * g.H + ih) * g.W;
          const T* r = row + oh * g.OW;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            int64_t iw = ow * g.sw - g.pw + kj * g.dw;
            if (iw >= 0 && iw < g.W) xr[iw] += r[ow];
          }
        }
      }
}

Shape shape_option(const OpCall& c, const Maybe<Ints>& s, const char* key) {
  if (!s) fail(code::BAD_ARGUMENT, c.name(), ": needs ", key);
  return Shape(*s);
}

// Inputs per op: conv (x, w[, b]); data_grad (dy, w) + attr x_shape; weight_grad (x, dy) + attr w_shape.
Geo call_geo(const OpCall& c) {
  const ConvOptions& o = c.opts<ConvOptions>();
  switch (conv::which_op(c)) {
    case kConv: return geometry(c.name(), o, c.inputs[0].shape, c.inputs[1].shape);
    case kDataGrad: return geometry(c.name(), o, shape_option(c, o.x_shape, "x_shape"), c.inputs[1].shape);
    default: return geometry(c.name(), o, c.inputs[0].shape, shape_option(c, o.w_shape, "w_shape"));
  }
}

void conv_infer(OpCall& c) {
  const char* op = c.name();
  int which = conv::which_op(c);
  if (which == kConv) {
    bool no_bias = c.opts<ConvOptions>().no_bias;
    size_t want = no_bias ? 2 : 3;
    if (c.inputs.size() != want)
      fail(code::BAD_ARGUMENT, op, ": expects ", want, " arrays (data, weight", no_bias ? "" : ", bias", "), got ",
           c.inputs.size());
  } else if (c.inputs.size() != 2) {
    fail(code::BAD_ARGUMENT, op, ": expects 2 arrays");
  }
  expect_same_dtype(c);
  expect_float(c, 0);
  Geo g = call_geo(c);
  if (which == kConv && c.inputs.size() == 3 && c.inputs[2].shape != Shape{g.F})
    fail(code::SHAPE_MISMATCH, op, ": bias ", shape_str(c.inputs[2].shape), " must have shape (", g.F, ") for weight ",
         shape_str(c.inputs[1].shape));
  if (which == kDataGrad && c.inputs[0].shape != g.y_shape())
    fail(code::SHAPE_MISMATCH, op, ": gradient ", shape_str(c.inputs[0].shape), " must have shape ", shape_str(g.y_shape()));
  if (which == kWeightGrad && c.inputs[1].shape != g.y_shape())
    fail(code::SHAPE_MISMATCH, op, ": gradient ", shape_str(c.inputs[1].shape), " must have shape ", shape_str(g.y_shape()));
  c.out_shapes = {which == kConv ? g.y_shape() : which == kDataGrad ? g.x_shape() : g.w_shape()};
  c.out_dtypes = {c.inputs[0].dtype};
}

// The output pass of the paths without it in their kernels: y += bias, then the fused ReLU.
template <class T>
void add_bias(OpCall& c, const Geo& g) {
  int64_t ohw = g.OH * g.OW;
  T* out = c.outputs[0].data<T>();
  if (conv::which_op(c) == kConv && c.inputs.size() == 3) {
    const T* b = c.inputs[2].data<T>();
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t f = 0; f < g.F; ++f) {
        T* y = out + (n * g.F + f) * ohw;
        for (int64_t i = 0; i < ohw; ++i) y[i] += b[f];
      }
  }
  if (conv::fused_relu(c))
    for (int64_t i = 0, n = c.outputs[0].size(); i < n; ++i) out[i] = out[i] > T(0) ? out[i] : T(0);
}

// Images are processed in chunks of nb: one im2col matrix (K, nb*OH*OW) per chunk and group, so
// each chunk is one large GEMM (threaded by the GEMM) instead of nb small ones; im2col, col2im and
// the layout changes run in parallel over the images.
template <class T>
void conv_run(OpCall& c, const Geo& g) {
  int which = conv::which_op(c);
  int dt = static_cast<int>(c.outputs[0].dtype);
  int64_t ohw = g.OH * g.OW, K = g.K(), Fg = g.Fg(), hw = g.H * g.W;
  const int64_t kChunkElems = int64_t(8) << 20;  // im2col buffer budget per chunk (elements)
  int64_t nb = std::max<int64_t>(1, std::min<int64_t>(g.N, kChunkElems / std::max<int64_t>(1, K * ohw)));
  NDArray colbuf = empty(Shape{K, nb * ohw}, c.outputs[0].dtype);
  NDArray ybuf = empty(Shape{Fg, nb * ohw}, c.outputs[0].dtype);  // (Fg, images x OH*OW)
  T* col = colbuf.data<T>();
  T* yb = ybuf.data<T>();
  T* out = c.outputs[0].data<T>();
  if (which != kConv) fill(c.outputs[0], 0.0);
  for (int64_t n0 = 0; n0 < g.N; n0 += nb) {
    int64_t nn = std::min(nb, g.N - n0), ld = nn * ohw;
    for (int64_t gr = 0; gr < g.G; ++gr) {
      // (n, gr*Fg + f, :) <-> yb(f, i*ohw + :) for the images of this chunk
      auto gather_dy = [&](const T* dy) {
        parallel_for(nn * Fg, 1 + 16384 / (ohw + 1), [&](int64_t a, int64_t b) {
          for (int64_t t = a; t < b; ++t) {
            int64_t i = t / Fg, f = t % Fg;
            const T* src = dy + ((n0 + i) * g.F + gr * Fg + f) * ohw;
            std::copy(src, src + ohw, yb + f * ld + i * ohw);
          }
        });
      };
      auto unfold_x = [&](const T* x) {
        parallel_for(nn, 1, [&](int64_t a, int64_t b) {
          for (int64_t i = a; i < b; ++i) im2col(g, x + ((n0 + i) * g.C + gr * g.Cg()) * hw, col + i * ohw, ld);
        });
      };
      if (which == kConv) {
        unfold_x(c.inputs[0].data<T>());
        kernels::gemm(dt, false, false, Fg, ld, K, c.inputs[1].data<T>() + gr * Fg * K, K, col, ld, yb, ld, false);
        parallel_for(nn * Fg, 1 + 16384 / (ohw + 1), [&](int64_t a, int64_t b) {
          for (int64_t t = a; t < b; ++t) {
            int64_t i = t / Fg, f = t % Fg;
            const T* src = yb + f * ld + i * ohw;
            std::copy(src, src + ohw, out + ((n0 + i) * g.F + gr * Fg + f) * ohw);
          }
        });
      } else if (which == kDataGrad) {
        gather_dy(c.inputs[0].data<T>());
        kernels::gemm(dt, true, false, K, ld, Fg, c.inputs[1].data<T>() + gr * Fg * K, K, yb, ld, col, ld, false);
        parallel_for(nn, 1, [&](int64_t a, int64_t b) {
          for (int64_t i = a; i < b; ++i) col2im(g, col + i * ohw, out + ((n0 + i) * g.C + gr * g.Cg()) * hw, ld);
        });
      } else {
        unfold_x(c.inputs[0].data<T>());
        gather_dy(c.inputs[1].data<T>());
        kernels::gemm(dt, false, true, Fg, K, ld, yb, ld, col, ld, out + gr * Fg * K, K, true);
      }
    }
  }
  add_bias<T>(c, g);
}

// ---- Direct path (kernels.h: conv2d_f32, conv2d_wgrad_f32) ----
// 2-D float32 convolutions with stride 1, no dilation, pads smaller than the kernel and few
// filters per group: there im2col copies each input kh*kw times for only a few multiply-adds per
// copy. The data gradient is the same kernel run on dY (rows padded by kw-1-pw, first row at
// kh-1-ph) with the weights turned around: dX[c] = sum_f dY[f] (*) rot180(W[f, c]).
bool direct_fits(const Geo& g, DType dt) {
  // Measured (AVX-512, 1 thread): direct wins up to 64 channels, except with many filters on
  // short rows (32->64, 13x13: vectors a third empty, while the GEMM's tiles are full).
  return dt == DType::Float32 && g.nd == 2 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.ph < g.kh &&
         g.pw < g.kw && g.Fg() <= kDirectMaxFilters && g.Cg() <= kDirectMaxFilters && (g.Fg() <= 32 || g.OW >= 16);
}

// Copies the rows of `planes` planes (rows x cols) into dst, whose rows are xw wide and start at
// column lpad (dst's pads are zero and stay so).
void pad_rows(const float* src, int64_t planes, int64_t rows, int64_t cols, float* dst, int64_t xw, int64_t lpad) {
  for (int64_t r = 0; r < planes * rows; ++r) std::copy(src + r * cols, src + (r + 1) * cols, dst + r * xw + lpad);
}

// Runs fn(begin, end, scratch) over [0, n) in at most one part per thread, each part with `per_part`
// zeroed floats of scratch; taken from the allocator at once, so a memory limit counts them.
template <class F>
void in_parts(int64_t n, int64_t per_part, const F& fn) {
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(n, num_threads()));
  NDArray scratch = zeros(Shape{parts, per_part}, DType::Float32);
  float* base = scratch.data<float>();
  parallel_for(parts, 1, [&](int64_t a, int64_t b) {
    for (int64_t p = a; p < b; ++p) fn(n * p / parts, n * (p + 1) / parts, base + p * per_part);
  });
}

bool conv_direct(OpCall& c, const Geo& g) {
  const kernels::KernelTable& kt = kernels::table();
  const int which = conv::which_op(c);
  const int64_t Cg = g.Cg(), Fg = g.Fg(), kk = g.kh * g.kw, slack = kernels::kConvReadSlack;
  float* out = c.outputs[0].data<float>();
  if (which == kWeightGrad) {
    const kernels::Conv2dShape s{Cg, g.H, g.W + 2 * g.pw, g.ph, Fg, g.kh, g.kw, g.OH, g.OW};
    if (!kt.conv2d_wgrad_f32(s, 0, nullptr, 0, nullptr, 0, nullptr)) return false;  // no kernel for this kw
    // Fixed chunks of images, each summed into its own partial, added in order: the result does
    // not depend on the thread count.
    const int64_t kImgs = 16, chunks = (g.N + kImgs - 1) / kImgs, wsize = g.F * Cg * kk, x_img = Cg * g.H * s.xw;
    NDArray partials = zeros(Shape{chunks, wsize}, DType::Float32);
    float* part = partials.data<float>();
    const float* x = c.inputs[0].data<float>();
    const float* dy = c.inputs[1].data<float>();
    in_parts(chunks * g.G, kImgs * x_img + slack, [&](int64_t a, int64_t b, float* buf) {
      for (int64_t t = a; t < b; ++t) {
        int64_t n0 = t / g.G * kImgs, gr = t % g.G, nn = std::min(kImgs, g.N - n0);
        for (int64_t n = 0; n < nn; ++n)
          pad_rows(x + ((n0 + n) * g.C + gr * Cg) * g.H * g.W, Cg, g.H, g.W, buf + n * x_img, s.xw, g.pw);
        kt.conv2d_wgrad_f32(s, nn, buf, x_img, dy + (n0 * g.F + gr * Fg) * g.OH * g.OW, g.F * g.OH * g.OW,
                            part + t / g.G * wsize + gr * Fg * Cg * kk);
      }
    });
    std::fill(out, out + wsize, 0.f);
    for (int64_t k = 0; k < chunks; ++k)
      for (int64_t e = 0; e < wsize; ++e) out[e] += part[k * wsize + e];
    return true;
  }
  const bool fwd = which == kConv;
  const kernels::Conv2dShape s = fwd ? kernels::Conv2dShape{Cg, g.H, g.W + 2 * g.pw, g.ph, Fg, g.kh, g.kw, g.OH, g.OW}
                                     : kernels::Conv2dShape{Fg, g.OH, g.W + g.kw - 1, g.kh - 1 - g.ph, Cg, g.kh, g.kw, g.H, g.W};
  kernels::Conv2dShape probe = s;
  probe.OH = 0;
  if (!kt.conv2d_f32(probe, nullptr, nullptr, nullptr)) return false;
  const float* src = c.inputs[0].data<float>();  // x, or dY for the data gradient
  const float* w = c.inputs[1].data<float>();
  NDArray rot;
  if (!fwd) {  // rot[gr, c, f, kh-1-i, kw-1-j] = w[gr, f, c, i, j]
    rot = empty(Shape{g.F * Cg * kk}, DType::Float32);
    float* r = rot.data<float>();
    for (int64_t gr = 0; gr < g.G; ++gr)
      for (int64_t f = 0; f < Fg; ++f)
        for (int64_t ch = 0; ch < Cg; ++ch)
          for (int64_t e = 0; e < kk; ++e) r[((gr * Cg + ch) * Fg + f) * kk + (kk - 1 - e)] = w[((gr * Fg + f) * Cg + ch) * kk + e];
    w = r;
  }
  const int64_t src_ch = fwd ? g.C : g.F, src_w = fwd ? g.W : g.OW, lpad = fwd ? g.pw : g.kw - 1 - g.pw;
  const int64_t dst_img = (fwd ? g.F : g.C) * s.OH * s.OW;
  const float* bias = fwd && c.inputs.size() == 3 ? c.inputs[2].data<float>() : nullptr;
  const bool relu = fwd && conv::fused_relu(c);
  in_parts(g.N * g.G, s.C * s.H * s.xw + slack, [&](int64_t a, int64_t b, float* buf) {
    for (int64_t t = a; t < b; ++t) {
      int64_t n = t / g.G, gr = t % g.G;
      pad_rows(src + (n * src_ch + gr * s.C) * s.H * src_w, s.C, s.H, src_w, buf, s.xw, lpad);
      float* y = out + n * dst_img + gr * s.F * s.OH * s.OW;
      kt.conv2d_f32(s, buf, w + gr * Fg * Cg * kk, y);
      if (bias)  // while this image's outputs are in cache
        for (int64_t f = 0; f < s.F; ++f)
          for (int64_t e = 0; e < s.OH * s.OW; ++e) y[f * s.OH * s.OW + e] += bias[gr * s.F + f];
      if (relu)
        for (int64_t e = 0; e < s.F * s.OH * s.OW; ++e) y[e] = y[e] > 0.f ? y[e] : 0.f;
    }
  });
  return true;
}

void conv_forward(OpCall& c);

// bfloat16 arrays: the vdpbf16ps kernels where they fit, else the float32 paths on float32 copies
// with the result rounded once (the numbers of bf16.cc's rule for ops without a bfloat16 kernel).
void conv_forward_bf16(OpCall& c, const Geo& g) {
  if (g.N > 0 && g.K() > 0 && g.OH * g.OW > 0 && conv::run_blocked_bf16(c, g, conv::which_op(c))) return;
  ArrayList wide;
  for (const NDArray& a : c.inputs) wide.push_back(astype(a, DType::Float32));
  OpCall wc = c;
  wc.inputs = InputList(wide);
  wc.outputs = {empty(c.outputs[0].shape, DType::Float32)};
  conv_forward(wc);
  copy_into(wc.outputs[0], c.outputs[0]);
}

void conv_forward(OpCall& c) {
  Geo g = call_geo(c);
  if (c.outputs[0].size() == 0) return;
  if (c.outputs[0].dtype == DType::BFloat16) return conv_forward_bf16(c, g);
  // Empty contraction (no images for the weight gradient, no channels or taps): zeros (+ bias),
  // before conv_run sizes a scratch buffer for one image.
  if (g.N == 0 || g.K() == 0 || g.Fg() == 0 || g.OH * g.OW == 0) {
    fill(c.outputs[0], 0.0);
    NDGRAD_DISPATCH_FLOAT(c.outputs[0].dtype, T, add_bias<T>(c, g));
    return;
  }
  const bool direct = direct_fits(g, c.outputs[0].dtype);
  if (conv::run_blocked(c, g, conv::which_op(c), direct)) return;  // bias and ReLU applied there
  if (direct && conv_direct(c, g)) return;                    // and there
  NDGRAD_DISPATCH_FLOAT(c.outputs[0].dtype, T, conv_run<T>(c, g));
}

// The options of the gradient ops: the forward's, with both operand shapes and no bias.
ConvOptions grad_options(const GradCall& g, const Shape& x_shape, const Shape& w_shape) {
  ConvOptions o = g.opts<ConvOptions>();
  o.no_bias = true;
  o.x_shape = x_shape.vec();
  o.w_shape = w_shape.vec();
  return o;
}
NDArray conv_call(int which, const NDArray& a, const NDArray& b, const Options& o);

void conv_backward(GradCall& g) {
  int which = g.op->param & 3;
  NDArray dy = g.out_grad(0);
  // _conv_relu: the gradient of the convolution's sums, dy where the output is positive (relu's rule)
  if (g.op->param & conv::kFusedRelu) dy = relu_mask(dy, g.outputs[0]);
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  if (which == kConv) {
    Options at = grad_options(g, g.in_shapes[0], g.in_shapes[1]);
    if (g.need[0]) g.in_grads[0] = conv_call(kDataGrad, dy, b, at);
    if (g.need[1]) g.in_grads[1] = conv_call(kWeightGrad, a, dy, at);
    if (g.in_shapes.size() == 3 && g.need[2]) {
      // over each image's contiguous OH*OW first, then over the images: two fast reductions (one
      // over axes (0, 2, 3) strides through all of dY: 9x slower for LeNet's first layer)
      const Shape& ys = dy.shape;
      int64_t N = ys[0], F = ys[1], hw = N * F == 0 ? 0 : dy.size() / (N * F);
      // (bfloat16: both sums in float32, rounded once)
      const bool bf = dy.dtype == DType::BFloat16;
      NDArray db = sum(sum(reshape(bf ? astype(dy, DType::Float32) : dy, Shape{N, F, hw}), {2}, false), {0}, false);
      g.in_grads[2] = bf ? astype(db, DType::BFloat16) : db;
    }
  } else if (which == kDataGrad) {  // a = dY, b = W; out-grad has x's shape
    Options at = grad_options(g, g.out_shapes[0], g.in_shapes[1]);
    if (g.need[0]) g.in_grads[0] = conv_call(kConv, dy, b, at);
    if (g.need[1]) g.in_grads[1] = conv_call(kWeightGrad, dy, a, at);
  } else {  // a = X, b = dY; out-grad has w's shape
    Options at = grad_options(g, g.in_shapes[0], g.out_shapes[0]);
    if (g.need[0]) g.in_grads[0] = conv_call(kDataGrad, b, dy, at);
    if (g.need[1]) g.in_grads[1] = conv_call(kConv, a, dy, at);
  }
}

// Each of the three is the others' gradient, called with the shapes backward passes.
constexpr OpDef conv_op(const char* name, int which) {
  return OpDef::named(name).arity(2).rules(conv_infer, conv_forward, conv_backward).saves(3).with_flags(kScratch | kBF16Native)
      .row(which).with_options<ConvOptions>();
}
const OpDef kDefs[] = {
    conv_op("Convolution", kConv).alias("convolution").arity(-1),
    conv_op("_conv_data_grad", kDataGrad),
    conv_op("_conv_weight_grad", kWeightGrad),
    // relu(Convolution(...)) as one op (Gluon's Conv2D with activation 'relu'): the ReLU in the
    // output pass, its mask taken from the saved output in backward
    conv_op("_conv_relu", kConv | conv::kFusedRelu).arity(-1).saves(3, 1),
};
OpRegistrar r0(kDefs[0]), r1(kDefs[1]), r2(kDefs[2]), r3(kDefs[3]);
NDArray conv_call(int which, const NDArray& a, const NDArray& b, const Options& o) {
  return invoke1(kDefs[which], {&a, &b}, o);
}

}  // namespace
}  // namespace ops
}  // namespace ndgrad
