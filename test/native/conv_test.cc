// The direct convolution kernels of every ISA table that has them (conv_code.inc) against a double
// reference of their contract (kernels.h: Conv2dShape): odd sizes, rows of several tiles, taps above
// and below x (pt), every kernel width the weight gradient handles, several images, and the
// weight gradient's accumulation into what dw held. Bound: n eps sum|products| per output.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/kernels.h"
#include "test_util.h"

using namespace ndgrad::kernels;

namespace kernels_test {

namespace {

const float kEps = 1.0f / 8388608;  // 2^-23

struct Case {
  int64_t C, H, W, pt, pb, pl, F, kh, kw;  // x (C, H, W), pads top/bottom/left(=right), w (F, C, kh, kw)
};

// x rows padded left and right by pl into (C, H, xw), plus the read slack (zeros)
std::vector<float> padded(const std::vector<float>& x, const Case& k, int64_t xw) {
  std::vector<float> p(static_cast<size_t>(k.C * k.H * xw + kConvReadSlack), 0.f);
  for (int64_t r = 0; r < k.C * k.H; ++r)
    for (int64_t j = 0; j < k.W; ++j) p[r * xw + k.pl + j] = x[r * k.W + j];
  return p;
}

void check_close(const char* isa, const char* what, const Case& k, const float* got, const double* want,
                 const double* bound, int64_t n, double terms) {
  ++g_checks;
  for (int64_t i = 0; i < n; ++i)
    if (!(std::fabs(got[i] - want[i]) <= 2 * terms * kEps * bound[i] + 1e-30)) {
      fail("%s %s C=%lld H=%lld W=%lld F=%lld k=%lldx%lld pt=%lld pl=%lld: [%lld] %.9g vs %.9g", isa, what,
           (long long)k.C, (long long)k.H, (long long)k.W, (long long)k.F, (long long)k.kh, (long long)k.kw,
           (long long)k.pt, (long long)k.pl, (long long)i, got[i], want[i]);
      return;
    }
}

void test_case(const KernelTable* t, const Case& k, Rng& r) {
  const int64_t xw = k.W + 2 * k.pl, OH = k.H + k.pt + k.pb - k.kh + 1, OW = xw - k.kw + 1, kk = k.kh * k.kw;
  if (OH < 1 || OW < 1) return;
  const Conv2dShape s{k.C, k.H, xw, k.pt, k.F, k.kh, k.kw, OH, OW};
  const int64_t nimg = 3, plane = OH * OW;
  std::vector<float> w(static_cast<size_t>(k.F * k.C * kk)), x(static_cast<size_t>(nimg * k.C * k.H * k.W)),
      dy(static_cast<size_t>(nimg * k.F * plane));
  for (auto* v : {&w, &x, &dy})
    for (auto& e : *v) e = r.range(-1, 1);
  std::vector<float> xp;  // the images, padded, one after another
  for (int64_t n = 0; n < nimg; ++n) {
    std::vector<float> one(x.begin() + n * k.C * k.H * k.W, x.begin() + (n + 1) * k.C * k.H * k.W);
    std::vector<float> p = padded(one, k, xw);
    xp.insert(xp.end(), p.begin(), p.end() - kConvReadSlack);
  }
  xp.resize(xp.size() + kConvReadSlack, 0.f);
  const int64_t x_img = k.C * k.H * xw;
  // x value at (n, c, row, padded column), zero outside
  auto X = [&](int64_t n, int64_t c, int64_t row, int64_t col) -> double {
    return row < 0 || row >= k.H ? 0.0 : xp[n * x_img + (c * k.H + row) * xw + col];
  };
  // forward, image 0 (y has a guard element that must stay untouched)
  std::vector<float> y(static_cast<size_t>(k.F * plane + 1), 7.f);
  std::vector<double> want(k.F * plane, 0.0), bound(k.F * plane, 0.0);
  for (int64_t f = 0; f < k.F; ++f)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow)
        for (int64_t c = 0; c < k.C; ++c)
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              double p = w[((f * k.C + c) * k.kh + i) * k.kw + j] * X(0, c, oh + i - k.pt, ow + j);
              want[(f * OH + oh) * OW + ow] += p;
              bound[(f * OH + oh) * OW + ow] += std::fabs(p);
            }
  if (t->conv2d_f32(s, xp.data(), w.data(), y.data())) {
    check_close(t->isa, "conv2d", k, y.data(), want.data(), bound.data(), k.F * plane, double(k.C * kk));
    if (y[k.F * plane] != 7.f) fail("%s conv2d wrote past y", t->isa);
  }
  // weight gradient over the images, added to what dw holds
  std::vector<float> dw(static_cast<size_t>(k.F * k.C * kk));
  std::vector<double> wdw(dw.size()), wb(dw.size());
  for (size_t e = 0; e < dw.size(); ++e) {
    dw[e] = r.range(-1, 1);
    wdw[e] = dw[e];
    wb[e] = std::fabs(dw[e]);
  }
  for (int64_t n = 0; n < nimg; ++n)
    for (int64_t f = 0; f < k.F; ++f)
      for (int64_t c = 0; c < k.C; ++c)
        for (int64_t i = 0; i < k.kh; ++i)
          for (int64_t j = 0; j < k.kw; ++j)
            for (int64_t oh = 0; oh < OH; ++oh)
              for (int64_t ow = 0; ow < OW; ++ow) {
                double p = dy[(n * k.F + f) * plane + oh * OW + ow] * X(n, c, oh + i - k.pt, ow + j);
                wdw[((f * k.C + c) * k.kh + i) * k.kw + j] += p;
                wb[((f * k.C + c) * k.kh + i) * k.kw + j] += std::fabs(p);
              }
  if (t->conv2d_wgrad_f32(s, nimg, xp.data(), x_img, dy.data(), k.F * plane, dw.data()))
    check_close(t->isa, "conv2d_wgrad", k, dw.data(), wdw.data(), wb.data(), dw.size(), double(nimg * plane + 1));
  else if (k.kw <= 8)
    fail("%s conv2d_wgrad refused kw=%lld", t->isa, (long long)k.kw);
}

// The blocked kernels (conv_blocked.inc) on one case: x (C, xh, xw) already padded, strides sh, sw.
struct BCase {
  int64_t C, xh, xw, sh, sw, F, kh, kw, top, bottom;  // x's rows [0, top) and the last `bottom` are zero
};

void test_blocked_case(const KernelTable* t, const BCase& k, Rng& r) {
  const int64_t B = t->conv_block, OH = (k.xh - k.kh) / k.sh + 1, OW = (k.xw - k.kw) / k.sw + 1;
  const ConvBlockedShape s{k.C, k.xh, k.xw, k.sh, k.sw, k.F, k.kh, k.kw, B, OH, OW, k.top, k.xh - k.top - k.bottom};
  const int64_t fp = s.fpad(), nfb = fp / B, kk = k.kh * k.kw, x_img = k.C * k.xh * k.xw, plane = OH * OW, nimg = 3;
  std::vector<float> w(static_cast<size_t>(k.F * k.C * kk)), x(static_cast<size_t>(nimg * x_img)), bias(k.F);
  std::vector<float> wb(static_cast<size_t>(fp * k.C * kk), 0.f), bb(static_cast<size_t>(fp), 0.f);
  for (auto* v : {&w, &x, &bias})
    for (auto& e : *v) e = r.range(-1, 1);
  for (int64_t n = 0; n < nimg; ++n)  // the zero rows the forward may skip
    for (int64_t c = 0; c < k.C; ++c)
      for (int64_t row = 0; row < k.xh; ++row)
        if (row < k.top || row >= k.xh - k.bottom)
          std::fill(x.begin() + n * x_img + (c * k.xh + row) * k.xw, x.begin() + n * x_img + (c * k.xh + row + 1) * k.xw, 0.f);
  for (int64_t f = 0; f < k.F; ++f) {
    bb[f] = bias[f];
    for (int64_t e = 0; e < k.C * kk; ++e) wb[((f / B) * k.C * kk + e) * B + f % B] = w[f * k.C * kk + e];
  }
  auto X = [&](int64_t n, int64_t c, int64_t row, int64_t col) -> double { return x[n * x_img + (c * k.xh + row) * k.xw + col]; };
  // forward of image 1 in two calls (blocks [0, 1) and [1, nfb)), with and without bias; y has a guard element
  for (bool with_bias : {true, false}) {
    std::vector<float> y(static_cast<size_t>(k.F * plane + 1), 7.f);
    std::vector<double> want(k.F * plane), bound(k.F * plane);
    for (int64_t f = 0; f < k.F; ++f)
      for (int64_t o = 0; o < plane; ++o) {
        double acc = with_bias ? bias[f] : 0.0, b = std::fabs(acc);
        for (int64_t c = 0; c < k.C; ++c)
          for (int64_t i = 0; i < k.kh; ++i)
            for (int64_t j = 0; j < k.kw; ++j) {
              double p = w[((f * k.C + c) * k.kh + i) * k.kw + j] * X(1, c, o / OW * k.sh + i, o % OW * k.sw + j);
              acc += p;
              b += std::fabs(p);
            }
        want[f * plane + o] = acc;
        bound[f * plane + o] = b;
      }
    const float* bp = with_bias ? bb.data() : nullptr;
    if (!t->conv2d_blocked_f32(s, x.data() + x_img, wb.data(), bp, y.data(), 0, 1) ||
        !t->conv2d_blocked_f32(s, x.data() + x_img, wb.data(), bp, y.data(), 1, nfb)) {
      fail("%s conv2d_blocked refused stride %lld", t->isa, (long long)k.sw);
      return;
    }
    Case c{k.C, k.xh, k.xw, k.sh, k.sw, 0, k.F, k.kh, k.kw};  // for the message: pt, pb hold the strides
    check_close(t->isa, "conv2d_blocked", c, y.data(), want.data(), bound.data(), k.F * plane, double(k.C * kk + 1));
    if (y[k.F * plane] != 7.f) fail("%s conv2d_blocked wrote past y", t->isa);
  }
  // weight gradient over the images, channels in two calls, added to what dwb holds
  std::vector<float> dyt(static_cast<size_t>(nimg * plane * fp), 0.f), dwb(wb.size(), 0.f);
  for (int64_t n = 0; n < nimg; ++n)
    for (int64_t o = 0; o < plane; ++o)
      for (int64_t f = 0; f < k.F; ++f) dyt[(n * plane + o) * fp + f] = r.range(-1, 1);
  std::vector<double> want(k.F * k.C * kk), bound(want.size());
  for (int64_t f = 0; f < k.F; ++f)
    for (int64_t e = 0; e < k.C * kk; ++e) {
      float& d = dwb[((f / B) * k.C * kk + e) * B + f % B];
      d = r.range(-1, 1);
      double acc = d, b = std::fabs(d);
      const int64_t c = e / kk, i = e % kk / k.kw, j = e % k.kw;
      for (int64_t n = 0; n < nimg; ++n)
        for (int64_t o = 0; o < plane; ++o) {
          double p = dyt[(n * plane + o) * fp + f] * X(n, c, o / OW * k.sh + i, o % OW * k.sw + j);
          acc += p;
          b += std::fabs(p);
        }
      want[f * k.C * kk + e] = acc;
      bound[f * k.C * kk + e] = b;
    }
  const int64_t half = k.C / 2;
  if (!t->conv2d_blocked_wgrad_f32(s, nimg, x.data(), x_img, dyt.data(), plane * fp, dwb.data(), 0, half) ||
      !t->conv2d_blocked_wgrad_f32(s, nimg, x.data(), x_img, dyt.data(), plane * fp, dwb.data(), half, k.C)) {
    if (k.kw <= 7) fail("%s conv2d_blocked_wgrad refused kw=%lld", t->isa, (long long)k.kw);
    return;
  }
  std::vector<float> got(want.size());
  for (int64_t f = 0; f < k.F; ++f)
    for (int64_t e = 0; e < k.C * kk; ++e) got[f * k.C * kk + e] = dwb[((f / B) * k.C * kk + e) * B + f % B];
  for (int64_t f = k.F; f < fp; ++f)  // the padding filters' lanes stay zero
    for (int64_t e = 0; e < k.C * kk; ++e)
      if (dwb[((f / B) * k.C * kk + e) * B + f % B] != 0.f) fail("%s conv2d_blocked_wgrad wrote a padding lane", t->isa);
  Case c{k.C, k.xh, k.xw, k.sh, k.sw, 0, k.F, k.kh, k.kw};
  check_close(t->isa, "conv2d_blocked_wgrad", c, got.data(), want.data(), bound.data(), got.size(), double(nimg * plane + 1));
}

}  // namespace

void test_conv(const std::vector<const KernelTable*>& tables) {
  const Case cases[] = {
      {1, 28, 28, 2, 2, 2, 6, 5, 5},   {6, 14, 14, 0, 0, 0, 16, 5, 5},  {16, 10, 10, 4, 4, 4, 6, 5, 5},
      {3, 9, 11, 1, 1, 1, 7, 3, 3},    {2, 5, 75, 1, 1, 3, 5, 2, 4},    {5, 4, 3, 0, 0, 0, 9, 1, 1},
      {2, 10, 12, 3, 3, 0, 3, 7, 8},   {1, 3, 40, 2, 0, 1, 11, 3, 2},   {4, 6, 9, 0, 2, 2, 10, 3, 6},
      {2, 7, 70, 1, 1, 3, 1, 3, 7},    {1, 1, 1, 0, 0, 0, 1, 1, 1},     {3, 8, 33, 0, 0, 4, 12, 2, 9},
  };
  Rng r(5);
  for (const KernelTable* t : tables) {
    Conv2dShape none{1, 1, 1, 0, 1, 1, 1, 0, 1};
    if (!t->conv2d_f32(none, nullptr, nullptr, nullptr)) continue;  // no direct kernels (scalar: im2col)
    int before = g_failures;
    for (const Case& k : cases) test_case(t, k, r);
    std::printf("  %s direct convolution: %s\n", t->isa, g_failures == before ? "ok" : "FAILED");
  }
  // blocked: odd channel and filter counts (tail blocks), one and several blocks, rows of one pixel
  // and of several tiles, strides 1 and 2, kernels 1x1 to 7x7 (and 8 wide: no weight gradient)
  const BCase bcases[] = {
      {32, 15, 15, 1, 1, 64, 3, 3, 2, 2}, {1, 30, 30, 1, 1, 32, 3, 3, 1, 1}, {3, 9, 11, 1, 1, 7, 3, 3, 0, 0},
      {5, 8, 40, 1, 1, 17, 2, 4, 1, 0},   {6, 14, 14, 2, 2, 33, 3, 3, 1, 1}, {4, 9, 10, 2, 2, 20, 5, 5, 2, 1},
      {2, 5, 5, 1, 1, 1, 5, 5, 0, 0},     {7, 4, 33, 1, 2, 9, 1, 1, 0, 0},   {3, 12, 12, 1, 1, 5, 7, 7, 3, 3},
      {2, 6, 20, 1, 1, 3, 2, 8, 0, 1},    {16, 3, 3, 1, 1, 48, 3, 3, 0, 0},  {9, 7, 31, 2, 1, 40, 3, 6, 2, 2},
  };
  for (const KernelTable* t : tables) {
    if (t->conv_block == 0) continue;  // no blocked kernels (scalar: the im2col path)
    int before = g_failures;
    for (const BCase& k : bcases) test_blocked_case(t, k, r);
    std::printf("  %s blocked convolution: %s\n", t->isa, g_failures == before ? "ok" : "FAILED");
  }
}

}  // namespace kernels_test
