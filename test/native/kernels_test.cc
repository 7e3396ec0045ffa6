// Standalone kernel tests: every ISA table this machine can run against the scalar reference
// (generic.cc loops) and, for GEMM and one-row products, a double-precision naive product with the
// error bound of a blocked float32 sum, at sizes past every blocking boundary. Build with build.sh;
// .ci/run runs it (and its NEON-emulation build).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstdarg>
#include <cstring>
#include <vector>

#include "core/threadpool.h"
#include "kernels/kernels.h"

using namespace ndgrad::kernels;

namespace {

int g_checks = 0, g_failures = 0;
// --small: skip the big products and the longest sum (for runs under qemu, 10-50x slower).
bool g_small = false;
const int kSizes[] = {0, 1, 7, 17, 31, 1023, 4099};

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  double uni() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
  float range(float lo, float hi) { return static_cast<float>(lo + (hi - lo) * uni()); }
};

int64_t ulp_diff(float a, float b) {
  bool na = a != a, nb = b != b;
  if (na || nb) return na && nb ? 0 : INT64_MAX;
  if (a == b) return 0;
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  int64_t oa = ia < 0 ? -int64_t(ia & 0x7fffffff) : ia;
  int64_t ob = ib < 0 ? -int64_t(ib & 0x7fffffff) : ib;
  return oa > ob ? oa - ob : ob - oa;
}

void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
  ++g_failures;
  if (g_failures > 60) return;
  va_list ap;
  va_start(ap, fmt);
  std::printf("  FAIL: ");
  std::vprintf(fmt, ap);
  std::printf("\n");
  va_end(ap);
}

// Max allowed ulp error against the reference (which is correctly rounded in practice).
int unary_tol(int k) {
  switch (k) {
    case kNeg: case kAbs: case kSign: case kSqrt: case kSquare: case kReciprocal: case kRelu: case kFloor:
    case kCeil: case kRound: case kTrunc: case kIdentity:
      return 0;
    case kRsqrt: case kDegrees: case kRadians: case kSoftsign: case kExp:
      return 1;
    default: return 3;
  }
}

const float kSpecials[] = {NAN, -NAN, INFINITY, -INFINITY, 0.f, -0.f, 1.f, -1.f, 0.5f, -0.5f, 1.5f, -2.5f,
                           1e-40f, -1e-40f, 1.17549435e-38f, 3e38f, -3e38f, 88.72283f, 88.7229f, 89.f, -87.3f,
                           -88.f, -100.f, -103.9f, -104.f, -110.f, 1e-8f, -1e-8f, 0.625f, -0.625f, 9.f, -9.f,
                           20.f, 8388609.f, -8388609.5f, 0.49999997f, 1e-30f, 2.f, 10.f, 0.921875f, 4.f, -4.f};

void fill_unary(int kind, Rng& r, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    double u = r.uni();
    float v;
    switch (kind) {
      case kExp: case kExpm1: case kSigmoid: v = r.range(-110.f, 95.f); if (u < 0.3) v = r.range(-2.f, 2.f); if (u < 0.1) v = r.range(-1e-3f, 1e-3f); break;
      case kLog: case kLog2: case kLog10: case kSqrt: case kRsqrt:
        v = static_cast<float>(std::exp(r.range(-100.f, 88.f)));
        if (u < 0.3) v = r.range(0.5f, 2.f);
        break;
      case kLog1p: v = r.range(-1.f, 10.f); if (u < 0.3) v = r.range(-1e-3f, 1e-3f); if (u < 0.1) v = 1e30f * r.range(0, 1); break;
      case kTanh: case kErf: v = r.range(-10.f, 10.f); if (u < 0.4) v = r.range(-1.f, 1.f); if (u < 0.1) v = r.range(-1e-4f, 1e-4f); break;
      case kFloor: case kCeil: case kRound: case kTrunc: v = r.range(-100.f, 100.f); if (u < 0.3) v = std::round(v * 2) / 2; break;
      default: v = r.range(-100.f, 100.f); if (u < 0.2) v = r.range(-1.f, 1.f); break;
    }
    x[i] = v;
  }
  // specials at pseudo-random positions
  if (n > 0)
    for (float s : kSpecials) x[r.next() % n] = s;
}

void test_unary(const KernelTable* t) {
  Rng r(1);
  int vectorised = 0;
  for (int kind = 0; kind < kUnaryCount; ++kind) {
    bool has = true;
    int64_t worst = 0;
    float worst_x = 0;
    for (int64_t n : kSizes) {
      for (int off = 0; off < 2; ++off) {
        std::vector<float> x(n + 2), ref(n + 2), y(n + 2), yi(n + 2);
        fill_unary(kind, r, x.data() + off, n);
        select_isa("scalar");
        unary(kind, 0, x.data() + off, ref.data() + off, n);
        float sentinel = 12345.f;
        y[off + n] = sentinel;
        if (!t->unary_f32(kind, x.data() + off, y.data() + off, n)) { has = false; break; }
        ++g_checks;
        if (y[off + n] != sentinel) fail("%s unary %s n=%lld: wrote past the end", t->isa, unary_name(kind), (long long)n);
        // in-place
        yi = x;
        t->unary_f32(kind, yi.data() + off, yi.data() + off, n);
        for (int64_t i = 0; i < n; ++i) {
          int64_t d = ulp_diff(y[off + i], ref[off + i]);
          if (d > worst) { worst = d; worst_x = x[off + i]; }
          if (ulp_diff(yi[off + i], y[off + i]) != 0) {
            fail("%s unary %s in-place differs at %lld", t->isa, unary_name(kind), (long long)i);
            break;
          }
        }
      }
      if (!has) break;
    }
    if (!has) continue;
    ++vectorised;
    if (worst > unary_tol(kind))
      fail("%s unary %s: %lld ulp (tol %d) at x=%.9g", t->isa, unary_name(kind), (long long)worst, unary_tol(kind), worst_x);
  }
  // exp(1) exactly (MXNet test compares exp(1)+1 below one ulp)
  float one = 1.f, e1 = 0;
  if (t->unary_f32(kExp, &one, &e1, 1)) {
    ++g_checks;
    if (e1 != 2.71828174591064453125f) fail("%s exp(1) = %.10g", t->isa, e1);
  }
  // dense sweep of exp/log/tanh/sigmoid/erf over a range for a tighter max-ulp figure
  const int sweep_kinds[] = {kExp, kExpm1, kLog, kLog2, kLog10, kLog1p, kTanh, kSigmoid, kErf};
  std::printf("  %s: %d unary kinds vectorised; sweep max ulp:", t->isa, vectorised);
  for (int kind : sweep_kinds) {
    const int64_t N = 1 << 20;
    std::vector<float> x(N), y(N), ref(N);
    float lo = -100, hi = 89;
    if (kind == kLog || kind == kLog2 || kind == kLog10) lo = 0, hi = 0;
    if (kind == kLog1p) lo = -1, hi = 4;
    if (kind == kTanh || kind == kErf) lo = -6, hi = 6;
    for (int64_t i = 0; i < N; ++i) {
      if (lo == 0 && hi == 0) {  // log: walk the bit patterns of positive floats
        uint32_t b = static_cast<uint32_t>((uint64_t(i) * 0x7f800000ull) / N);
        std::memcpy(&x[i], &b, 4);
      } else {
        x[i] = lo + (hi - lo) * (float(i) / N);
      }
    }
    if (!t->unary_f32(kind, x.data(), y.data(), N)) continue;
    select_isa("scalar");
    unary(kind, 0, x.data(), ref.data(), N);
    int64_t worst = 0;
    float wx = 0;
    for (int64_t i = 0; i < N; ++i) {
      int64_t d = ulp_diff(y[i], ref[i]);
      if (d > worst) worst = d, wx = x[i];
    }
    ++g_checks;
    std::printf(" %s=%lld", unary_name(kind), (long long)worst);
    if (worst > unary_tol(kind)) fail("%s sweep %s: %lld ulp at x=%.9g", t->isa, unary_name(kind), (long long)worst, wx);
  }
  std::printf("\n");
}

void test_binary(const KernelTable* t) {
  Rng r(2);
  const int64_t strides[3][2] = {{1, 1}, {1, 0}, {0, 1}};
  for (int kind = 0; kind < kBinaryCount; ++kind) {
    bool has = true;
    for (auto& st : strides) {
      for (int64_t n : kSizes) {
        int64_t sa = st[0], sb = st[1];
        std::vector<float> a(n + 1), b(n + 1), y(n + 1, 7.f), ref(n + 1);
        for (int64_t i = 0; i <= n; ++i) {
          a[i] = r.range(-10, 10);
          b[i] = r.uni() < 0.2 ? a[i] : r.range(-10, 10);
        }
        if (n > 8)
          for (int s = 0; s < 6; ++s) {
            a[r.next() % n] = kSpecials[r.next() % (sizeof(kSpecials) / 4)];
            b[r.next() % n] = kSpecials[r.next() % (sizeof(kSpecials) / 4)];
          }
        if (n > 0 && r.uni() < 0.5) (sa == 0 ? a : b)[0] = NAN;
        if (n == 0) continue;
        select_isa("scalar");
        int64_t shape[1] = {n}, as_[1] = {sa}, bs_[1] = {sb};
        binary(kind, 0, 1, shape, a.data(), as_, b.data(), bs_, ref.data());
        if (!t->binary_f32(kind, a.data(), sa, b.data(), sb, y.data(), n)) { has = false; break; }
        ++g_checks;
        if (y[n] != 7.f) fail("%s binary %s wrote past end", t->isa, binary_name(kind));
        for (int64_t i = 0; i < n; ++i)
          if (ulp_diff(y[i], ref[i]) != 0) {
            fail("%s binary %s (sa=%lld sb=%lld n=%lld) i=%lld: %g op %g = %g, ref %g", t->isa, binary_name(kind),
                 (long long)sa, (long long)sb, (long long)n, (long long)i, a[i * sa], b[i * sb], y[i], ref[i]);
            break;
          }
        // aliasing y == a (when a is not broadcast)
        if (sa == 1) {
          std::vector<float> a2 = a;
          t->binary_f32(kind, a2.data(), sa, b.data(), sb, a2.data(), n);
          for (int64_t i = 0; i < n; ++i)
            if (ulp_diff(a2[i], ref[i]) != 0) { fail("%s binary %s aliased y==a differs", t->isa, binary_name(kind)); break; }
        }
      }
      if (!has) break;
    }
  }
}

void test_reduce(const KernelTable* t) {
  Rng r(3);
  const int64_t inners[] = {1, 3, 8, 17, 33};
  const int kinds[] = {kSum, kProd, kMaxR, kMinR};
  for (int kind : kinds)
    for (int64_t outer : {1, 3})
      for (int64_t n : kSizes)
        for (int64_t inner : inners) {
          int64_t total = outer * n * inner;
          std::vector<float> x(total + 1), y(outer * inner + 1, 7.f), ref(outer * inner + 1);
          for (auto& v : x) v = kind == kProd ? r.range(0.9f, 1.1f) : r.range(-5, 5);
          bool nans = total > 0 && r.uni() < 0.3;
          if (nans) x[r.next() % total] = NAN;
          if (total > 0 && r.uni() < 0.3) x[r.next() % total] = (kind == kMinR ? -INFINITY : INFINITY);
          select_isa("scalar");
          if (n == 0 && kind != kSum) continue;
          reduce(kind, 0, x.data(), outer, n, inner, ref.data());
          if (!t->reduce_f32(kind, x.data(), outer, n, inner, y.data())) continue;
          ++g_checks;
          if (y[outer * inner] != 7.f) fail("%s reduce wrote past end", t->isa);
          for (int64_t o = 0; o < outer; ++o)
            for (int64_t j = 0; j < inner; ++j) {
              float got = y[o * inner + j], want = ref[o * inner + j];
              bool ok;
              if (kind == kSum || kind == kProd) {
                double mag = 0;
                for (int64_t i = 0; i < n; ++i) mag += std::fabs(x[(o * n + i) * inner + j]);
                ok = (std::isnan(got) && std::isnan(want)) || got == want ||
                     std::fabs(double(got) - want) <= 1e-6 * mag + 1e-6 * std::fabs(want);
              } else {
                ok = ulp_diff(got, want) == 0;
              }
              if (!ok) {
                fail("%s reduce kind=%d outer=%lld n=%lld inner=%lld [%lld,%lld]: %.9g vs ref %.9g", t->isa, kind,
                     (long long)outer, (long long)n, (long long)inner, (long long)o, (long long)j, got, want);
                o = outer;
                break;
              }
            }
        }
  // long sums: rtol 1e-5 against the double-accumulated reference, n up to 1e6
  for (int64_t n : {100000, 1000000}) {
    if (g_small && n > 100000) continue;
    std::vector<float> x(n);
    for (auto& v : x) v = r.range(0, 1);
    float y = 0, ref = 0;
    select_isa("scalar");
    reduce(kSum, 0, x.data(), 1, n, 1, &ref);
    if (!t->reduce_f32(kSum, x.data(), 1, n, 1, &y)) continue;
    ++g_checks;
    if (std::fabs(y - ref) > 1e-5 * std::fabs(ref)) fail("%s long sum n=%lld: %.9g vs %.9g", t->isa, (long long)n, y, ref);
    std::vector<float> ys(3);
    std::vector<float> refs(3);
    reduce(kSum, 0, x.data(), 1, n / 3, 3, refs.data());
    if (t->reduce_f32(kSum, x.data(), 1, n / 3, 3, ys.data()))
      for (int j = 0; j < 3; ++j)
        if (std::fabs(ys[j] - refs[j]) > 1e-5 * std::fabs(refs[j])) fail("%s long strided sum: %g vs %g", t->isa, ys[j], refs[j]);
  }
}

void test_softmax(const KernelTable* t) {
  Rng r(4);
  for (int log = 0; log < 2; ++log)
    for (int64_t rows : {1, 5})
      for (int64_t n : kSizes) {
        for (int variant = 0; variant < 3; ++variant) {
          std::vector<float> x(rows * n), y(rows * n + 1, 7.f), ref(rows * n + 1);
          for (auto& v : x) v = r.range(-20, 20);
          if (variant == 1)
            for (auto& v : x) v = v * 10 + 1000;  // large offsets: stability
          if (variant == 2 && n > 0) {
            x[r.next() % (rows * n)] = -INFINITY;
            x[r.next() % (rows * n)] = NAN;
          }
          select_isa("scalar");
          softmax(0, x.data(), ref.data(), rows, n, 1, log);
          if (!t->softmax_f32(x.data(), y.data(), rows, n, log)) return;
          ++g_checks;
          if (y[rows * n] != 7.f) fail("%s softmax wrote past end", t->isa);
          for (int64_t i = 0; i < rows * n; ++i) {
            float got = y[i], want = ref[i];
            bool ok = (std::isnan(got) && std::isnan(want)) || got == want ||
                      std::fabs(double(got) - want) <= (log ? 2e-6 * (1 + std::fabs(x[i] - want)) : 1e-5 * want + 1e-7);
            if (!ok) {
              fail("%s %ssoftmax rows=%lld n=%lld var=%d i=%lld: %.9g vs ref %.9g", t->isa, log ? "log_" : "",
                   (long long)rows, (long long)n, variant, (long long)i, got, want);
              break;
            }
          }
        }
      }
}

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

// Sizes past every blocking boundary (MC 192, KC 320, NC 3072, the MR x NR edges of every table, the
// deep-product chunks of 10240) with padded leading dimensions, against the double reference.
void test_gemm_large(const std::vector<const KernelTable*>& tables) {
  struct Case { int64_t m, n, k; bool ta, tb, acc; };
  const Case cases[] = {
      {197, 3100, 333, false, false, false},  // MC, KC and NC at once, partial tiles on both sides
      {385, 70, 650, true, false, true},      // two full MC blocks and a partial one, three KC blocks
      {13, 3100, 700, false, true, false},    // NC with the transposed packing of B
      {200, 5, 400, true, true, true},        // few columns: the C^T = B^T A^T path
      {6, 9, 25000, false, true, true},       // deep: chunks of the depth summed in double
      {5, 40, 21000, true, false, false},
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
    for (int threads : {1, 2})
    for (const KernelTable* t : tables) {
      ndgrad::set_num_threads(threads);
      select_isa(t->isa);
      std::vector<float> c = c0;
      gemm(0, cs.ta, cs.tb, m, n, k, a.data(), lda, b.data(), ldb, c.data(), ldc, cs.acc);
      ++g_checks;
      ++count;
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
  std::printf("gemm past the blocking sizes (threads 1 and 2): %d products checked\n", count);
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

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) g_small = g_small || std::strcmp(argv[i], "--small") == 0;
  const KernelTable* tabs[8];
  int nt = available_isas(tabs, 8);
  std::vector<const KernelTable*> tables(tabs, tabs + nt);
  std::printf("ndgrad kernels_test: ISAs:");
  for (auto* t : tables) std::printf(" %s", t->isa);
  std::printf("\n");
  for (int threads : {1, 2}) {
    ndgrad::set_num_threads(threads);
    std::printf("threads=%d\n", threads);
    if (threads == 1)
      for (auto* t : tables) {
        if (std::strcmp(t->isa, "scalar") == 0) continue;
        int before = g_failures;
        test_unary(t);
        test_binary(t);
        test_reduce(t);
        test_softmax(t);
        std::printf("  %s elementwise/reduce/softmax: %s\n", t->isa, g_failures == before ? "ok" : "FAILED");
      }
    test_gemm(tables);
  }
  // These two loop over the thread counts themselves (their double references are costly under
  // qemu, so each is computed once).
  test_gemm_large(tables);
  test_one_row(tables);
  std::printf("%s: %d checks, %d failures\n", g_failures ? "FAIL" : "PASS", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
