// bfloat16 GEMM: C (float32) = (C +) A B with A and B bfloat16 (raw bits), float32 accumulation.
// The float32 GEMM's packed driver (gemm_blocked.cc: panels packed once and shared by the threads)
// with a layout of its own: depth is packed in pairs (A as 32-bit pairs of a row, B as pairs of a
// column interleaved), the operand order of vdpbf16ps, which adds two products per float32 lane; the
// driver sees a pair as one 32-bit word. The micro-kernel is bf16_avx512.cc's where the CPU has
// AVX512_BF16 and the avx512 table is in use, else the portable one below (every other ISA, NEON
// included): both sum the same products in float32, in a different order only.
#include <cstring>

#include "../core/bf16.h"
#include "../core/threadpool.h"
#include "gemm_blocked.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {

#if defined(NDGRAD_HAVE_AVX512)
namespace avx512bf16 {
void gemm_micro(int64_t kp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, bool accumulate);
}
#endif

namespace {

constexpr int kMR = 14, kNR = 32;           // the tile of both micro-kernels (one packed layout)
constexpr int64_t kMC = 28 * kMR;           // rows of a packed A block (more than float32's 192:
                                            // measured 2-4% faster at n=1024; a B strip read from L3
                                            // then serves twice the work per panel of A)
constexpr int64_t kParallelWork = 1 << 20;  // multiply-adds below which one thread does it all

using Micro = void (*)(int64_t kp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, bool accumulate);

// The reference micro-kernel: per lane, both products of a pair added to the float32 sum.
void micro_portable(int64_t kp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t p = 0; p < kp; ++p, a += 2 * kMR, b += 2 * kNR)
    for (int i = 0; i < kMR; ++i) {
      float a0 = bf16_to_float(a[2 * i]), a1 = bf16_to_float(a[2 * i + 1]);
      for (int j = 0; j < kNR; ++j) acc[i][j] += a0 * bf16_to_float(b[2 * j]) + a1 * bf16_to_float(b[2 * j + 1]);
    }
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

Micro choose_micro() {
#if defined(NDGRAD_HAVE_AVX512)
  if (std::strcmp(table().isa, "avx512") == 0 && cpu_has_avx512_bf16()) return avx512bf16::gemm_micro;
#endif
  return micro_portable;
}

// Packs `extent` lines x depth [0, kc) of an operand into panels of R lines, depth in pairs:
// dst[panel][p][2*i + h] = line i at depth 2p + h (zero past the end of lines or depth).
// `line_major`: line i at depth q is src[i*ld + q] (a pair is two neighbours: copied as one
// 32-bit unit); otherwise src[q*ld + i] (a pair interleaves two rows).
void pack(bool line_major, const uint16_t* src, int64_t ld, int64_t extent, int64_t kc, int R, uint16_t* dst) {
  const int64_t kp = (kc + 1) / 2, whole = kc / 2;  // pairs, and pairs with both halves inside
  for (int64_t ir = 0; ir < extent; ir += R, dst += kp * 2 * R) {
    const int r = static_cast<int>(extent - ir < R ? extent - ir : R);
    if (line_major) {
      for (int i = 0; i < r; ++i) {
        const uint16_t* s = src + (ir + i) * ld;
        for (int64_t p = 0; p < whole; ++p) std::memcpy(dst + p * 2 * R + 2 * i, s + 2 * p, 4);
        if (whole < kp) dst[whole * 2 * R + 2 * i] = s[2 * whole], dst[whole * 2 * R + 2 * i + 1] = 0;
      }
    } else {
      for (int64_t p = 0; p < whole; ++p) {  // two rows interleaved (a loop the compiler vectorises)
        const uint16_t* __restrict s0 = src + 2 * p * ld + ir;
        const uint16_t* __restrict s1 = s0 + ld;
        uint16_t* __restrict d = dst + p * 2 * R;
        for (int i = 0; i < r; ++i) d[2 * i] = s0[i], d[2 * i + 1] = s1[i];
      }
      if (whole < kp)  // odd depth: the last row with zeros
        for (int i = 0; i < r; ++i) dst[whole * 2 * R + 2 * i] = src[2 * whole * ld + ir + i], dst[whole * 2 * R + 2 * i + 1] = 0;
    }
    if (r < R)  // lines past the end
      for (int64_t p = 0; p < kp; ++p) std::memset(dst + p * 2 * R + 2 * r, 0, sizeof(uint16_t) * 2 * (R - r));
  }
}

// The driver's view: a word is a pair; lines contiguous in the source are not "line major" here.
void pack_words(const void*, bool lines_contiguous, bool, const void* src, int64_t ld, int64_t extent, int64_t kc,
                int R, void* dst) {
  pack(!lines_contiguous, static_cast<const uint16_t*>(src), ld, extent, kc, R, static_cast<uint16_t*>(dst));
}

void micro_words(const void* ctx, int64_t pairs, const void* a, const void* b, float* c, int64_t ldc, bool accumulate) {
  (*static_cast<const Micro*>(ctx))(pairs, static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b), c, ldc,
                                    accumulate);
}

}  // namespace

void gemm_bf16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda, const uint16_t* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(float) * n);
    return;
  }
  const Micro micro = choose_micro();
  const PackedKind kind{kMR, kNR, kMC, 2, sizeof(uint16_t), &micro, pack_words, micro_words};
  const int64_t mt = (m + kMR - 1) / kMR, nt = (n + kNR - 1) / kNR;
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool parallel = num_threads() > 1 && work >= kParallelWork && (mt >= 2 || nt >= 2);
  gemm_packed(kind, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
}

const char* gemm_bf16_kernel() { return choose_micro() == micro_portable ? "portable" : "avx512_bf16"; }

}  // namespace kernels
}  // namespace ndgrad
