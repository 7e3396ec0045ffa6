// Convolution's blocked direct path (kernels.h: ConvBlockedShape): the layout changes around the
// kernels (weights blocked by the SIMD width of filters, x padded, dY turned pixels-by-filters for
// the weight gradient; with a stride, the data gradient one phase at a time) and the split of the
// work over the thread pool. The arrays the ops see stay
// NCHW; the blocked layouts live only inside one call.
#include <algorithm>
#include <cstring>

#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "conv.h"

namespace ndgrad {
namespace ops {
namespace conv {
namespace {

// Images per partial sum of the weight gradient: fixed, so the sum's order (and its rounding)
// does not depend on the thread count.
constexpr int64_t kWgradImages = 16;

// Share of the lanes the direct kernels (conv_code.inc, lanes along a row) fill on rows of n.
double row_fill(int64_t n, int64_t lanes) { return double(n) / double((n + lanes - 1) / lanes * lanes); }

// Measured (AMD Zen 5, 1 thread, CPU ms of forward / data gradient / weight gradient; the CNN
// step's layers, LeNet's, 3x3 layers of 4 to 128 channels on 11 to 56 wide rows, stride 2): the
// blocked kernels need enough multiply-adds per pixel to pay for writing the sums out one filter at
// a time (C*kh*kw >= 32: not a first layer) and enough filters to fill the lanes. Then they beat
// im2col + GEMM (128->128 on 28x28, AVX-512: 3.7 / 3.7 / 4.0 vs 6.9 / 7.2 / 6.4) and, with AVX2's
// 8 lanes, the direct kernels everywhere (16->16 on 32x32: 0.35 / 0.35 vs 0.52 / 0.52). With
// AVX-512's 16 lanes the direct kernels keep rows that fill their vectors with few channels
// (16->16 on 32x32: 0.18 / 0.17 vs 0.25 / 0.26; 32->32 on 28x28 goes blocked: 0.52 vs 0.57) and
// lose on short rows (the step's 32->64 on 11x11: 0.65 / 0.77 vs 1.12 / 1.38). The blocked weight
// gradient wins from 8 channels on (32->32 on 28x28: 0.55 vs 1.30) and loses below (4->32 on
// 32x32: 0.66 vs 0.36). NEON (4 lanes) is not measured: it takes AVX2's rule.
bool fits(const Geo& g, DType dt, int which, int64_t block, bool direct) {
  if (block == 0 || dt != DType::Float32 || g.G != 1 || g.dh != 1 || g.dw != 1) return false;
  if (g.sw > 2 || g.kw > 7) return false;
  if (which == kDataGrad && (g.ph >= g.kh || g.pw >= g.kw)) return false;
  // With a stride the data gradient runs on rows of W / stride (data_grad_strided). Measured (Zen 5,
  // AVX-512, 1 thread, CPU ms, batch 32, stride 2) against im2col + GEMM: it wins on rows of 14 or
  // 16 (64->128 3x3 on 28x28: 4.9 vs 6.8; 1x1: 0.78 vs 0.96; 32->32 on 32x32: 1.3 vs 2.0) and loses
  // on rows of 7 (128->256 on 14x14: 5.6 vs 5.1); the line is drawn halfway.
  if (which == kDataGrad && (g.sh > 1 || g.sw > 1) && (g.W + g.sw - 1) / g.sw < 10) return false;
  // the data gradient runs the forward kernel with the roles of C and F exchanged
  const int64_t in = which == kDataGrad ? g.F : g.C, out = which == kDataGrad ? g.C : g.F;
  if (in * g.kh * g.kw < 32 || out < block) return false;
  if (!direct) return true;
  if (which == kWeightGrad) return g.C >= 8 || row_fill(g.OW, block) < 0.8;
  return block < 16 || in * g.kh * g.kw >= 256 || row_fill(which == kDataGrad ? g.W : g.OW, block) < 0.8;
}

// planes (rows x cols) -> dst planes (prows x pcols) with the data at (top, left), zeros around.
void pad_planes(const float* src, int64_t planes, int64_t rows, int64_t cols, float* dst, int64_t prows, int64_t pcols,
                int64_t top, int64_t left) {
  std::fill(dst, dst + planes * prows * pcols, 0.f);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t r = 0; r < rows; ++r)
      std::copy(src + (p * rows + r) * cols, src + (p * rows + r + 1) * cols, dst + (p * prows + top + r) * pcols + left);
}

// Weights w (F, C, kh*kw), or for rot the data gradient's (C, F, kh*kw) turned around, blocked by
// `block` output channels.
NDArray blocked_weights(const float* w, int64_t F, int64_t C, int64_t kk, int64_t block, bool rot) {
  const int64_t outs = rot ? C : F, ins = rot ? F : C, fp = (outs + block - 1) / block * block;
  NDArray wb = zeros(Shape{fp * ins * kk}, DType::Float32);
  float* d = wb.data<float>();
  for (int64_t f = 0; f < F; ++f)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t e = 0; e < kk; ++e) {
        const int64_t o = rot ? c : f, i = rot ? f : c, t = rot ? kk - 1 - e : e;
        d[(((o / block) * ins + i) * kk + t) * block + o % block] = w[(f * C + c) * kk + e];
      }
  return wb;
}

void forward(OpCall& c, const Geo& g, const kernels::KernelTable& kt, bool data_grad) {
  const int64_t B = kt.conv_block, kk = g.kh * g.kw;
  // the data gradient is the forward on dY padded by kernel - 1 - pad, with the weights turned around
  const int64_t ins = data_grad ? g.F : g.C, outs = data_grad ? g.C : g.F;
  const int64_t rows = data_grad ? g.OH : g.H, cols = data_grad ? g.OW : g.W;
  const int64_t top = data_grad ? g.kh - 1 - g.ph : g.ph, left = data_grad ? g.kw - 1 - g.pw : g.pw;
  kernels::ConvBlockedShape s{ins, rows + 2 * top, cols + 2 * left, data_grad ? 1 : g.sh, data_grad ? 1 : g.sw,
                              outs, g.kh, g.kw, B, data_grad ? g.H : g.OH, data_grad ? g.W : g.OW, top, rows};
  s.relu = !data_grad && fused_relu(c);
  NDArray wb = blocked_weights(c.inputs[1].data<float>(), g.F, g.C, kk, B, data_grad), bb;
  const float* bias = nullptr;
  if (!data_grad && c.inputs.size() == 3) {
    bb = zeros(Shape{s.fpad()}, DType::Float32);
    std::copy(c.inputs[2].data<float>(), c.inputs[2].data<float>() + g.F, bb.data<float>());
    bias = bb.data<float>();
  }
  const float* src = c.inputs[0].data<float>();
  const int64_t x_img = ins * s.xh * s.xw, y_img = outs * s.OH * s.OW, src_img = ins * rows * cols;
  // Work items: an image's pair of filter blocks (the kernel's register tile is two blocks), cut
  // into one run of items per thread; a run pads each of its images once into its own scratch, so
  // the padded copies take one image per thread, not the batch.
  const int64_t nfb = s.fpad() / B, pairs = (nfb + 1) / 2, items = g.N * pairs;
  const int64_t runs = std::max<int64_t>(1, std::min<int64_t>(items, num_threads()));
  const bool pad = top != 0 || left != 0;
  NDArray scratch = empty(Shape{pad ? runs : 0, x_img}, DType::Float32);
  float* y = c.outputs[0].data<float>();
  const float* w = wb.data<float>();
  parallel_for(runs, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* buf = pad ? scratch.data<float>() + r * x_img : nullptr;
      for (int64_t t = items * r / runs, padded = -1; t < items * (r + 1) / runs; ++t) {
        const int64_t n = t / pairs, fb = t % pairs * 2;
        if (pad && n != padded) pad_planes(src + n * src_img, ins, rows, cols, buf, s.xh, s.xw, top, left);
        padded = n;
        kt.conv2d_blocked_f32(s, pad ? buf : src + n * src_img, w, bias, y + n * y_img, fb, std::min(fb + 2, nfb));
      }
    }
  });
}

// ---- Data gradient with a stride: one stride-1 forward per phase ----
// dX[h] = sum_i dY[(h + p - i) / s] W[i] over the taps i with (h + p - i) divisible by s. Rows h of
// one phase a = (h + p) mod s, h = s*u + a - p, take the taps i = a + s*t (t < T) only:
// dX[s*u + a - p] = sum_t dY[u - t] W[a + s*t], a stride-1 convolution of dY with that sub-kernel
// turned around. Each phase of rows x phase of columns runs the forward kernel into a buffer, whose
// values go to every s-th row and column of dX: all the multiply-adds are useful ones (dilating dY
// with zeros would make 3 in 4 of them zeros at stride 2).
struct Phase {
  int64_t taps, u0, n, top;  // sub-kernel length; first u and count of outputs; dY row d at row d + top
};

Phase phase_of(int64_t a, int64_t size, int64_t k, int64_t s, int64_t p) {
  auto floor_div = [](int64_t x, int64_t d) { return x >= 0 ? x / d : -((-x + d - 1) / d); };
  Phase ph;
  ph.taps = a < k ? (k - a + s - 1) / s : 0;
  ph.u0 = std::max<int64_t>(0, -floor_div(a - p, s));  // first u with s*u + a - p >= 0
  ph.n = std::max<int64_t>(0, floor_div(size - 1 + p - a, s) - ph.u0 + 1);
  ph.top = ph.taps - 1 - ph.u0;
  return ph;
}

// dY planes (rows x cols) -> dst planes (prows x pcols) with dY row d at d + top (column e at e +
// left), cropped where that falls outside, zeros around.
void place_planes(const float* src, int64_t planes, int64_t rows, int64_t cols, float* dst, int64_t prows, int64_t pcols,
                  int64_t top, int64_t left) {
  std::fill(dst, dst + planes * prows * pcols, 0.f);
  const int64_t d0 = std::max<int64_t>(0, -top), d1 = std::min(rows, prows - top);
  const int64_t e0 = std::max<int64_t>(0, -left), e1 = std::min(cols, pcols - left);
  if (e1 <= e0) return;
  for (int64_t q = 0; q < planes; ++q)
    for (int64_t d = d0; d < d1; ++d)
      std::copy(src + (q * rows + d) * cols + e0, src + (q * rows + d) * cols + e1, dst + (q * prows + d + top) * pcols + e0 + left);
}

void data_grad_strided(OpCall& c, const Geo& g, const kernels::KernelTable& kt) {
  const int64_t B = kt.conv_block, plane = g.H * g.W;
  float* dx = c.outputs[0].data<float>();
  std::fill(dx, dx + g.N * g.C * plane, 0.f);  // phases without taps (a 1x1 kernel's) stay zero
  const float* dy = c.inputs[0].data<float>();
  const float* w = c.inputs[1].data<float>();
  for (int64_t a = 0; a < g.sh; ++a)
    for (int64_t b = 0; b < g.sw; ++b) {
      const Phase ph = phase_of(a, g.H, g.kh, g.sh, g.ph), pw = phase_of(b, g.W, g.kw, g.sw, g.pw);
      if (ph.taps == 0 || pw.taps == 0 || ph.n == 0 || pw.n == 0) continue;
      const int64_t xh = ph.n + ph.taps - 1, xw = pw.n + pw.taps - 1, kk = ph.taps * pw.taps;
      const int64_t r0 = std::max<int64_t>(0, ph.top), r1 = std::min(xh, g.OH + ph.top);
      const kernels::ConvBlockedShape s{g.F, xh, xw, 1, 1, g.C, ph.taps, pw.taps, B, ph.n, pw.n, r0, std::max<int64_t>(0, r1 - r0)};
      // the sub-kernel turned around, blocked by output channels: tap (t, v) is W's (a + sh*(T-1-t), b + sw*(V-1-v))
      NDArray wb = zeros(Shape{s.fpad() * g.F * kk}, DType::Float32);
      float* wd = wb.data<float>();
      for (int64_t f = 0; f < g.F; ++f)
        for (int64_t ch = 0; ch < g.C; ++ch)
          for (int64_t t = 0; t < ph.taps; ++t)
            for (int64_t v = 0; v < pw.taps; ++v)
              wd[(((ch / B) * g.F + f) * kk + t * pw.taps + v) * B + ch % B] =
                  w[((f * g.C + ch) * g.kh + a + g.sh * (ph.taps - 1 - t)) * g.kw + b + g.sw * (pw.taps - 1 - v)];
      const int64_t nfb = s.fpad() / B, pairs = (nfb + 1) / 2, items = g.N * pairs;
      const int64_t runs = std::max<int64_t>(1, std::min<int64_t>(items, num_threads()));
      const int64_t x_img = g.F * xh * xw, y_img = g.C * ph.n * pw.n, dy_img = g.F * g.OH * g.OW;
      NDArray scratch = empty(Shape{runs, x_img + y_img}, DType::Float32);
      parallel_for(runs, 1, [&](int64_t q0, int64_t q1) {
        for (int64_t q = q0; q < q1; ++q) {
          float* xb = scratch.data<float>() + q * (x_img + y_img);
          float* yb = xb + x_img;
          for (int64_t t = items * q / runs, placed = -1; t < items * (q + 1) / runs; ++t) {
            const int64_t n = t / pairs, fb = t % pairs * 2, c1 = std::min(g.C, (fb + 2) * B);
            if (n != placed) place_planes(dy + n * dy_img, g.F, g.OH, g.OW, xb, xh, xw, ph.top, pw.top);
            placed = n;
            kt.conv2d_blocked_f32(s, xb, wd, nullptr, yb, fb, std::min(fb + 2, nfb));
            for (int64_t ch = fb * B; ch < c1; ++ch)  // every sh-th row and sw-th column of dX
              for (int64_t u = 0; u < ph.n; ++u) {
                float* row = dx + (n * g.C + ch) * plane + (g.sh * (ph.u0 + u) + a - g.ph) * g.W + b - g.pw + g.sw * pw.u0;
                const float* src = yb + (ch * ph.n + u) * pw.n;
                for (int64_t v = 0; v < pw.n; ++v) row[g.sw * v] = src[v];
              }
          }
        }
      });
    }
}

void weight_grad(OpCall& c, const Geo& g, const kernels::KernelTable& kt) {
  const int64_t B = kt.conv_block, kk = g.kh * g.kw, plane = g.OH * g.OW;
  const kernels::ConvBlockedShape s{g.C, g.H + 2 * g.ph, g.W + 2 * g.pw, g.sh, g.sw, g.F, g.kh, g.kw, B, g.OH, g.OW, g.ph, g.H};
  const int64_t fp = s.fpad(), x_img = g.C * s.xh * s.xw, dy_img = plane * fp, wsize = fp * g.C * kk;
  const bool pad = g.ph != 0 || g.pw != 0;
  const float* x = c.inputs[0].data<float>();
  const float* dy = c.inputs[1].data<float>();
  // One chunk of images at a time, its inputs laid out for the kernel (x padded, dY turned into
  // dyt: pixels x filters, zero past F), so the copies take a chunk, not the batch.
  NDArray xbuf = empty(Shape{pad ? kWgradImages : 0, x_img}, DType::Float32);
  NDArray dytbuf = empty(Shape{kWgradImages, dy_img}, DType::Float32), partial = empty(Shape{wsize}, DType::Float32);
  NDArray total = zeros(Shape{wsize}, DType::Float32);
  float *dyt = dytbuf.data<float>(), *part = partial.data<float>(), *sum = total.data<float>();
  // A thread's channels take the chunk's images a few at a time (about 256 KiB of dyt), so that
  // those stay in cache while they all read them (a whole chunk's dyt is 6 MiB for 128 filters on
  // 28x28). Each channel adds the same groups of images in the same order, whoever runs it, and
  // the chunks' partial sums are added in order: the result does not depend on the thread count.
  const int64_t group = std::max<int64_t>(1, (int64_t(256) << 10) / (4 * dy_img));
  for (int64_t n0 = 0; n0 < g.N; n0 += kWgradImages) {
    const int64_t nn = std::min(kWgradImages, g.N - n0);
    parallel_for(nn, 1, [&](int64_t a, int64_t b) {
      for (int64_t i = a; i < b; ++i) {
        const int64_t n = n0 + i;
        if (pad) pad_planes(x + n * g.C * g.H * g.W, g.C, g.H, g.W, xbuf.data<float>() + i * x_img, s.xh, s.xw, g.ph, g.pw);
        float* d = dyt + i * dy_img;
        for (int64_t o = 0; o < plane; ++o) {
          for (int64_t f = 0; f < g.F; ++f) d[o * fp + f] = dy[(n * g.F + f) * plane + o];
          std::fill(d + o * fp + g.F, d + (o + 1) * fp, 0.f);
        }
      }
    });
    const float* xc = pad ? xbuf.data<float>() : x + n0 * x_img;
    std::fill(part, part + wsize, 0.f);
    parallel_for(g.C, 1, [&](int64_t c0, int64_t c1) {
      for (int64_t i = 0; i < nn; i += group)
        kt.conv2d_blocked_wgrad_f32(s, std::min(group, nn - i), xc + i * x_img, x_img, dyt + i * dy_img, dy_img, part,
                                    c0, c1);
    });
    for (int64_t e = 0; e < wsize; ++e) sum[e] += part[e];
  }
  // unblocked into (F, C, kh, kw)
  float* out = c.outputs[0].data<float>();
  for (int64_t f = 0; f < g.F; ++f)
    for (int64_t e = 0; e < g.C * kk; ++e) out[f * g.C * kk + e] = sum[((f / B) * g.C * kk + e) * B + f % B];
}

}  // namespace

bool run_blocked(OpCall& c, const Geo& g, int which, bool direct) {
  const kernels::KernelTable& kt = kernels::table();
  if (!fits(g, c.outputs[0].dtype, which, kt.conv_block, direct)) return false;
  // a probe (no rows): false where the ISA's kernels lack this stride or kernel width
  const kernels::ConvBlockedShape probe{1, 1, 1, g.sh, g.sw, 1, g.kh, g.kw, kt.conv_block, 0, 0, 0, 1};
  const bool have = which == kWeightGrad ? kt.conv2d_blocked_wgrad_f32(probe, 0, nullptr, 0, nullptr, 0, nullptr, 0, 0)
                                         : kt.conv2d_blocked_f32(probe, nullptr, nullptr, nullptr, nullptr, 0, 0);
  if (!have) return false;
  if (which == kWeightGrad) weight_grad(c, g, kt);
  else if (which == kDataGrad && (g.sh != 1 || g.sw != 1)) data_grad_strided(c, g, kt);
  else forward(c, g, kt, which == kDataGrad);
  return true;
}

}  // namespace conv
}  // namespace ops
}  // namespace ndgrad
