// bfloat16 GEMM: C (float32) = (C +) A B with A and B bfloat16 (raw bits), float32 accumulation.
// The BLIS loops of gemm.cc with a layout of its own: depth is packed in pairs (A as 32-bit pairs
// of a row, B as pairs of a column interleaved), the operand order of vdpbf16ps, which adds two
// products per float32 lane. The micro-kernel is bf16_avx512.cc's where the CPU has AVX512_BF16 and
// the avx512 table is in use, else the portable one below (every other ISA, NEON included): both
// sum the same products in float32, in a different order only.
#include <cstring>
#include <memory>

#include "../core/allocator.h"
#include "../core/bf16.h"
#include "../core/threadpool.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {

#if defined(NDGRAD_HAVE_AVX512)
namespace avx512bf16 {
void gemm_micro(int64_t kp, const uint16_t* a, const uint16_t* b, float* c, int64_t ldc, bool accumulate);
}
#endif

namespace {

constexpr int kMR = 14, kNR = 32;          // the tile of both micro-kernels (one packed layout)
constexpr int64_t kKC = 256;               // depth of a packed block (even: whole pairs)
constexpr int64_t kMC = 24 * kMR;          // rows of a packed A block
constexpr int64_t kNC = 96 * kNR;          // columns of a packed B panel
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

// Packing space from the caching allocator, returned when it goes out of scope.
struct FreeBytes {
  size_t granted;
  void operator()(uint16_t* p) const { free_bytes(p, granted); }
};
using Scratch = std::unique_ptr<uint16_t, FreeBytes>;
Scratch scratch(int64_t elements) {
  size_t granted = 0;
  void* p = alloc_bytes(sizeof(uint16_t) * static_cast<size_t>(elements), &granted);
  return Scratch(static_cast<uint16_t*>(p), FreeBytes{granted});
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

void gemm_serial(Micro micro, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
                 const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t kc_max = k < kKC ? (k + 1) / 2 * 2 : kKC;
  const int64_t mc_alloc = m < kMC ? (m + kMR - 1) / kMR * kMR : kMC;
  const int64_t nc_alloc = n < kNC ? (n + kNR - 1) / kNR * kNR : kNC;
  Scratch abuf = scratch(mc_alloc * kc_max), bbuf = scratch(nc_alloc * kc_max);
  alignas(64) float tmp[kMR * kNR];
  for (int64_t jc = 0; jc < n; jc += kNC) {
    int64_t nc = n - jc < kNC ? n - jc : kNC;
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      int64_t kc = k - pc < kc_max ? k - pc : kc_max, kp = (kc + 1) / 2;
      bool acc = accumulate || pc > 0;
      // B's columns are its lines: stored [n, k] (tb) a column is contiguous in depth
      pack(tb, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, nc, kc, kNR, bbuf.get());
      for (int64_t ic = 0; ic < m; ic += kMC) {
        int64_t mc = m - ic < kMC ? m - ic : kMC;
        pack(!ta, ta ? a + pc * lda + ic : a + ic * lda + pc, lda, mc, kc, kMR, abuf.get());
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          int nr = static_cast<int>(nc - jr < kNR ? nc - jr : kNR);
          const uint16_t* bp = bbuf.get() + jr * 2 * kp;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            int mr = static_cast<int>(mc - ir < kMR ? mc - ir : kMR);
            const uint16_t* ap = abuf.get() + ir * 2 * kp;
            float* cp = c + (ic + ir) * ldc + jc + jr;
            if (mr == kMR && nr == kNR) {
              micro(kp, ap, bp, cp, ldc, acc);
              continue;
            }
            micro(kp, ap, bp, tmp, kNR, false);
            for (int i = 0; i < mr; ++i)
              for (int j = 0; j < nr; ++j) cp[i * ldc + j] = acc ? cp[i * ldc + j] + tmp[i * kNR + j] : tmp[i * kNR + j];
          }
        }
      }
    }
  }
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
  Micro micro = choose_micro();
  int threads = num_threads();
  int64_t mt = (m + kMR - 1) / kMR, nt = (n + kNR - 1) / kNR;
  double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (threads <= 1 || work < kParallelWork || (mt < 2 && nt < 2))
    return gemm_serial(micro, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  // Threads take contiguous, tile-aligned ranges of the side with more tiles (each packs its own).
  bool split_n = nt >= mt;
  int64_t tiles = split_n ? nt : mt, parts = threads < tiles ? threads : tiles;
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t t0 = tiles * p / parts, t1 = tiles * (p + 1) / parts;
      if (split_n) {
        int64_t j0 = t0 * kNR, j1 = t1 * kNR < n ? t1 * kNR : n;
        if (j1 > j0)
          gemm_serial(micro, ta, tb, m, j1 - j0, k, a, lda, tb ? b + j0 * ldb : b + j0, ldb, c + j0, ldc, accumulate);
      } else {
        int64_t i0 = t0 * kMR, i1 = t1 * kMR < m ? t1 * kMR : m;
        if (i1 > i0)
          gemm_serial(micro, ta, tb, i1 - i0, n, k, ta ? a + i0 : a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc,
                      accumulate);
      }
    }
  });
}

const char* gemm_bf16_kernel() { return choose_micro() == micro_portable ? "portable" : "avx512_bf16"; }

}  // namespace kernels
}  // namespace ndgrad
