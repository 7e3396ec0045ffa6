// Benchmarks: GEMM GFLOP/s (median of runs) per ISA and thread count, plus elementwise ns/elem.
// Usage: gemm_bench [isa ...]   (default: the best ISA; NDGRAD_NUM_THREADS is respected for "default")
// GEMM_BENCH_SHAPE=m,n,k[,ta,tb]: that one product only, at 1 and 2 threads, alternating (the
// machine is shared: a figure is judged against its neighbour, not against another run).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "core/threadpool.h"
#include "kernels/kernels.h"

using namespace ndgrad::kernels;

namespace {

// GEMM_BENCH_CPUTIME=1: the process's CPU time instead of wall time, so that on a machine shared with
// other jobs the single-thread figures count only the cycles this process ran (with threads > 1 it
// adds the pool's threads, spinning included: use wall time there).
double now() {
  static const bool cpu = std::getenv("GEMM_BENCH_CPUTIME") != nullptr;
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double bench_gemm(int64_t m, int64_t n, int64_t k, bool ta = false, bool tb = false) {
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float((i * 7) % 13) * 0.1f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = float((i * 5) % 11) * 0.1f;
  double flop = 2.0 * m * n * k;
  int reps = std::max(1, int(2e9 / flop));
  reps = std::min(reps, 2000);
  std::vector<double> rates;
  for (int run = 0; run < 7; ++run) {
    double t0 = now();
    for (int r = 0; r < reps; ++r)
      gemm(0, ta, tb, m, n, k, a.data(), ta ? m : k, b.data(), tb ? k : n, c.data(), n, false);
    double dt = now() - t0;
    rates.push_back(flop * reps / dt * 1e-9);
  }
  return median(rates);
}

double bench_unary(int kind, int64_t n, bool direct) {
  std::vector<float> x(n), y(n);
  for (int64_t i = 0; i < n; ++i) x[i] = float(i % 1000) * 0.01f - 5.f;
  std::vector<double> t;
  for (int run = 0; run < 7; ++run) {
    double t0 = now();
    if (direct) {
      if (!table().unary_f32(kind, x.data(), y.data(), n)) return -1;
    } else {
      unary(kind, 0, x.data(), y.data(), n);
    }
    t.push_back((now() - t0) / n * 1e9);
  }
  return median(t);
}

double bench_add(int64_t n) {
  std::vector<float> a(n, 1.f), b(n, 2.f), y(n);
  int64_t shape[1] = {n}, s[1] = {1};
  std::vector<double> t;
  for (int run = 0; run < 7; ++run) {
    double t0 = now();
    binary(kAdd, 0, 1, shape, a.data(), s, b.data(), s, y.data());
    t.push_back((now() - t0) / n * 1e9);
  }
  return median(t);
}

// The one product of GEMM_BENCH_SHAPE, three rounds of each thread count, alternating.
void bench_shape(const char* spec) {
  long long m = 0, n = 0, k = 0;
  int ta = 0, tb = 0;
  if (std::sscanf(spec, "%lld,%lld,%lld,%d,%d", &m, &n, &k, &ta, &tb) < 3) {
    std::printf("GEMM_BENCH_SHAPE: m,n,k[,ta,tb]\n");
    return;
  }
  const int max_threads = ndgrad::num_threads();
  std::printf("%s: %lldx%lldx%lld ta=%d tb=%d\n", table().isa, m, n, k, ta, tb);
  for (int round = 0; round < 3; ++round)
    for (int threads = 1; threads <= max_threads; threads *= 2) {
      ndgrad::set_num_threads(threads);
      std::printf("  threads=%d %7.1f GFLOP/s\n", threads, bench_gemm(m, n, k, ta != 0, tb != 0));
    }
  ndgrad::set_num_threads(max_threads);
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* spec = std::getenv("GEMM_BENCH_SHAPE")) {
    if (argc > 1 && !select_isa(argv[1])) return 1;
    bench_shape(spec);
    return 0;
  }
  std::vector<const char*> isas;
  for (int i = 1; i < argc; ++i) isas.push_back(argv[i]);
  if (isas.empty()) isas.push_back(table().isa);
  int max_threads = ndgrad::num_threads();
  for (const char* isa : isas) {
    if (!select_isa(isa)) {
      std::printf("%s: not available\n", isa);
      continue;
    }
    std::printf("== ISA %s (mr=%d nr=%d), pool threads %d\n", table().isa, table().gemm_mr, table().gemm_nr, max_threads);
    for (int threads = 1; threads <= max_threads; threads *= 2) {
      ndgrad::set_num_threads(threads);
      std::printf(" threads=%d\n", threads);
      std::printf("  gemm 2048^3          %7.1f GFLOP/s\n", bench_gemm(2048, 2048, 2048));
      std::printf("  gemm 1024^3          %7.1f GFLOP/s\n", bench_gemm(1024, 1024, 1024));
      std::printf("  gemm 1024^3 (tA,tB)  %7.1f GFLOP/s\n", bench_gemm(1024, 1024, 1024, true, true));
      std::printf("  gemm 512^3           %7.1f GFLOP/s\n", bench_gemm(512, 512, 512));
      std::printf("  gemm 256^3           %7.1f GFLOP/s\n", bench_gemm(256, 256, 256));
      // The MLP 784-512-512-10 at batch 128, as FullyConnected calls the GEMM: forward x . w^T,
      // data gradient dy . w, weight gradient dy^T . x (tall-skinny: the depth is the batch).
      std::printf("  mlp fwd 128x784 * (512x784)^T   %6.1f GFLOP/s\n", bench_gemm(128, 512, 784, false, true));
      std::printf("  mlp fwd 128x512 * (512x512)^T   %6.1f GFLOP/s\n", bench_gemm(128, 512, 512, false, true));
      std::printf("  mlp fwd 128x512 * (10x512)^T    %6.1f GFLOP/s\n", bench_gemm(128, 10, 512, false, true));
      std::printf("  mlp dx  128x512 * 512x512       %6.1f GFLOP/s\n", bench_gemm(128, 512, 512));
      std::printf("  mlp dx  128x10 * 10x512         %6.1f GFLOP/s\n", bench_gemm(128, 512, 10));
      std::printf("  mlp dW  (128x512)^T * 128x784   %6.1f GFLOP/s\n", bench_gemm(512, 784, 128, true, false));
      std::printf("  mlp dW  (128x512)^T * 128x512   %6.1f GFLOP/s\n", bench_gemm(512, 512, 128, true, false));
      std::printf("  mlp dW  (128x10)^T * 128x512    %6.1f GFLOP/s\n", bench_gemm(10, 512, 128, true, false));
      std::printf("  gemm 1x784 * 784x512   %5.1f GFLOP/s\n", bench_gemm(1, 512, 784));
      std::printf("  gemm 16x784 * 784x512  %5.1f GFLOP/s\n", bench_gemm(16, 512, 784));
      std::printf("  gemm 64^3            %7.1f GFLOP/s\n", bench_gemm(64, 64, 64));
      std::printf("  gemm 32^3            %7.1f GFLOP/s\n", bench_gemm(32, 32, 32));
      if (std::getenv("GEMM_BENCH_ONLY")) continue;  // GEMM figures only (quicker)
      std::printf("  exp n=1e7            %7.3f ns/elem (table direct %.3f)\n", bench_unary(kExp, 10000000, false),
                  bench_unary(kExp, 10000000, true));
      std::printf("  tanh n=1e7           %7.3f ns/elem\n", bench_unary(kTanh, 10000000, false));
      std::printf("  add n=1e7            %7.3f ns/elem\n", bench_add(10000000));
    }
    ndgrad::set_num_threads(max_threads);
  }
  return 0;
}
