// The bfloat16 GEMM micro-kernel on AVX512_BF16 (vdpbf16ps): each instruction multiplies 16 pairs
// of bfloat16 and adds both products to 16 float32 sums. Compiled with -mavx512bf16 in a library of
// its own and called only when CPUID says the CPU has AVX512_BF16 (gemm_bf16.cc). No static
// initialisers, STL or shared inline headers here (ODR): only the packed layout of gemm_bf16.cc.
#include <immintrin.h>

#include <cstdint>

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

}  // namespace avx512bf16
}  // namespace kernels
}  // namespace ndgrad
