// AVX2+FMA kernels (compiled with -mavx2 -mfma only). ODR rules: everything lives in an anonymous
// namespace (the shared vector code is included into it, see vector_code.inc); no STL; only kTable
// is exported.
//
// Layout: (1) a thin wrapper layer over the ISA's vector type (V), integer vector (VI) and lane mask
// (M); (2) the ISA-neutral vector code of vector_code.inc, compiled here against that layer;
// (3) the GEMM micro-kernel.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels.h"

namespace ndgrad::kernels::avx2 {
namespace {

// ---------------------------------------------------------------------------------------------
// (1) Wrapper layer: AVX2, 8 float lanes; masks are all-ones/all-zeros float lanes.
typedef __m256 V;
typedef __m256i VI;
typedef __m256 M;
constexpr int W = 8;

inline V vset(float f) { return _mm256_set1_ps(f); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
// Non-temporal store for outputs too large to stay in cache (p aligned to a whole vector).
inline void vstream(float* p, V v) { _mm256_stream_ps(p, v); }
inline void vfence() { _mm_sfence(); }
inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// Loads/stores the first n (<= W) lanes; the other lanes read as 0 and are not written.
inline V vloadn(const float* p, int64_t n) { return _mm256_maskload_ps(p, tail_mask(n)); }
inline void vstoren(float* p, V v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
inline V vfnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }  // b when either is NaN (x86 rule)
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline V vsqrt(V a) { return _mm256_sqrt_ps(a); }
inline V vand(V a, V b) { return _mm256_and_ps(a, b); }
inline V vor(V a, V b) { return _mm256_or_ps(a, b); }
inline V vxor(V a, V b) { return _mm256_xor_ps(a, b); }
inline V vandnot(V a, V b) { return _mm256_andnot_ps(a, b); }  // ~a & b
inline V vfloor(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline V vceil(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
inline V vtrunc(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
inline V vrint(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

inline M vlt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline M vle(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline M vgt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline M vge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline M veq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline M vne(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
inline M visnan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline M mor(M a, M b) { return _mm256_or_ps(a, b); }
inline M mand(M a, M b) { return _mm256_and_ps(a, b); }
inline M mnone() { return _mm256_setzero_ps(); }
inline bool many(M m) { return _mm256_movemask_ps(m) != 0; }
inline V vselect(M m, V t, V f) { return _mm256_blendv_ps(f, t, m); }  // m ? t : f
inline V vif(M m, V v) { return _mm256_and_ps(m, v); }  // m ? v : 0
inline V vmask01(M m) { return _mm256_and_ps(m, _mm256_set1_ps(1.f)); }

inline VI viset(int i) { return _mm256_set1_epi32(i); }
inline VI vcvt(V a) { return _mm256_cvtps_epi32(a); }  // round to nearest (a already integral here)
inline V vcvti(VI a) { return _mm256_cvtepi32_ps(a); }
inline VI vasint(V a) { return _mm256_castps_si256(a); }
inline V vasfloat(VI a) { return _mm256_castsi256_ps(a); }
inline VI viadd(VI a, VI b) { return _mm256_add_epi32(a, b); }
inline VI visub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
inline VI viand(VI a, VI b) { return _mm256_and_si256(a, b); }
inline VI vior(VI a, VI b) { return _mm256_or_si256(a, b); }
inline VI vishl23(VI a) { return _mm256_slli_epi32(a, 23); }
inline VI vishr23(VI a) { return _mm256_srli_epi32(a, 23); }
inline VI visra1(VI a) { return _mm256_srai_epi32(a, 1); }

// Horizontal max (NaN-free inputs; vector_code.inc derives the min and the sum).
inline float vhmax(V v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// ---------------------------------------------------------------------------------------------
// (2) ISA-neutral vector code, written against the wrapper layer above.
#include "vector_code.inc"
constexpr int kVecRegs = 16;
#include "conv_code.inc"
#include "conv_blocked.inc"
#include "transpose_avx.inc"
// ---------------------------------------------------------------------------------------------

// (3) GEMM micro-kernel: 6 x 16 tile in 12 ymm accumulators (BLIS/OpenBLAS Haswell shape).
constexpr int kMR = 6, kNR = 16;

void gemm_micro_f32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int i = 0; i < kMR; ++i) {  // both cache lines of each C row when it is unaligned
    const char* row = reinterpret_cast<const char*>(c + i * ldc);
    _mm_prefetch(row, _MM_HINT_T0);
    _mm_prefetch(row + sizeof(float) * kNR - 1, _MM_HINT_T0);
  }
#define NDG_FMA2(R, X0, X1)                        \
  av = _mm256_broadcast_ss(a + (P)*kMR + (R));     \
  X0 = _mm256_fmadd_ps(av, b0, X0);                \
  X1 = _mm256_fmadd_ps(av, b1, X1);
#define NDG_STEP(PP)                                                                  \
  {                                                                                   \
    constexpr int P = (PP);                                                           \
    __m256 b0 = _mm256_loadu_ps(b + P * kNR), b1 = _mm256_loadu_ps(b + P * kNR + 8);  \
    __m256 av;                                                                        \
    NDG_FMA2(0, c00, c01) NDG_FMA2(1, c10, c11) NDG_FMA2(2, c20, c21)                 \
    NDG_FMA2(3, c30, c31) NDG_FMA2(4, c40, c41) NDG_FMA2(5, c50, c51)                 \
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
  const V tile[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  for (int i = 0; i < kMR; ++i) store_tile_row(c + i * ldc, tile[i][0], tile[i][1], accumulate);
}

}  // namespace

extern const KernelTable kTable = {"avx2", unary_f32, binary_f32, reduce_f32, softmax_f32,
                                   kMR, kNR, gemm_micro_f32, dot_f32, axpy_f32, transpose_pack_f32,
                                   conv2d_f32, conv2d_wgrad_f32, W, conv2d_blocked_f32,
                                   conv2d_blocked_wgrad_f32};

}  // namespace ndgrad::kernels::avx2
