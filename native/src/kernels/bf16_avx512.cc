// The bfloat16 kernels on AVX512_BF16 (vdpbf16ps): each instruction multiplies 16 pairs of
// bfloat16 and adds both products to 16 float32 sums. The GEMM micro-kernel and the blocked
// convolution, and float32 to bfloat16 rounding. Compiled with -mavx512bf16 in a library of its own and called only when CPUID says
// the CPU has AVX512_BF16 (gemm_bf16.cc, conv_bf16.cc). No static initialisers, STL or shared
// inline headers here (ODR): only the packed layouts of gemm_bf16.cc and kernels.h.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace ndgrad {
namespace kernels {
namespace avx512bf16 {

constexpr int kMR = 14, kNR = 32;  // 28 accumulators, 2 B vectors and a broadcast of 32 registers

// C[14 x 32] (row stride ldc) = (C +) A_panel * B_panel over kp pairs of depth: a[p*2*kMR + 2*i + h]
// = A[i, 2p + h], b[p*2*kNR + 2*j + h] = B[2p + h, j] (see gemm_bf16.cc's packing).
void gemm_micro(int64_t kp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, bool accumulate) {
  __m512 acc[kMR][2];
  for (int i = 0; i < kMR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < kp; ++p) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 32);
    const int32_t* ap = reinterpret_cast<const int32_t*>(a);
    for (int i = 0; i < kMR; ++i) {
      __m512bh av = (__m512bh)_mm512_set1_epi32(ap[i]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], av, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], av, b1);
    }
    a += 2 * kMR;
    b += 2 * kNR;
  }
  for (int i = 0; i < kMR; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(ci));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc[i][0]);
    _mm512_storeu_ps(ci + 16, acc[i][1]);
  }
}

// y[0, n) = x rounded to bfloat16 as core/bf16.h's float_to_bf16 (ties to even, NaN made quiet), 16
// at a time (that header is shared inline code: not included in an ISA file). Not vcvtneps2bf16: it
// flushes subnormals to zero.
void round_to_bf16(const float* x, uint16_t* y, int64_t n) {
  const __m512i abs = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
  const __m512i half = _mm512_set1_epi32(0x7fff), one = _mm512_set1_epi32(1), quiet = _mm512_set1_epi32(0x400000);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512i u = _mm512_maskz_loadu_epi32(live, x + i);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, abs), inf);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(half, _mm512_and_si512(_mm512_srli_epi32(u, 16), one)));
    r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, quiet));
    _mm512_mask_cvtepi32_storeu_epi16(y + i, live, _mm512_srli_epi32(r, 16));
  }
}

// ---- Blocked convolution (kernels.h: conv2d_blocked_bf16's layouts) ----
// A tile is FBK filter blocks x P output pixels of one row, FBK x P float32 sums in registers; per
// (channel pair, tap) FBK weight vectors (16 filters x 2 channels) are loaded and P pairs of x
// broadcast: 2 x 14 sums, 2 weights and a broadcast of 32 registers, as the float32 kernel.
namespace {

constexpr int kLanes = 16, kFbk = 2, kMaxP = 14;

inline __m512bh bcast_pair(const uint16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return (__m512bh)_mm512_set1_epi32(v);
}

#if defined(__GNUC__) && !defined(__clang__)
#define NDG_UNROLL_BF _Pragma("GCC unroll 16")
#define NDG_NO_CARRY_BF __attribute__((optimize("no-predictive-commoning")))  // see conv_blocked.inc
#else
#define NDG_UNROLL_BF
#define NDG_NO_CARRY_BF
#endif

template <int FBK, int P, int S>
NDG_NO_CARRY_BF void conv_tile(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias,
                               float* y, int64_t fb, int64_t oh, int64_t ow0) {
  __m512 acc[FBK][P];
  const int64_t wblk = s.C * s.kh * s.kw * 2 * kLanes;  // one filter block's weights
  NDG_UNROLL_BF
  for (int k = 0; k < FBK; ++k) {
    __m512 b0 = bias ? _mm512_loadu_ps(bias + (fb + k) * kLanes) : _mm512_setzero_ps();
    NDG_UNROLL_BF
    for (int p = 0; p < P; ++p) acc[k][p] = b0;
  }
  const uint16_t* wk = wb + fb * wblk;
  const int64_t r0 = s.top - oh * s.sh, r1 = s.top + s.rows - oh * s.sh;  // taps on rows with data
  const int64_t i0 = r0 > 0 ? r0 : 0, i1 = r1 < s.kh ? r1 : s.kh;
  for (int64_t c = 0; c < s.C; ++c)
    for (int64_t i = i0; i < i1; ++i) {
      const uint16_t* xr = xp + ((c * s.xh + oh * s.sh + i) * s.xw + ow0 * S) * 2;
      const uint16_t* wr = wk + (c * s.kh + i) * s.kw * 2 * kLanes;
      for (int64_t j = 0; j < s.kw; ++j) {
        __m512bh wv[FBK];
        NDG_UNROLL_BF
        for (int k = 0; k < FBK; ++k) wv[k] = (__m512bh)_mm512_loadu_si512(wr + k * wblk + j * 2 * kLanes);
        NDG_UNROLL_BF
        for (int p = 0; p < P; ++p) {
          __m512bh xv = bcast_pair(xr + (p * S + j) * 2);
          NDG_UNROLL_BF
          for (int k = 0; k < FBK; ++k) acc[k][p] = _mm512_dpbf16_ps(acc[k][p], wv[k], xv);
        }
      }
    }
  // lanes are filters, y is NCHW: out through a small buffer, one filter at a time
  const int64_t plane = s.OH * s.OW;
  float buf[P * kLanes];
  NDG_UNROLL_BF
  for (int k = 0; k < FBK; ++k) {
    NDG_UNROLL_BF
    for (int p = 0; p < P; ++p)
      _mm512_storeu_ps(buf + p * kLanes, s.relu ? _mm512_max_ps(acc[k][p], _mm512_setzero_ps()) : acc[k][p]);
    const int64_t f0 = (fb + k) * kLanes, nf = s.F - f0 < kLanes ? s.F - f0 : kLanes;
    float* yr = y + f0 * plane + oh * s.OW + ow0;
    for (int64_t f = 0; f < nf; ++f)
      NDG_UNROLL_BF
      for (int p = 0; p < P; ++p) yr[f * plane + p] = buf[p * kLanes + f];
  }
}

template <int FBK, int P, int S>
void conv_tile_rest(int64_t p, const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias,
                    float* y, int64_t fb, int64_t oh, int64_t ow0) {
  if constexpr (P > 1) {
    if (p < P) return conv_tile_rest<FBK, P - 1, S>(p, s, xp, wb, bias, y, fb, oh, ow0);
  }
  conv_tile<FBK, P, S>(s, xp, wb, bias, y, fb, oh, ow0);
}

template <int S>
void conv_rows(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
               int64_t fb0, int64_t fb1) {
  const int64_t tiles = (s.OW + kMaxP - 1) / kMaxP, pt = (s.OW + tiles - 1) / tiles;  // equal tiles
  for (int64_t fb = fb0; fb < fb1; fb += kFbk) {
    const bool pair = fb + 1 < fb1;
    for (int64_t oh = 0; oh < s.OH; ++oh)
      for (int64_t ow0 = 0; ow0 < s.OW; ow0 += pt) {
        const int64_t p = s.OW - ow0 < pt ? s.OW - ow0 : pt;
        if (pair) conv_tile_rest<kFbk, kMaxP, S>(p, s, xp, wb, bias, y, fb, oh, ow0);
        else conv_tile_rest<1, kMaxP, S>(p, s, xp, wb, bias, y, fb, oh, ow0);
      }
    if (!pair) fb -= kFbk - 1;
  }
}

// Weight gradient: a tile is FBK filter blocks x R kernel rows x KW taps of one channel, summed
// over every pixel pair of nimg images: per pair FBK dY vectors (16 filters x 2 pixels) are loaded
// and R x KW pairs of x broadcast. An odd row's last pixel pairs with nothing: its x partner is
// masked to zero (dY's is zero), so an Inf or NaN there cannot leak into the sums.
constexpr int kWAcc = 28, kMaxKW = 7;

template <int FBK, int R, int KW, int S>
NDG_NO_CARRY_BF void wgrad_tile(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img,
                                const uint16_t* dyq, int64_t dy_img, float* dwb, int64_t fb, int64_t c, int64_t i0) {
  __m512 acc[FBK][R][KW];
  NDG_UNROLL_BF
  for (int k = 0; k < FBK; ++k)
    NDG_UNROLL_BF
    for (int r = 0; r < R; ++r)
      NDG_UNROLL_BF
      for (int j = 0; j < KW; ++j) acc[k][r][j] = _mm512_setzero_ps();
  const int64_t fp = (s.F + kLanes - 1) / kLanes * kLanes, owp = (s.OW + 1) / 2, whole = s.OW / 2;
  const __m512i low = _mm512_set1_epi32(0xffff);
  auto pair = [&](const uint16_t* xr, const uint16_t* dr, int64_t q, bool tail) {
    __m512bh dv[FBK];
    NDG_UNROLL_BF
    for (int k = 0; k < FBK; ++k) dv[k] = (__m512bh)_mm512_loadu_si512(dr + (q * fp + k * kLanes) * 2);
    NDG_UNROLL_BF
    for (int r = 0; r < R; ++r)
      NDG_UNROLL_BF
      for (int j = 0; j < KW; ++j) {
        __m512bh xv = bcast_pair(xr + (r * s.xw + 2 * q * S + j) * 2);
        if (tail) xv = (__m512bh)_mm512_and_si512((__m512i)xv, low);
        NDG_UNROLL_BF
        for (int k = 0; k < FBK; ++k) acc[k][r][j] = _mm512_dpbf16_ps(acc[k][r][j], dv[k], xv);
      }
  };
  for (int64_t n = 0; n < nimg; ++n)
    for (int64_t oh = 0; oh < s.OH; ++oh) {
      const uint16_t* xr = xq + n * x_img + (c * s.xh + oh * s.sh + i0) * s.xw * 2;
      const uint16_t* dr = dyq + n * dy_img + (oh * owp * fp + fb * kLanes) * 2;
      for (int64_t q = 0; q < whole; ++q) pair(xr, dr, q, false);
      if (whole < owp) pair(xr, dr, whole, true);
    }
  NDG_UNROLL_BF
  for (int k = 0; k < FBK; ++k)
    NDG_UNROLL_BF
    for (int r = 0; r < R; ++r)
      NDG_UNROLL_BF
      for (int j = 0; j < KW; ++j) {
        float* d = dwb + (((fb + k) * s.C + c) * s.kh * s.kw + (i0 + r) * s.kw + j) * kLanes;
        _mm512_storeu_ps(d, _mm512_add_ps(_mm512_loadu_ps(d), acc[k][r][j]));
      }
}

template <int FBK, int R, int KW, int S>
void wgrad_tile_rest(int64_t r, const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img,
                     const uint16_t* dyq, int64_t dy_img, float* dwb, int64_t fb, int64_t c, int64_t i0) {
  if constexpr (R > 1) {
    if (r < R) return wgrad_tile_rest<FBK, R - 1, KW, S>(r, s, nimg, xq, x_img, dyq, dy_img, dwb, fb, c, i0);
  }
  wgrad_tile<FBK, R, KW, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, fb, c, i0);
}

template <int KW, int S>
void wgrad_kw(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img, const uint16_t* dyq,
              int64_t dy_img, float* dwb, int64_t c0, int64_t c1) {
  constexpr int FBK = kWAcc >= 2 * KW ? 2 : 1;
  constexpr int RM = kWAcc / (FBK * KW) < 3 ? kWAcc / (FBK * KW) : 3;
  const int64_t nfb = (s.F + kLanes - 1) / kLanes;
  for (int64_t c = c0; c < c1; ++c)
    for (int64_t fb = 0; fb < nfb; fb += FBK) {
      const bool full = fb + FBK <= nfb;
      for (int64_t i0 = 0; i0 < s.kh; i0 += RM) {
        const int64_t r = s.kh - i0 < RM ? s.kh - i0 : RM;
        if (full) wgrad_tile_rest<FBK, RM, KW, S>(r, s, nimg, xq, x_img, dyq, dy_img, dwb, fb, c, i0);
        else wgrad_tile_rest<1, RM, KW, S>(r, s, nimg, xq, x_img, dyq, dy_img, dwb, fb, c, i0);
      }
    }
}

template <int S>
void wgrad_s(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img, const uint16_t* dyq,
             int64_t dy_img, float* dwb, int64_t c0, int64_t c1) {
  switch (s.kw) {
    case 1: return wgrad_kw<1, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    case 2: return wgrad_kw<2, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    case 3: return wgrad_kw<3, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    case 4: return wgrad_kw<4, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    case 5: return wgrad_kw<5, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    case 6: return wgrad_kw<6, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
    default: return wgrad_kw<7, S>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
  }
}

#undef NDG_UNROLL_BF
#undef NDG_NO_CARRY_BF

}  // namespace

void conv_blocked_wgrad(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img, const uint16_t* dyq,
                        int64_t dy_img, float* dwb, int64_t c0, int64_t c1) {
  if (s.sw == 1) wgrad_s<1>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
  else wgrad_s<2>(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
}

void conv_blocked(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
                  int64_t fb0, int64_t fb1) {
  if (s.sw == 1) conv_rows<1>(s, xp, wb, bias, y, fb0, fb1);
  else conv_rows<2>(s, xp, wb, bias, y, fb0, fb1);
}

}  // namespace avx512bf16
}  // namespace kernels
}  // namespace ndgrad
