// Standalone kernel tests: every ISA table this machine can run against the scalar reference
// (generic.cc loops), and (gemm_test.cc) GEMM and one-row products against a double-precision
// naive product with the error bound of a blocked float32 sum, at sizes past every blocking
// boundary. Build with build.sh; .ci/run runs it (and its NEON-emulation build).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstdarg>
#include <cstring>
#include <vector>

#include "core/threadpool.h"
#include "kernels/kernels.h"
#include "test_util.h"

using namespace ndgrad::kernels;

namespace kernels_test {
int g_checks = 0, g_failures = 0;
bool g_small = false;
// gemm_test.cc
void test_gemm(const std::vector<const KernelTable*>& tables);
void test_gemm_large(const std::vector<const KernelTable*>& tables);
void test_one_row(const std::vector<const KernelTable*>& tables);
void test_gemm_scratch_limit(const std::vector<const KernelTable*>& tables);
// conv_test.cc
void test_conv(const std::vector<const KernelTable*>& tables);
}  // namespace kernels_test
using namespace kernels_test;

namespace {

const int kSizes[] = {0, 1, 7, 17, 31, 1023, 4099};

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
    test_conv(tables);
  }
  // These two loop over the thread counts themselves (their double references are costly under
  // qemu, so each is computed once).
  test_gemm_large(tables);
  test_one_row(tables);
  test_gemm_scratch_limit(tables);
  std::printf("%s: %d checks, %d failures\n", g_failures ? "FAIL" : "PASS", g_checks, g_failures);
  return g_failures ? 1 : 0;
}
