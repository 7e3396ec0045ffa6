// Standalone GEMM tests (part of kernels_test, see kernels_test.cc): every ISA table's GEMM and
// one-row products against a double-precision naive product, with the error bound of a blocked
// float32 sum, at sizes past every blocking boundary.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/allocator.h"
#include "core/threadpool.h"
#include "kernels/kernels.h"
#include "test_util.h"

using namespace ndgrad::kernels;

namespace kernels_test {

// Error bound of a float32 sum of k products computed as a blocked sum (derived, not fitted; the
// same bound as test/products-reference.test.ts): blocks of at most B = 512 terms summed in float32,
// the block sums then added one after another, put at most d = B + ceil(k / B) float32 roundings on
// any term (k when k <= B); pairwise or double combination only lowers d. Then
// |computed - exact| <= gamma_d * sum |a_i b_i|, gamma_d = d u / (1 - d u), u = 2^-24 (Higham,
// Accuracy and Stability of Numerical Algorithms, eqs. 3.4-3.5, section 4.2). B = 512 is the largest
// block a BLAS-style kernel keeps in one accumulator (BLIS/OpenBLAS KC 256-512, NumPy's pairwise
// blocks 128). +4: the product's own rounding (none with FMA), combining up to four partial
// accumulators (2), the final rounding to float32 (1).
double gamma_blocked(int64_t k) {
  const double u = std::ldexp(1.0, -24);
  const int64_t B = 512;
  double d = static_cast<double>((k <= B ? k : B + (k + B - 1) / B) + 4);
  return d * u / (1 - d * u);
}

// C = op(A) op(B) (+ C) against a double naive product with the blocked-sum bound.
void test_gemm(const std::vector<const KernelTable*>& tables) {
  const int64_t dims[] = {1, 2, 5, 17, 63, 64, 65, 129, 300};
  Rng r(5);
  int count = 0;
  for (int tr = 0; tr < 4; ++tr) {
    bool ta = tr & 1, tb = tr & 2;
    for (int64_t m : dims)
      for (int64_t n : dims)
        for (int64_t k : dims) {
          // thin out the largest combos to keep the run short
          if (m * n * k > 300 * 300 * 65 && (m + n + k) % 3 != 0) continue;
          if (g_small && m * n * k > 65 * 65 * 65) continue;
          int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 2;
          int64_t arows = ta ? k : m, brows = tb ? n : k;
          std::vector<float> a(arows * lda), b(brows * ldb), c0(m * ldc);
          for (auto& v : a) v = r.range(-1, 1);
          for (auto& v : b) v = r.range(-1, 1);
          for (auto& v : c0) v = r.range(-1, 1);
          std::vector<double> ref(m * n), mag(m * n);
          for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
              double s = 0, g = 0;
              for (int64_t p = 0; p < k; ++p) {
                double av = ta ? a[p * lda + i] : a[i * lda + p];
                double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
                g += std::fabs(av * bv);
              }
              ref[i * n + j] = s;
              mag[i * n + j] = g;
            }
          for (const KernelTable* t : tables) {
            select_isa(t->isa);
            for (int accumulate = 0; accumulate < 2; ++accumulate) {
              std::vector<float> c = c0;
              gemm(0, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, accumulate);
              ++g_checks;
              ++count;
              bool bad = false;
              for (int64_t i = 0; i < m && !bad; ++i) {
                for (int64_t j = 0; j < ldc; ++j) {
                  float got = c[i * ldc + j];
                  if (j >= n) {
                    if (got != c0[i * ldc + j]) { fail("%s gemm wrote padding", t->isa); bad = true; }
                    continue;
                  }
                  double want = ref[i * n + j] + (accumulate ? c0[i * ldc + j] : 0);
                  double tol = gamma_blocked(k + accumulate) *
                               (mag[i * n + j] + (accumulate ? std::fabs(c0[i * ldc + j]) : 0));
                  if (!(std::fabs(got - want) <= tol)) {
                    fail("%s gemm ta=%d tb=%d m=%lld n=%lld k=%lld acc=%d [%lld,%lld]: %.9g vs %.9g", t->isa, ta, tb,
                         (long long)m, (long long)n, (long long)k, accumulate, (long long)i, (long long)j, got, want);
                    bad = true;
                    break;
                  }
                }
              }
            }
          }
        }
  }
  // k == 0, NaN propagation through zeros, float64
  for (const KernelTable* t : tables) {
    select_isa(t->isa);
    float c[6] = {1, 2, 3, 4, 5, 6};
    gemm(0, false, false, 2, 3, 0, nullptr, 1, nullptr, 3, c, 3, true);
    ++g_checks;
    if (c[0] != 1 || c[5] != 6) fail("%s gemm k=0 accumulate changed C", t->isa);
    gemm(0, false, false, 2, 3, 0, nullptr, 1, nullptr, 3, c, 3, false);
    for (float v : c)
      if (v != 0) { fail("%s gemm k=0 did not zero C", t->isa); break; }
    std::vector<float> a(40 * 70, 0.f), b(70 * 50, 1.f), cc(40 * 50);
    a[3 * 70 + 10] = NAN;
    std::vector<float> bz(70 * 50, 0.f);
    bz[10 * 50 + 7] = INFINITY;
    gemm(0, false, false, 40, 50, 70, a.data(), 70, bz.data(), 50, cc.data(), 50, false);
    ++g_checks;
    if (!std::isnan(cc[3 * 50 + 0]) || !std::isnan(cc[5 * 50 + 7]) || cc[5 * 50 + 8] != 0)
      fail("%s gemm NaN/inf*0 propagation: %g %g %g", t->isa, cc[3 * 50], cc[5 * 50 + 7], cc[5 * 50 + 8]);
  }
  for (int tr = 0; tr < 4; ++tr) {
    bool ta = tr & 1, tb = tr & 2;
    for (int64_t m : {1, 17, 65})
      for (int64_t n : {1, 5, 64})
        for (int64_t k : {1, 63, 129}) {
          int64_t lda = ta ? m : k, ldb = tb ? k : n;
          std::vector<double> a(m * k), b(k * n), c(m * n, 1.0);
          for (auto& v : a) v = r.range(-1, 1);
          for (auto& v : b) v = r.range(-1, 1);
          gemm(1, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), n, true);
          ++g_checks;
          for (int64_t i = 0; i < m * n; ++i) {
            double s = 1;
            for (int64_t p = 0; p < k; ++p)
              s += (ta ? a[p * lda + i / n] : a[(i / n) * lda + p]) * (tb ? b[(i % n) * ldb + p] : b[p * ldb + i % n]);
            if (std::fabs(s - c[i]) > 1e-12 * k) { fail("f64 gemm ta=%d tb=%d m=%lld n=%lld k=%lld", ta, tb, (long long)m, (long long)n, (long long)k); break; }
          }
        }
  }
  std::printf("  gemm: %d float32 products checked\n", count);
}

// Fills x with stagnation data: the first `big` entries 4096 (products 2^24), the rest in [0.5, 1).
// Summed one term at a time in float32, every small product after the large ones is lost (it is
// below half an ulp of the running sum): an error of k/2 or more, far past the blocked-sum bound.
void stagnating(Rng& r, float* x, int64_t n, int64_t stride, int64_t big = 64) {
  for (int64_t i = 0; i < n; ++i) x[i * stride] = i < big ? 4096.f : r.range(0.5f, 1.f);
}

// Sizes past every blocking boundary (MC 192, KC 256, NC 3072, the MR x NR edges of every table, the
// deep-product chunks of 8192, the depth split of 1024) with padded leading dimensions, against the
// double reference.
void test_gemm_large(const std::vector<const KernelTable*>& tables) {
  struct Case { int64_t m, n, k; bool ta, tb, acc; };
  const Case cases[] = {
      {197, 3100, 333, false, false, false},  // MC, KC and NC at once, partial tiles on both sides
      {385, 70, 650, true, false, true},      // two full MC blocks and a partial one, three KC blocks
      {13, 3100, 700, false, true, false},    // NC with the transposed packing of B
      {200, 5, 400, true, true, true},        // few columns: the C^T = B^T A^T path
      {6, 9, 25000, false, true, true},       // deep: chunks of the depth summed in double
      {5, 40, 21000, true, false, false},
      {7, 20, 6000, true, false, true},       // few tiles, deep: the depth split over threads
      {9, 33, 2049, false, true, false},      // just past the split's threshold, partial last chunk
      {3, 3, 30001, false, false, true},      // more chunks than one group holds
      {100, 2000, 700, false, true, true},    // the packed depth in two groups (2 + 1 blocks of 236)
      {4400, 40, 256, true, false, false},    // A past the packing budget (A shared at 2, 3 threads): two row groups
  };
  Rng r(6);
  int count = 0;
  for (const Case& cs : cases) {
    const int64_t m = cs.m, n = cs.n, k = cs.k;
    if (g_small && m * n * k > 30000000) continue;  // the others still cross MC, KC, NC and the chunks
    const int64_t lda = (cs.ta ? m : k) + 3, ldb = (cs.tb ? k : n) + 1, ldc = n + 2;
    std::vector<float> a((cs.ta ? k : m) * lda), b((cs.tb ? n : k) * ldb), c0(m * ldc);
    for (auto& v : a) v = r.range(-1, 1);
    for (auto& v : b) v = r.range(0, 1);
    for (auto& v : c0) v = r.range(-1, 1);
    std::vector<double> ref(m * n, 0.0), mag(m * n, 0.0);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) {
        double av = cs.ta ? a[p * lda + i] : a[i * lda + p];
        for (int64_t j = 0; j < n; ++j) {
          double t = av * (cs.tb ? b[j * ldb + p] : b[p * ldb + j]);
          ref[i * n + j] += t;
          mag[i * n + j] += std::fabs(t);
        }
      }
    std::vector<std::vector<float>> one_thread(tables.size());  // each table's result at 1 thread
    for (int threads : {1, 2, 3})
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      const KernelTable* t = tables[ti];
      ndgrad::set_num_threads(threads);
      select_isa(t->isa);
      std::vector<float> c = c0;
      gemm(0, cs.ta, cs.tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, cs.acc);
      ++g_checks;
      ++count;
      // Threads split M, N or the depth only in ways that leave every sum's order as it was.
      if (threads == 1) one_thread[ti] = c;
      else if (std::memcmp(c.data(), one_thread[ti].data(), sizeof(float) * c.size()) != 0)
        fail("%s large gemm m=%lld n=%lld k=%lld: %d threads gave other bits than 1", t->isa, (long long)m,
             (long long)n, (long long)k, threads);
      bool bad = false;
      for (int64_t i = 0; i < m && !bad; ++i)
        for (int64_t j = 0; j < ldc; ++j) {
          float got = c[i * ldc + j];
          if (j >= n) {
            if (got != c0[i * ldc + j]) { fail("%s large gemm wrote padding", t->isa); bad = true; break; }
            continue;
          }
          double c0v = cs.acc ? c0[i * ldc + j] : 0.0;
          double want = ref[i * n + j] + c0v;
          double tol = gamma_blocked(k + cs.acc) * (mag[i * n + j] + std::fabs(c0v));
          if (!(std::fabs(got - want) <= tol)) {
            fail("%s large gemm threads=%d ta=%d tb=%d m=%lld n=%lld k=%lld acc=%d [%lld,%lld]: %.9g vs %.9g (tol %.3g)",
                 t->isa, threads, cs.ta, cs.tb, (long long)m, (long long)n, (long long)k, cs.acc, (long long)i,
                 (long long)j, got, want, tol);
            bad = true;
            break;
          }
        }
    }
  }
  std::printf("gemm past the blocking sizes (threads 1, 2 and 3, the same bits): %d products checked\n", count);
}

// One-row products (matrix-vector) with K up to 2^20: every table's dot kernel directly, and the
// GEMV driver (dot rows, axpy rows, the strided gather of A) through gemm with m = 1, on stagnation
// data that a one-term-at-a-time float32 sum gets wrong by far more than the blocked-sum bound.
void test_one_row(const std::vector<const KernelTable*>& tables) {
  Rng r(7);
  int count = 0;
  for (int64_t k : {1, 7, 4099, 70001, (1 << 20) + 37}) {
    std::vector<float> x(k), y(k);
    stagnating(r, x.data(), k, 1);
    stagnating(r, y.data(), k, 1);
    double ref = 0, mag = 0;
    for (int64_t p = 0; p < k; ++p) {
      ref += double(x[p]) * y[p];
      mag += std::fabs(double(x[p]) * y[p]);
    }
    for (const KernelTable* t : tables) {
      float d = 0;
      if (!t->dot_f32(x.data(), y.data(), k, &d)) continue;  // no dot kernel: the driver's fallback, below
      ++g_checks;
      ++count;
      if (!(std::fabs(d - ref) <= gamma_blocked(k) * mag))
        fail("%s dot_f32 k=%lld: %.9g vs %.9g (tol %.3g)", t->isa, (long long)k, d, ref, gamma_blocked(k) * mag);
    }
  }
  const int64_t K = (1 << 20) + 37;
  for (int variant = 0; variant < 8; ++variant) {
    const bool ta = variant & 1, tb = variant & 2, acc = variant & 4;
    const int64_t n = variant % 3 == 0 ? 1 : 3;
    const int64_t lda = ta ? 2 : K, ldb = tb ? K + 1 : n;  // ta: A as a strided column (gathered)
    std::vector<float> a(ta ? K * lda : K), b(tb ? n * ldb : K * ldb), c0(n);
    stagnating(r, a.data(), K, ta ? lda : 1);
    for (int64_t j = 0; j < n; ++j) stagnating(r, b.data() + (tb ? j * ldb : j), K, tb ? 1 : ldb, j == 2 ? 1000 : 64);
    for (auto& v : c0) v = r.range(-1, 1);
    std::vector<double> ref(n, 0.0), mag(n, 0.0);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < K; ++p) {
        double t = double(a[ta ? p * lda : p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
        ref[j] += t;
        mag[j] += std::fabs(t);
      }
    for (int threads : {1, 2})
    for (const KernelTable* t : tables) {
      ndgrad::set_num_threads(threads);
      select_isa(t->isa);
      std::vector<float> c = c0;
      gemm(0, ta, tb, 1, n, K, a.data(), lda, b.data(), ldb, c.data(), n, acc);
      ++g_checks;
      ++count;
      for (int64_t j = 0; j < n; ++j) {
        double want = ref[j] + (acc ? c0[j] : 0), tol = gamma_blocked(K + acc) * (mag[j] + (acc ? std::fabs(c0[j]) : 0));
        if (!(std::fabs(c[j] - want) <= tol)) {
          fail("%s one-row gemm threads=%d ta=%d tb=%d n=%lld acc=%d [%lld]: %.9g vs %.9g (tol %.3g)", t->isa,
               threads, ta, tb, (long long)n, acc, (long long)j, c[j], want, tol);
          break;
        }
      }
    }
  }
  std::printf("one-row products up to k=%lld (threads 1 and 2): %d checked\n", (long long)K, count);
}

// Under a memory limit that lets part of the GEMM's scratch through but not all, the product throws
// before writing C, or completes: never a C half-written. The driver takes every buffer before its
// parts run (8 row blocks at 2 threads: a buffer per part; 1 row block: A shared by the parts).
void test_gemm_scratch_limit(const std::vector<const KernelTable*>& tables) {
  select_isa(tables.back()->isa);
  const int64_t shapes[][3] = {{1536, 64, 256}, {100, 64, 512}};
  int failed = 0, completed = 0;
  for (int threads : {1, 2}) {
    ndgrad::set_num_threads(threads);
    for (const auto& s : shapes) {
      const int64_t m = s[0], n = s[1], k = s[2];
      std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
      const int64_t live = ndgrad::allocator_stats().live_bytes;
      for (int64_t extra = 0; extra <= 2 << 20; extra += 64 << 10) {
        std::fill(c.begin(), c.end(), 5.f);
        ndgrad::set_memory_limit(live + extra);
        bool threw = false;
        try {
          gemm(0, false, false, m, n, k, a.data(), k, b.data(), n, c.data(), n, false);
        } catch (...) {
          threw = true;
        }
        ndgrad::set_memory_limit(-1);
        const float want = threw ? 5.f : 0.125f * static_cast<float>(k);
        ++g_checks;
        if (std::count(c.begin(), c.end(), want) != static_cast<long>(c.size())) {
          fail("gemm %lldx%lldx%lld at %d threads, limit +%lld: %s C", (long long)m, (long long)n, (long long)k,
               threads, (long long)extra, threw ? "threw with a written" : "wrong");
          break;
        }
        (threw ? failed : completed)++;
      }
    }
  }
  if (!failed || !completed) fail("gemm scratch limit: %d failed, %d completed (want both)", failed, completed);
  std::printf("gemm under memory limits: %d failed, %d completed, C never half-written\n", failed, completed);
}

}  // namespace kernels_test
