// Convolution's bfloat16 path (kernels.h: conv2d_blocked_bf16): forward, data and weight gradient
// on vdpbf16ps with float32 sums, each result rounded to bfloat16 once. As in conv_blocked.cc the
// layouts change inside one call only: x padded with its channels in pairs (the operand order of
// vdpbf16ps, which adds two products per float32 lane), weights blocked by 16 filters, channels
// paired; the arrays the ops see stay NCHW.
#include <algorithm>

#include "../core/bf16.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "conv.h"

namespace ndgrad {
namespace ops {
namespace conv {
namespace {

constexpr int64_t kLanes = 16;  // filters per block: one zmm of float32 sums

const uint16_t* bits(const NDArray& a) { return static_cast<const uint16_t*>(a.raw()); }

// planes (C, rows, cols) -> the interior of dst, channel pairs (C/2 rounded up, prows, pcols, 2)
// with the data at (top, left); dst's pads (and an odd count's last channel) are zero and stay so.
void pair_planes(const uint16_t* src, int64_t C, int64_t rows, int64_t cols, uint16_t* dst, int64_t prows,
                 int64_t pcols, int64_t top, int64_t left) {
  for (int64_t c = 0; c < C; c += 2)
    for (int64_t r = 0; r < rows; ++r) {
      const uint16_t* __restrict s0 = src + (c * rows + r) * cols;
      const uint16_t* __restrict s1 = s0 + rows * cols;
      uint16_t* __restrict d = dst + (((c / 2) * prows + top + r) * pcols + left) * 2;
      if (c + 1 < C)
        for (int64_t q = 0; q < cols; ++q) d[2 * q] = s0[q], d[2 * q + 1] = s1[q];
      else
        for (int64_t q = 0; q < cols; ++q) d[2 * q] = s0[q];
    }
}

// Weights w (F, C, kk), or for rot the data gradient's (C, F, kk) turned around, blocked by 16
// output channels with the input channels in pairs (zero past either end).
NDArray paired_weights(const uint16_t* w, int64_t F, int64_t C, int64_t kk, bool rot) {
  const int64_t outs = rot ? C : F, ins = rot ? F : C, ip = (ins + 1) / 2, op = (outs + kLanes - 1) / kLanes * kLanes;
  NDArray wb = zeros(Shape{op * ip * kk * 2}, DType::BFloat16);
  uint16_t* d = static_cast<uint16_t*>(wb.raw());
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t e = 0; e < kk; ++e) {
        const int64_t o = rot ? c : f, i = rot ? f : c, t = rot ? kk - 1 - e : e;
        d[((((o / kLanes) * ip + i / 2) * kk + t) * kLanes + o % kLanes) * 2 + i % 2] = w[(f * C + c) * kk + e];
      }
  return wb;
}

// Images per partial sum of the weight gradient: fixed, so the sum's order (and its rounding)
// does not depend on the thread count.
constexpr int64_t kWgradImages = 16;

// x (C, H, W) -> xq (C, xh, xw, 2): padded by (ph, pw), each column with the one sw to its right.
void pair_columns(const uint16_t* x, const Geo& g, int64_t xh, int64_t xw, uint16_t* xq) {
  for (int64_t c = 0; c < g.C; ++c)
    for (int64_t r = 0; r < g.H; ++r) {
      const uint16_t* s = x + (c * g.H + r) * g.W;
      uint16_t* d = xq + (c * xh + g.ph + r) * xw * 2;
      auto at = [&](int64_t col) -> uint16_t { return col >= g.pw && col < g.pw + g.W ? s[col - g.pw] : 0; };
      for (int64_t col = 0; col < xw; ++col) d[2 * col] = at(col), d[2 * col + 1] = at(col + g.sw);
    }
}

// dY (F, OH, OW) -> dyq (OH, OW/2 rounded up, fp, 2): pixels in pairs along a row, by filters.
// Written in order (a row of every filter is read at a time, and stays in cache).
void pair_pixels(const uint16_t* dy, const Geo& g, int64_t fp, uint16_t* dyq) {
  const int64_t owp = (g.OW + 1) / 2, plane = g.OH * g.OW;
  for (int64_t oh = 0; oh < g.OH; ++oh)
    for (int64_t q = 0; q < owp; ++q) {
      const uint16_t* s = dy + oh * g.OW + 2 * q;
      uint16_t* d = dyq + (oh * owp + q) * fp * 2;
      if (2 * q + 1 < g.OW)
        for (int64_t f = 0; f < g.F; ++f) d[2 * f] = s[f * plane], d[2 * f + 1] = s[f * plane + 1];
      else
        for (int64_t f = 0; f < g.F; ++f) d[2 * f] = s[f * plane];
    }
}

// The weight gradient: chunks of images laid out for the kernel, the channels split over the
// threads (each adds the same groups of images in the same order, whoever runs it), the chunks'
// partial sums added in order, rounded once.
bool weight_grad(OpCall& c, const Geo& g) {
  const int64_t kk = g.kh * g.kw, owp = (g.OW + 1) / 2;
  kernels::ConvBlockedShape s{g.C, g.H + 2 * g.ph, g.W + 2 * g.pw, g.sh, g.sw, g.F, g.kh, g.kw, kLanes, g.OH, g.OW, g.ph, g.H};
  kernels::ConvBlockedShape probe = s;
  probe.OH = 0;
  if (!kernels::conv2d_blocked_wgrad_bf16(probe, 0, nullptr, 0, nullptr, 0, nullptr, 0, 0)) return false;
  const int64_t fp = s.fpad(), x_img = g.C * s.xh * s.xw * 2, dy_img = g.OH * owp * fp * 2, wsize = fp * g.C * kk;
  // pads, filters past F and an odd row's missing pixel are zero once and never written
  NDArray xbuf = zeros(Shape{kWgradImages, x_img}, DType::BFloat16), dybuf = zeros(Shape{kWgradImages, dy_img}, DType::BFloat16);
  NDArray partial = empty(Shape{wsize}, DType::Float32), total = zeros(Shape{wsize}, DType::Float32);
  uint16_t *xq = static_cast<uint16_t*>(xbuf.raw()), *dyq = static_cast<uint16_t*>(dybuf.raw());
  float *part = partial.data<float>(), *sum = total.data<float>();
  const uint16_t *x = bits(c.inputs[0]), *dy = bits(c.inputs[1]);
  const int64_t group = std::max<int64_t>(1, (int64_t(256) << 10) / (2 * dy_img));  // dY of a group stays in cache
  for (int64_t n0 = 0; n0 < g.N; n0 += kWgradImages) {
    const int64_t nn = std::min(kWgradImages, g.N - n0);
    parallel_for(nn, 1, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        pair_columns(x + (n0 + i) * g.C * g.H * g.W, g, s.xh, s.xw, xq + i * x_img);
        pair_pixels(dy + (n0 + i) * g.F * g.OH * g.OW, g, fp, dyq + i * dy_img);
      }
    });
    std::fill(part, part + wsize, 0.f);
    parallel_for(g.C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t i = 0; i < nn; i += group)
        kernels::conv2d_blocked_wgrad_bf16(s, std::min(group, nn - i), xq + i * x_img, x_img, dyq + i * dy_img, dy_img,
                                           part, c0, c1);
    });
    for (int64_t e = 0; e < wsize; ++e) sum[e] += part[e];
  }
  uint16_t* out = static_cast<uint16_t*>(c.outputs[0].raw());  // unblocked into (F, C, kh, kw)
  for (int64_t f = 0; f < g.F; ++f)
    for (int64_t e = 0; e < g.C * kk; ++e)
      out[f * g.C * kk + e] = float_to_bf16(sum[((f / kLanes) * g.C * kk + e) * kLanes + f % kLanes]);
  return true;
}

}  // namespace

bool run_blocked_bf16(OpCall& c, const Geo& g, int which) {
  if (g.G != 1 || g.dh != 1 || g.dw != 1 || g.sw > 2) return false;
  // Measured (Zen 5, 1 thread): with few channels laying out dY costs more than the kernel saves
  // (the CNN's first layer, one channel: 0.54 vs 0.20 ms on float32 copies), as in float32.
  if (which == kWeightGrad) return g.C >= 8 && weight_grad(c, g);
  if (which == kDataGrad && (g.sh != 1 || g.sw != 1 || g.ph >= g.kh || g.pw >= g.kw)) return false;
  const bool data_grad = which == kDataGrad;
  // the data gradient is the forward on dY padded by kernel - 1 - pad, with the weights turned around
  const int64_t ins = data_grad ? g.F : g.C, outs = data_grad ? g.C : g.F, kk = g.kh * g.kw;
  const int64_t rows = data_grad ? g.OH : g.H, cols = data_grad ? g.OW : g.W;
  const int64_t top = data_grad ? g.kh - 1 - g.ph : g.ph, left = data_grad ? g.kw - 1 - g.pw : g.pw;
  // Measured (Zen 5, 1 thread): with fewer than 32 multiply-adds per output (the CNN's first layer,
  // one channel: 0.59 vs 0.26 ms) writing the sums out costs more than the pairs save, and fewer
  // than 16 outputs leave lanes empty; the float32 kernels do better there.
  if (ins * kk < 32 || outs < kLanes) return false;
  kernels::ConvBlockedShape s{(ins + 1) / 2, rows + 2 * top, cols + 2 * left, data_grad ? 1 : g.sh,
                              data_grad ? 1 : g.sw, outs, g.kh, g.kw, kLanes, data_grad ? g.H : g.OH,
                              data_grad ? g.W : g.OW, top, rows};
  s.relu = !data_grad && fused_relu(c);
  kernels::ConvBlockedShape probe = s;
  probe.OH = 0;
  if (!kernels::conv2d_blocked_bf16(probe, nullptr, nullptr, nullptr, nullptr, 0, 0)) return false;
  NDArray wb = paired_weights(bits(c.inputs[1]), g.F, g.C, kk, data_grad), bb;
  const float* bias = nullptr;
  if (!data_grad && c.inputs.size() == 3) {
    bb = zeros(Shape{s.fpad()}, DType::Float32);
    bf16_to_float_n(bits(c.inputs[2]), bb.data<float>(), g.F);
    bias = bb.data<float>();
  }
  const int64_t plane = s.OH * s.OW, x_img = s.C * s.xh * s.xw * 2, y_img = outs * plane, src_img = ins * rows * cols;
  // Work items: an image's pair of filter blocks (the kernel's register tile), one run of items
  // per thread; a run pairs each of its images once into its own scratch and rounds each item's
  // float32 sums (contiguous planes of NCHW) while they are in cache.
  const int64_t nfb = s.fpad() / kLanes, pairs = (nfb + 1) / 2, items = g.N * pairs;
  const int64_t runs = std::max<int64_t>(1, std::min<int64_t>(items, num_threads()));
  NDArray xbuf = zeros(Shape{runs, x_img}, DType::BFloat16), ybuf = empty(Shape{runs, y_img}, DType::Float32);
  const uint16_t* src = bits(c.inputs[0]);
  const uint16_t* w = bits(wb);
  uint16_t* y = static_cast<uint16_t*>(c.outputs[0].raw());
  parallel_for(runs, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      uint16_t* xb = static_cast<uint16_t*>(xbuf.raw()) + r * x_img;
      float* yb = ybuf.data<float>() + r * y_img;
      for (int64_t t = items * r / runs, paired = -1; t < items * (r + 1) / runs; ++t) {
        const int64_t n = t / pairs, fb = t % pairs * 2, f0 = fb * kLanes, f1 = std::min(outs, (fb + 2) * kLanes);
        if (n != paired) pair_planes(src + n * src_img, ins, rows, cols, xb, s.xh, s.xw, top, left);
        paired = n;
        kernels::conv2d_blocked_bf16(s, xb, w, bias, yb, fb, std::min(fb + 2, nfb));
        float_to_bf16_n(yb + f0 * plane, y + n * y_img + f0 * plane, (f1 - f0) * plane);
      }
    }
  });
  return true;
}

}  // namespace conv
}  // namespace ops
}  // namespace ndgrad
