// bfloat16 GEMM: C (float32) = (C +) A B with A and B bfloat16 (raw bits), float32 accumulation.
// The float32 GEMM's packed driver (gemm_blocked.cc: panels packed once and shared by the threads)
// with a layout of its own: depth is packed in pairs (A as 32-bit pairs of a row, B as pairs of a
// column interleaved), the operand order of vdpbf16ps, which adds two products per float32 lane; the
// driver sees a pair as one 32-bit word. The micro-kernel is bf16_avx512.cc's where the CPU has
// AVX512_BF16 and the avx512 table is in use, else the portable one below (every other ISA, NEON
// included): both sum the same products in float32, in a different order only.
#include <cstdint>
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
void round_to_bf16(const float* x, uint16_t* y, int64_t n);
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

// A full panel of R line-major lines, `pairs` whole pairs deep, is a transpose of 32-bit words (a
// pair is two neighbours): the float32 table's transposer moves words without arithmetic, so it packs
// them bit for bit, 8 lines at a time (the last 8 overlapping the previous ones when R is not a
// multiple of 8: those words are written twice, the same). False where it cannot (the caller packs).
bool transpose_pairs(const uint16_t* src, int64_t ld, int R, int64_t pairs, uint16_t* dst) {
  if (ld % 2 != 0 || reinterpret_cast<uintptr_t>(src) % 4 != 0 || R < 8) return false;
  const KernelTable& t = table();
  const float* s = reinterpret_cast<const float*>(src);
  float* d = reinterpret_cast<float*>(dst);
  for (int j = 0; j < R; j += 8) {
    const int j0 = j + 8 <= R ? j : R - 8;
    if (!t.transpose_pack_f32(s + j0 * (ld / 2), ld / 2, 8, pairs, d + j0, R)) return false;
  }
  return true;
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
      // one word at a time where the transposer does not apply (8% of an n=1024 product's time)
      const int64_t done = r == R && transpose_pairs(src + ir * ld, ld, R, whole, dst) ? whole : 0;
      for (int i = 0; i < r; ++i) {
        const uint16_t* s = src + (ir + i) * ld;
        for (int64_t p = done; p < whole; ++p) std::memcpy(dst + p * 2 * R + 2 * i, s + 2 * p, 4);
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

// The call's data for the driver's hooks.
struct Call {
  Micro micro;
  void (*round)(const float* x, uint16_t* y, int64_t n);  // float_to_bf16_n's bits
  const float* c;
  int64_t ldc;
  uint16_t* rounded;  // C rounded to bfloat16, or null
};

void micro_words(const void* ctx, int64_t pairs, const void* a, const void* b, float* c, int64_t ldc, bool accumulate) {
  static_cast<const Call*>(ctx)->micro(pairs, static_cast<const uint16_t*>(a), static_cast<const uint16_t*>(b), c, ldc,
                                       accumulate);
}

// A finished region of C rounded while it is in cache (a pass over all of C afterwards cost 5% of
// an n=1024 product, and so did this with the baseline's SSE2 code).
void round_region(const void* ctx, int64_t i0, int64_t j0, int64_t rows, int64_t cols) {
  const Call& k = *static_cast<const Call*>(ctx);
  for (int64_t i = i0; i < i0 + rows; ++i) k.round(k.c + i * k.ldc + j0, k.rounded + i * k.ldc + j0, cols);
}

}  // namespace

void gemm_bf16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda, const uint16_t* b,
               int64_t ldb, float* c, int64_t ldc, bool accumulate, uint16_t* rounded) {
  if (m <= 0 || n <= 0) return;
  const Micro micro = choose_micro();
  Call call{micro, float_to_bf16_n, c, ldc, rounded};
#if defined(NDGRAD_HAVE_AVX512)
  if (micro == avx512bf16::gemm_micro) call.round = avx512bf16::round_to_bf16;  // the same CPU check
#endif
  if (k <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(float) * n);
    if (rounded) round_region(&call, 0, 0, m, n);
    return;
  }
  const PackedKind kind{kMR, kNR, kMC, 2, sizeof(uint16_t), &call, pack_words, micro_words,
                        rounded ? round_region : nullptr};
  const int64_t mt = (m + kMR - 1) / kMR, nt = (n + kNR - 1) / kNR;
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool parallel = num_threads() > 1 && work >= kParallelWork && (mt >= 2 || nt >= 2);
  gemm_packed(kind, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
}

const char* gemm_bf16_kernel() { return choose_micro() == micro_portable ? "portable" : "avx512_bf16"; }

}  // namespace kernels
}  // namespace ndgrad
