// Convolution (1-D NCW and 2-D NCHW; stride, pad, dilate, groups, bias) through im2col + the packed
// GEMM. Its gradients are two more ops, _conv_data_grad (col2im of Wᵀ·dY) and _conv_weight_grad
// (dY·colᵀ); the three are bilinear and each one's gradient is written with the others, so every
// order of differentiation works.
#include <algorithm>
#include <cstring>

#include "../kernels/kernels.h"
#include "../core/threadpool.h"
#include "ops.h"
#include "window.h"

namespace ndgrad {
namespace ops {
namespace {

enum Which { kConv = 0, kDataGrad = 1, kWeightGrad = 2 };

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

struct Geo : Window {
  int64_t F, G, dh, dw, OH, OW;
  int64_t Cg() const { return C / G; }
  int64_t Fg() const { return F / G; }
  int64_t K() const { return Cg() * kh * kw; }
  Shape x_shape() const { return nd == 1 ? Shape{N, C, W} : Shape{N, C, H, W}; }
  Shape w_shape() const { return nd == 1 ? Shape{F, Cg(), kw} : Shape{F, Cg(), kh, kw}; }
  Shape y_shape() const { return nd == 1 ? Shape{N, F, OW} : Shape{N, F, OH, OW}; }
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
  switch (c.op->param) {
    case kConv: return geometry(c.name(), o, c.inputs[0].shape, c.inputs[1].shape);
    case kDataGrad: return geometry(c.name(), o, shape_option(c, o.x_shape, "x_shape"), c.inputs[1].shape);
    default: return geometry(c.name(), o, c.inputs[0].shape, shape_option(c, o.w_shape, "w_shape"));
  }
}

void conv_infer(OpCall& c) {
  const char* op = c.name();
  int which = c.op->param;
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

template <class T>
void add_bias(OpCall& c, const Geo& g) {
  int64_t ohw = g.OH * g.OW;
  T* out = c.outputs[0].data<T>();
  if (c.op->param == kConv && c.inputs.size() == 3) {
    const T* b = c.inputs[2].data<T>();
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t f = 0; f < g.F; ++f) {
        T* y = out + (n * g.F + f) * ohw;
        for (int64_t i = 0; i < ohw; ++i) y[i] += b[f];
      }
  }
}

// Images are processed in chunks of nb: one im2col matrix (K, nb*OH*OW) per chunk and group, so
// each chunk is one large GEMM (threaded by the GEMM) instead of nb small ones; im2col, col2im and
// the layout changes run in parallel over the images.
template <class T>
void conv_run(OpCall& c, const Geo& g) {
  int which = c.op->param;
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

void conv_forward(OpCall& c) {
  Geo g = call_geo(c);
  if (c.outputs[0].size() == 0) return;
  // Empty contraction (no images for the weight gradient, no channels or taps): zeros (+ bias),
  // before conv_run sizes a scratch buffer for one image.
  if (g.N == 0 || g.K() == 0 || g.Fg() == 0 || g.OH * g.OW == 0) {
    fill(c.outputs[0], 0.0);
    NDGRAD_DISPATCH_FLOAT(c.outputs[0].dtype, T, add_bias<T>(c, g));
    return;
  }
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
  int which = g.op->param;
  NDArray dy = g.out_grad(0);
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  if (which == kConv) {
    Options at = grad_options(g, g.in_shapes[0], g.in_shapes[1]);
    if (g.need[0]) g.in_grads[0] = conv_call(kDataGrad, dy, b, at);
    if (g.need[1]) g.in_grads[1] = conv_call(kWeightGrad, a, dy, at);
    if (g.in_shapes.size() == 3 && g.need[2]) {
      std::vector<int64_t> axes = {0, 2};
      if (g.in_shapes[0].size() == 4) axes.push_back(3);
      g.in_grads[2] = sum(dy, axes, false);
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
  return OpDef::named(name).arity(2).rules(conv_infer, conv_forward, conv_backward).saves(3).with_flags(kScratch)
      .row(which).with_options<ConvOptions>();
}
const OpDef kDefs[] = {
    conv_op("Convolution", kConv).alias("convolution").arity(-1),
    conv_op("_conv_data_grad", kDataGrad),
    conv_op("_conv_weight_grad", kWeightGrad),
};
OpRegistrar r0(kDefs[0]), r1(kDefs[1]), r2(kDefs[2]);

NDArray conv_call(int which, const NDArray& a, const NDArray& b, const Options& o) {
  return invoke1(kDefs[which], {&a, &b}, o);
}

}  // namespace
}  // namespace ops
}  // namespace ndgrad
