// GEMM driver: packed, cache-blocked (GotoBLAS/BLIS design) around the ISA table's register-blocked
// micro-kernel. Loops: jc over NC columns, pc over KC depth (B panel KC x NC packed once per (jc, pc)),
// ic over MC rows (A block MC x KC packed), then jr/ir over NR/MR micro-tiles. Transposes are handled
// while packing; partial tiles go through a small temp tile. Threads split the larger of M and N into
// independent sub-problems (each packs its own panels), so no synchronisation beyond the fork/join.
// Float64 uses a simpler blocked loop (tests and gradient checks only).
#include <cstring>
#include <vector>

#include "../core/allocator.h"
#include "../core/threadpool.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {
namespace {

constexpr int64_t kKC = 256;   // depth of a packed block (B micro-panel kc x nr stays in L1: 32 KB at
                               // 32 columns, leaving room for A; 320 measured ~4% slower at n=1024)
constexpr int64_t kMC = 192;   // rows of a packed A block (mc x kc in L2)
constexpr int64_t kNC = 3072;  // columns of a packed B panel (kc x nc in L3)
constexpr int64_t kSplitK = 32 * kKC;  // depth of one chunk of a deep product (see gemm_f32)
// Products of fewer micro-tiles than this over a depth of more than 2 * kFewTilesChunk have their
// depth split into chunks of kFewTilesChunk, computed in parallel (see gemm_f32_split_k).
constexpr int64_t kFewTiles = 16;
constexpr int64_t kFewTilesChunk = 4 * kKC;
constexpr int64_t kChunkGroup = 16;  // chunks in flight at once (bounds the partials' memory)
constexpr int kMaxTile = 32 * 32;  // largest mr * nr of any table
// Below kParallelWorkPerTile * mr * nr multiply-adds (0.4M on AVX2, 0.5M on AVX-512: a few µs of
// work) a GEMM runs on the calling thread only; above it, handing half to a spinning pool worker
// pays (measured: n=96 and n=128 square products go from ~170/200 to ~240/300 GFLOP/s on 2 cores).
constexpr int64_t kParallelWorkPerTile = 2048;

// Owns one block from the caching allocator (exception-safe, no leaks).
struct Buffer {
  void* p = nullptr;
  size_t granted = 0;
  explicit Buffer(size_t bytes) { p = alloc_bytes(bytes, &granted); }
  ~Buffer() {
    if (p) free_bytes(p, granted);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

// Packs `extent` lines x depth [0, kc) of a GEMM operand (already offset) into panels of R lines:
// dst[p*R + i] = line i at depth p, lines past the end zero. `lines_contiguous`: a panel's R lines
// are contiguous at each depth (element (i, p) at src[p*ld + i]); otherwise each line is contiguous
// in p (src[i*ld + p]). A is packed by rows (MR), B by columns (NR), with the layout flipped.
// `depth_major` (contiguous lines only): walk the source row by row rather than panel by panel.
void pack_panels(const KernelTable& t, bool lines_contiguous, bool depth_major, const float* src, int64_t ld,
                 int64_t extent, int64_t kc, int R, float* dst) {
  if (lines_contiguous && depth_major) {
    // Each source row p is read once, contiguously, across every panel. Panel-major reads only R
    // floats of each row at stride ld, which the prefetchers follow badly when ld is a large power
    // of two (an n=1024 product ran 7% faster this way). A's panels are few and narrow (MR), and
    // there the scattered writes cost more than the strided reads (measured), so A stays panel-major.
    const int64_t full = extent / R * R;
    const int r = static_cast<int>(extent - full);
    for (int64_t p = 0; p < kc; ++p) {
      const float* s = src + p * ld;
      float* d = dst + p * R;
      for (int64_t ir = 0; ir < full; ir += R, d += R * kc)
        for (int i = 0; i < R; ++i) d[i] = s[ir + i];
      if (r > 0)  // the padded last panel
        for (int i = 0; i < R; ++i) d[i] = i < r ? s[full + i] : 0.f;
    }
    return;
  }
  if (lines_contiguous) {
    for (int64_t ir = 0; ir < extent; ir += R, dst += R * kc) {
      const int r = static_cast<int>(extent - ir < R ? extent - ir : R);
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = src + p * ld + ir;
        float* d = dst + p * R;
        if (r == R) {
          std::memcpy(d, s, sizeof(float) * R);
        } else {
          int i = 0;
          for (; i < r; ++i) d[i] = s[i];
          for (; i < R; ++i) d[i] = 0.f;
        }
      }
    }
    return;
  }
  for (int64_t ir = 0; ir < extent; ir += R) {
    int r = static_cast<int>(extent - ir < R ? extent - ir : R);
    if (r == R && t.transpose_pack_f32(src + ir * ld, ld, R, kc, dst, R)) {
      // full panel transposed by the ISA kernel
    } else {
      // Each line is contiguous in p: walk 4 depth steps at a time per line.
      for (int i = 0; i < r; ++i) {
        const float* s = src + (ir + i) * ld;
        float* d = dst + i;
        int64_t p = 0;
        for (; p + 4 <= kc; p += 4) {
          float v0 = s[p], v1 = s[p + 1], v2 = s[p + 2], v3 = s[p + 3];
          d[p * R] = v0;
          d[(p + 1) * R] = v1;
          d[(p + 2) * R] = v2;
          d[(p + 3) * R] = v3;
        }
        for (; p < kc; ++p) d[p * R] = s[p];
      }
      for (int i = r; i < R; ++i)
        for (int64_t p = 0; p < kc; ++p) dst[p * R + i] = 0.f;
    }
    dst += R * kc;
  }
}

// A block rows [0, mc) x depth [0, kc) into panels of MR rows: dst[p*MR + i].
void pack_a(const KernelTable& t, bool ta, const float* a, int64_t lda, int64_t mc, int64_t kc, int MR, float* dst) {
  pack_panels(t, ta, false, a, lda, mc, kc, MR, dst);  // A stored [k, m] (ta): a panel's rows are contiguous
}

// B panel depth [0, kc) x columns [0, nc) into panels of NR columns: dst[p*NR + j].
void pack_b(const KernelTable& t, bool tb, const float* b, int64_t ldb, int64_t kc, int64_t nc, int NR, float* dst) {
  pack_panels(t, !tb, true, b, ldb, nc, kc, NR, dst);  // B stored [k, n] (not tb): a panel's columns are contiguous
}

// One independent sub-problem C[m, n] (+)= A[m, k] B[k, n] with operands already offset.
void gemm_f32_serial(const KernelTable& t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                     int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int MR = t.gemm_mr, NR = t.gemm_nr;
  const int64_t mc_max = (kMC / MR) * MR > 0 ? (kMC / MR) * MR : MR;
  const int64_t nc_max = (kNC / NR) * NR > 0 ? (kNC / NR) * NR : NR;
  const int64_t kc_max = k < kKC ? k : kKC;
  const int64_t mc_alloc = (m < mc_max ? (m + MR - 1) / MR * MR : mc_max);
  const int64_t nc_alloc = (n < nc_max ? (n + NR - 1) / NR * NR : nc_max);
  Buffer abuf(sizeof(float) * static_cast<size_t>(mc_alloc * kc_max));
  Buffer bbuf(sizeof(float) * static_cast<size_t>(nc_alloc * kc_max));
  alignas(64) float tmp[kMaxTile];
  float* ap = abuf.f();
  float* bp = bbuf.f();
  for (int64_t jc = 0; jc < n; jc += nc_max) {
    int64_t nc = n - jc < nc_max ? n - jc : nc_max;
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      int64_t kc = k - pc < kc_max ? k - pc : kc_max;
      bool acc = accumulate || pc > 0;
      pack_b(t, tb, tb ? b + jc * ldb + pc : b + pc * ldb + jc, ldb, kc, nc, NR, bp);
      for (int64_t ic = 0; ic < m; ic += mc_max) {
        int64_t mc = m - ic < mc_max ? m - ic : mc_max;
        pack_a(t, ta, ta ? a + pc * lda + ic : a + ic * lda + pc, lda, mc, kc, MR, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int nr = static_cast<int>(nc - jr < NR ? nc - jr : NR);
          const float* bpan = bp + jr * kc;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int mr = static_cast<int>(mc - ir < MR ? mc - ir : MR);
            const float* apan = ap + ir * kc;
            float* cp = c + (ic + ir) * ldc + jc + jr;
            if (mr == MR && nr == NR) {
              t.gemm_micro_f32(kc, apan, bpan, cp, ldc, acc);
            } else {
              t.gemm_micro_f32(kc, apan, bpan, tmp, NR, false);
              for (int i = 0; i < mr; ++i) {
                float* ci = cp + i * ldc;
                const float* ti = tmp + i * NR;
                if (acc)
                  for (int j = 0; j < nr; ++j) ci[j] += ti[j];
                else
                  for (int j = 0; j < nr; ++j) ci[j] = ti[j];
              }
            }
          }
        }
      }
    }
  }
}

// Rows of B accumulated into a float32 partial of y before it is flushed into a double total (the
// matrix-vector form of a blocked sum: any product meets at most kGemvChain + 1 float32 roundings
// whatever k is, instead of k in one long pass).
constexpr int64_t kGemvChain = 256;

// The reference y[i] += alpha * x[i] for tables without an axpy kernel (a plain loop the compiler
// vectorises for the baseline ISA; y never overlaps x here).
#if defined(_MSC_VER)
__declspec(noinline)
#else
__attribute__((noinline))  // inlined into the GEMV loop it lost its vectorisation (measured: 2x slower)
#endif
void axpy_ref(float alpha, const float* x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

// One-row product (batch-1 inference): y[0, n) (+)= x . B with x = A's single row. No packing: each
// element of B is read once, which is all a matrix-vector product can do. Threads split outputs.
void gemv_f32(const KernelTable& t, bool ta, bool tb, int64_t n, int64_t k, const float* a, int64_t lda,
              const float* b, int64_t ldb, float* y, bool accumulate) {
  std::vector<float> xs;
  const float* x = a;
  if (ta && lda != 1) {  // A stored [k, 1] with a stride: gather the row
    xs.resize(static_cast<size_t>(k));
    for (int64_t p = 0; p < k; ++p) xs[p] = a[p * lda];
    x = xs.data();
  }
  if (!tb && n == 1 && ldb == 1) tb = true, ldb = k;  // one contiguous column (a 1-D dot): a dot product
  if (tb) {  // B stored [n, k]: output j is the dot product of x with row j
    parallel_for(n, 1 + 131072 / (k + 1), [&](int64_t j0, int64_t j1) {
      for (int64_t j = j0; j < j1; ++j) {
        const float* bj = b + j * ldb;
        float d;
        if (!t.dot_f32(x, bj, k, &d)) {
          double s = 0;  // the reference: double accumulation, one rounding at the end
          for (int64_t p = 0; p < k; ++p) s += static_cast<double>(x[p]) * bj[p];
          d = static_cast<float>(s);
        }
        y[j] = accumulate ? y[j] + d : d;
      }
    });
  } else {  // B stored [k, n]: y += x[p] * row p, each thread over its own columns
    parallel_for(n, 1 + 131072 / (k + 1), [&](int64_t j0, int64_t j1) {
      float* yj = y + j0;
      const int64_t len = j1 - j0;
      auto rows = [&](int64_t p0, int64_t p1) {  // yj += x[p] * B[p, j0:j1) for p in [p0, p1)
        for (int64_t p = p0; p < p1; ++p) {
          const float* bp = b + p * ldb + j0;
          if (!t.axpy_f32(x[p], bp, yj, len)) axpy_ref(x[p], bp, yj, len);
        }
      };
      if (!accumulate)
        for (int64_t j = 0; j < len; ++j) yj[j] = 0.f;
      rows(0, k < kGemvChain ? k : kGemvChain);  // the first block straight into y
      if (k <= kGemvChain) return;
      Buffer tot(sizeof(double) * static_cast<size_t>(len));
      double* s = static_cast<double*>(tot.p);
      for (int64_t j = 0; j < len; ++j) s[j] = yj[j];
      for (int64_t p0 = kGemvChain; p0 < k; p0 += kGemvChain) {
        for (int64_t j = 0; j < len; ++j) yj[j] = 0.f;
        rows(p0, k - p0 < kGemvChain ? k : p0 + kGemvChain);
        for (int64_t j = 0; j < len; ++j) s[j] += yj[j];
      }
      for (int64_t j = 0; j < len; ++j) yj[j] = static_cast<float>(s[j]);
    });
  }
}

// A deep product with few output tiles (a weight gradient over a large batch, a small C over a
// long sum): splitting M or N would leave threads idle, so the depth is split instead. The chunks'
// bounds depend on the shape only; each chunk's product goes to its own buffer (whichever thread
// computes it) and the partials are added into a double total in chunk order, so the result is the
// same bits whatever the thread count. The double total also bounds the roundings per term to
// KC + chunks + 1, as for the deep path of gemm_f32.
void gemm_f32_split_k(const KernelTable& t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t chunks = (k + kFewTilesChunk - 1) / kFewTilesChunk, mn = m * n;
  Buffer tot(sizeof(double) * static_cast<size_t>(mn));
  Buffer parts(sizeof(float) * static_cast<size_t>(kChunkGroup * mn));
  double* s = static_cast<double*>(tot.p);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) s[i * n + j] = accumulate ? c[i * ldc + j] : 0.0;
  // Enough chunks per thread to be worth a hand-off (the threshold of the M/N split).
  const double chunk_work = static_cast<double>(mn) * static_cast<double>(kFewTilesChunk);
  const int64_t min_chunks =
      1 + static_cast<int64_t>(static_cast<double>(kParallelWorkPerTile) * t.gemm_mr * t.gemm_nr / chunk_work);
  for (int64_t g0 = 0; g0 < chunks; g0 += kChunkGroup) {
    const int64_t g1 = chunks - g0 < kChunkGroup ? chunks : g0 + kChunkGroup;
    parallel_for(g1 - g0, min_chunks, [&](int64_t c0, int64_t c1) {
      for (int64_t ci = c0; ci < c1; ++ci) {
        const int64_t p0 = (g0 + ci) * kFewTilesChunk, kk = k - p0 < kFewTilesChunk ? k - p0 : kFewTilesChunk;
        gemm_f32_serial(t, ta, tb, m, n, kk, ta ? a + p0 * lda : a + p0, lda, tb ? b + p0 : b + p0 * ldb, ldb,
                        parts.f() + ci * mn, n, false);
      }
    });
    for (int64_t ci = 0; ci < g1 - g0; ++ci) {
      const float* part = parts.f() + ci * mn;
      for (int64_t e = 0; e < mn; ++e) s[e] += part[e];
    }
  }
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = static_cast<float>(s[i * n + j]);
}

void gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
              int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const KernelTable& t = table();
  const int MR = t.gemm_mr, NR = t.gemm_nr;
  if (m == 1) {
    gemv_f32(t, ta, tb, n, k, a, lda, b, ldb, c, accumulate);
    return;
  }
  // Few columns (a classifier head, a 3x3 single-channel filter gradient): most of each MR x NR tile
  // would be padding. Computing C^T = B^T A^T instead puts the long side along NR; the small C^T is
  // then transposed into C.
  auto padded = [](int64_t len, int tile) { return (len + tile - 1) / tile * tile; };
  if (n < NR && m >= NR && padded(n, MR) * padded(m, NR) < padded(m, MR) * padded(n, NR)) {
    Buffer tbuf(sizeof(float) * static_cast<size_t>(n * m));
    float* ct = tbuf.f();
    gemm_f32(!tb, !ta, n, m, k, b, ldb, a, lda, ct, m, false);
    for (int64_t i = 0; i < m; ++i) {
      float* ci = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) ci[j] = accumulate ? ci[j] + ct[j * m + i] : ct[j * m + i];
    }
    return;
  }
  int64_t mt = (m + MR - 1) / MR, nt = (n + NR - 1) / NR;  // micro-tiles along each side
  if (mt * nt < kFewTiles && k > 2 * kFewTilesChunk) {
    gemm_f32_split_k(t, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  // Deep products: the driver adds each KC block's partial product into C in float32, so depth k
  // would put k / KC roundings on every term. Chunks of kSplitK depth are computed one at a time
  // into C and summed in double (a two-level blocked sum: at most KC + kSplitK / KC + 1 float32
  // roundings per term, whatever k is); the extra pass over C costs 1 / kSplitK of the work.
  if (k > kSplitK) {
    Buffer tot(sizeof(double) * static_cast<size_t>(m * n));
    double* s = static_cast<double*>(tot.p);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) s[i * n + j] = accumulate ? c[i * ldc + j] : 0.0;
    for (int64_t p0 = 0; p0 < k; p0 += kSplitK) {
      int64_t kk = k - p0 < kSplitK ? k - p0 : kSplitK;
      gemm_f32(ta, tb, m, n, kk, ta ? a + p0 * lda : a + p0, lda, tb ? b + p0 : b + p0 * ldb, ldb, c, ldc, false);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) s[i * n + j] += c[i * ldc + j];
    }
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = static_cast<float>(s[i * n + j]);
    return;
  }
  int threads = num_threads();
  double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  double min_work = static_cast<double>(kParallelWorkPerTile) * MR * NR;
  if (threads <= 1 || work < min_work || (mt < 2 && nt < 2)) {
    gemm_f32_serial(t, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    return;
  }
  // Split the side with more micro-tiles into `parts` contiguous, tile-aligned ranges.
  bool split_n = nt >= mt;
  int64_t tiles = split_n ? nt : mt;
  int64_t parts = threads < tiles ? threads : tiles;
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t t0 = tiles * p / parts, t1 = tiles * (p + 1) / parts;
      if (split_n) {
        int64_t j0 = t0 * NR, j1 = t1 * NR < n ? t1 * NR : n;
        if (j1 <= j0) continue;
        gemm_f32_serial(t, ta, tb, m, j1 - j0, k, a, lda, tb ? b + j0 * ldb : b + j0, ldb, c + j0, ldc, accumulate);
      } else {
        int64_t i0 = t0 * MR, i1 = t1 * MR < m ? t1 * MR : m;
        if (i1 <= i0) continue;
        gemm_f32_serial(t, ta, tb, i1 - i0, n, k, ta ? a + i0 : a + i0 * lda, lda, b, ldb, c + i0 * ldc, ldc,
                        accumulate);
      }
    }
  });
}

// Float64: row-parallel loops blocked over depth; every product is formed (NaN propagates).
void gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double* a, int64_t lda, const double* b,
              int64_t ldb, double* c, int64_t ldc, bool accumulate) {
  constexpr int64_t kBlockK = 256;
  parallel_for(m, 1 + 65536 / (n * k + 1), [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      double* ci = c + i * ldc;
      if (!accumulate)
        for (int64_t j = 0; j < n; ++j) ci[j] = 0;
      for (int64_t pb = 0; pb < k; pb += kBlockK) {
        int64_t pe = pb + kBlockK < k ? pb + kBlockK : k;
        if (!tb) {
          for (int64_t p = pb; p < pe; ++p) {
            double av = ta ? a[p * lda + i] : a[i * lda + p];
            const double* bp = b + p * ldb;
            for (int64_t j = 0; j < n; ++j) ci[j] += av * bp[j];
          }
        } else {
          for (int64_t j = 0; j < n; ++j) {
            const double* bj = b + j * ldb;
            double s = 0;
            if (!ta) {
              const double* ai = a + i * lda;
              for (int64_t p = pb; p < pe; ++p) s += ai[p] * bj[p];
            } else {
              for (int64_t p = pb; p < pe; ++p) s += a[p * lda + i] * bj[p];
            }
            ci[j] += s;
          }
        }
      }
    }
  });
}

}  // namespace

void gemm(int dtype, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda, const void* b,
          int64_t ldb, void* c, int64_t ldc, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // empty sum: C = 0, or C unchanged when accumulating
    if (!accumulate) {
      size_t es = dtype == 0 ? sizeof(float) : sizeof(double);
      for (int64_t i = 0; i < m; ++i) std::memset(static_cast<char*>(c) + i * ldc * es, 0, es * n);
    }
    return;
  }
  if (dtype == 0)
    gemm_f32(ta, tb, m, n, k, (const float*)a, lda, (const float*)b, ldb, (float*)c, ldc, accumulate);
  else
    gemm_f64(ta, tb, m, n, k, (const double*)a, lda, (const double*)b, ldb, (double*)c, ldc, accumulate);
}

}  // namespace kernels
}  // namespace ndgrad
