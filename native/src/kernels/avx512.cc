// AVX-512 F/BW/DQ/VL kernels (compiled with AVX-512 flags only). ODR rules: everything lives in an
// anonymous namespace (vector_code.inc is included into it); no STL; only kTable is exported.
//
// Layout as avx2.cc: (1) wrapper layer over the ISA's vector type (V), integer vector (VI) and lane
// mask (M, a k-register here); (2) vector_code.inc compiled against it; (3) the GEMM micro-kernel.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 false positive on _mm512_undefined_ps()
#endif
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels.h"

namespace ndgrad::kernels::avx512 {
namespace {

// ---------------------------------------------------------------------------------------------
// (1) Wrapper layer: AVX-512, 16 float lanes; masks are __mmask16.
typedef __m512 V;
typedef __m512i VI;
typedef __mmask16 M;
constexpr int W = 16;

inline V vset(float f) { return _mm512_set1_ps(f); }
inline V vzero() { return _mm512_setzero_ps(); }
inline V vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm512_storeu_ps(p, v); }
// Non-temporal store for outputs too large to stay in cache (p aligned to a whole vector).
inline void vstream(float* p, V v) { _mm512_stream_ps(p, v); }
inline void vfence() { _mm_sfence(); }
inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
// Loads/stores the first n (<= W) lanes; the other lanes read as 0 and are not written.
inline V vloadn(const float* p, int64_t n) { return _mm512_maskz_loadu_ps(tail_mask(n), p); }
inline void vstoren(float* p, V v, int64_t n) { _mm512_mask_storeu_ps(p, tail_mask(n), v); }
inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a*b + c
inline V vfnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a*b
inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }  // b when either is NaN (x86 rule)
inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
inline V vsqrt(V a) { return _mm512_sqrt_ps(a); }
inline V vand(V a, V b) { return _mm512_and_ps(a, b); }
inline V vor(V a, V b) { return _mm512_or_ps(a, b); }
inline V vxor(V a, V b) { return _mm512_xor_ps(a, b); }
inline V vandnot(V a, V b) { return _mm512_andnot_ps(a, b); }  // ~a & b
inline V vfloor(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline V vceil(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
inline V vtrunc(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
inline V vrint(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

inline M vlt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
inline M vle(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LE_OQ); }
inline M vgt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
inline M vge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
inline M veq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
inline M vne(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_NEQ_UQ); }
inline M visnan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
inline M mor(M a, M b) { return static_cast<M>(a | b); }
inline M mand(M a, M b) { return static_cast<M>(a & b); }
inline M mnone() { return 0; }
inline bool many(M m) { return m != 0; }
inline V vselect(M m, V t, V f) { return _mm512_mask_blend_ps(m, f, t); }  // m ? t : f
inline V vif(M m, V v) { return _mm512_maskz_mov_ps(m, v); }  // m ? v : 0
inline V vmask01(M m) { return _mm512_maskz_mov_ps(m, _mm512_set1_ps(1.f)); }

inline VI viset(int i) { return _mm512_set1_epi32(i); }
inline VI vcvt(V a) { return _mm512_cvtps_epi32(a); }  // round to nearest (a already integral here)
inline V vcvti(VI a) { return _mm512_cvtepi32_ps(a); }
inline VI vasint(V a) { return _mm512_castps_si512(a); }
inline V vasfloat(VI a) { return _mm512_castsi512_ps(a); }
inline VI viadd(VI a, VI b) { return _mm512_add_epi32(a, b); }
inline VI visub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
inline VI viand(VI a, VI b) { return _mm512_and_si512(a, b); }
inline VI vior(VI a, VI b) { return _mm512_or_si512(a, b); }
inline VI vishl23(VI a) { return _mm512_slli_epi32(a, 23); }
inline VI vishr23(VI a) { return _mm512_srli_epi32(a, 23); }
inline VI visra1(VI a) { return _mm512_srai_epi32(a, 1); }

// Horizontal max (NaN-free inputs; vector_code.inc derives the min and the sum).
inline float vhmax(V v) {
  __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// ---------------------------------------------------------------------------------------------
// (2) ISA-neutral vector code, written against the wrapper layer above.
#include "vector_code.inc"
constexpr int kVecRegs = 32;
#include "conv_code.inc"
#include "conv_blocked.inc"
#include "transpose_avx.inc"
// ---------------------------------------------------------------------------------------------

// (3) GEMM micro-kernel: 8 x 32 tile in 16 zmm accumulators.
constexpr int kMR = 8, kNR = 32;

void gemm_micro_f32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  // Every cache line of the C tile (a row of 32 floats spans two, or three when unaligned), so that
  // the loads and stores at the end do not wait on memory.
  for (int i = 0; i < kMR; ++i) {
    const char* row = reinterpret_cast<const char*>(c + i * ldc);
    _mm_prefetch(row, _MM_HINT_T0);
    _mm_prefetch(row + 64, _MM_HINT_T0);
    _mm_prefetch(row + sizeof(float) * kNR - 1, _MM_HINT_T0);
  }
#define NDG_FMA2(R, X0, X1)                          \
  av = _mm512_set1_ps(a[(P)*kMR + (R)]);             \
  X0 = _mm512_fmadd_ps(av, b0, X0);                  \
  X1 = _mm512_fmadd_ps(av, b1, X1);
#define NDG_STEP(PP)                                                                    \
  {                                                                                     \
    constexpr int P = (PP);                                                             \
    __m512 b0 = _mm512_loadu_ps(b + P * kNR), b1 = _mm512_loadu_ps(b + P * kNR + 16);   \
    __m512 av;                                                                          \
    NDG_FMA2(0, c00, c01) NDG_FMA2(1, c10, c11) NDG_FMA2(2, c20, c21)                   \
    NDG_FMA2(3, c30, c31) NDG_FMA2(4, c40, c41) NDG_FMA2(5, c50, c51)                   \
    NDG_FMA2(6, c60, c61) NDG_FMA2(7, c70, c71)                                         \
  }
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    NDG_STEP(0) NDG_STEP(1) NDG_STEP(2) NDG_STEP(3)
    a += 4 * kMR;
    b += 4 * kNR;
  }
  for (; p < k; ++p) {
    NDG_STEP(0)
    a += kMR;
    b += kNR;
  }
#undef NDG_STEP
#undef NDG_FMA2
  const V tile[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  for (int i = 0; i < kMR; ++i) store_tile_row(c + i * ldc, tile[i][0], tile[i][1], accumulate);
}

}  // namespace

extern const KernelTable kTable = {"avx512", unary_f32, binary_f32, reduce_f32, softmax_f32,
                                   kMR, kNR, gemm_micro_f32, dot_f32, axpy_f32, transpose_pack_f32,
                                   conv2d_f32, conv2d_wgrad_f32, W, conv2d_blocked_f32,
                                   conv2d_blocked_wgrad_f32};

}  // namespace ndgrad::kernels::avx512
