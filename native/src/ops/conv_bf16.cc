// Convolution's bfloat16 path (kernels.h: conv2d_blocked_bf16): forward and data gradient on
// vdpbf16ps with float32 sums, each result rounded to bfloat16 once. As in conv_blocked.cc the
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

}  // namespace

bool run_blocked_bf16(OpCall& c, const Geo& g, int which) {
  if (which == kWeightGrad || g.G != 1 || g.dh != 1 || g.dw != 1 || g.sw > 2) return false;
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
