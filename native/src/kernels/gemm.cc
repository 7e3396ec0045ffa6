// GEMM entry: the float32 products' special shapes around the packed, blocked driver (gemm_blocked.cc):
// one-row products (no packing), few columns (computed transposed), deep products with few output
// tiles (the depth split over threads), deep products (chunks summed in double). Float64 uses a
// simpler blocked loop (tests and gradient checks only).
#include <cstring>
#include <vector>

#include "../core/threadpool.h"
#include "gemm_blocked.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {
namespace {

constexpr int64_t kKC = 256;  // the driver's depth block (the chunks below are multiples of it)
constexpr int64_t kSplitK = 32 * kKC;  // depth of one chunk of a deep product (see gemm_f32)
// Products of fewer micro-tiles than this over a depth of more than 2 * kFewTilesChunk have their
// depth split into chunks of kFewTilesChunk, computed in parallel (see gemm_f32_split_k).
constexpr int64_t kFewTiles = 16;
constexpr int64_t kFewTilesChunk = 4 * kKC;
constexpr int64_t kChunkGroup = 16;  // chunks in flight at once (bounds the partials' memory)
// Below kParallelWorkPerTile * mr * nr multiply-adds (0.4M on AVX2, 0.5M on AVX-512: a few µs of
// work) a GEMM runs on the calling thread only; above it, handing half to a spinning pool worker
// pays (measured: n=96 and n=128 square products go from ~170/200 to ~240/300 GFLOP/s on 2 cores).
constexpr int64_t kParallelWorkPerTile = 2048;

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
        gemm_f32_blocked(t, ta, tb, m, n, kk, ta ? a + p0 * lda : a + p0, lda, tb ? b + p0 : b + p0 * ldb, ldb,
                         parts.f() + ci * mn, n, false, false);
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
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  const bool parallel = num_threads() > 1 && work >= static_cast<double>(kParallelWorkPerTile) * MR * NR &&
                        (mt >= 2 || nt >= 2);
  gemm_f32_blocked(t, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
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
