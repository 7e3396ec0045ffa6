// The FMA peak of one core: a register-only loop of independent fused multiply-adds (no loads, no
// stores), timed in thread CPU time. The GEMM's GFLOP/s are judged against this figure (issue 13).
// The loops are asm, so the binary needs no ISA flags at all (never -march=native); the zmm loop
// runs only where CPUID says so.
// Usage: fma_peak [threads]  (default 1; every thread runs the same loop; the figure is per thread)
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

namespace {

// The calling thread's CPU time: on a machine shared with other jobs, only the cycles this loop ran.
double now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// One FMA into accumulator register i from two constant registers (x = x * 0 + 0 stays finite).
#define NDG_FMA(R, i, m, c) "vfmadd231ps %%" R #m ", %%" R #c ", %%" R #i "\n\t"
// 14 independent chains: they cover FMA latency (4-5 cycles) x 2 FMA pipes with room to spare, and
// leave two of AVX2's 16 registers for the operands.
#define NDG_FMA14(R, m, c)                                                                                \
  NDG_FMA(R, 0, m, c) NDG_FMA(R, 1, m, c) NDG_FMA(R, 2, m, c) NDG_FMA(R, 3, m, c) NDG_FMA(R, 4, m, c)     \
  NDG_FMA(R, 5, m, c) NDG_FMA(R, 6, m, c) NDG_FMA(R, 7, m, c) NDG_FMA(R, 8, m, c) NDG_FMA(R, 9, m, c)     \
  NDG_FMA(R, 10, m, c) NDG_FMA(R, 11, m, c) NDG_FMA(R, 12, m, c) NDG_FMA(R, 13, m, c)
#define NDG_CLOBBER                                                                                        \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",       \
      "xmm12", "xmm13", "xmm14", "xmm15", "cc"

// GFLOP/s of one thread: iters x 14 FMAs of `lanes` floats (2 flops per lane per FMA).
double run(bool zmm, long iters) {
  long n = iters;
  double t0 = now();
  if (zmm)
    __asm__ volatile("vxorps %%xmm14, %%xmm14, %%xmm14\n\tvxorps %%xmm15, %%xmm15, %%xmm15\n\t"
                     "1:\n\t" NDG_FMA14("zmm", 14, 15) "dec %0\n\tjnz 1b\n\t"
                     : "+r"(n)
                     :
                     : NDG_CLOBBER);
  else
    __asm__ volatile("vxorps %%xmm14, %%xmm14, %%xmm14\n\tvxorps %%xmm15, %%xmm15, %%xmm15\n\t"
                     "1:\n\t" NDG_FMA14("ymm", 14, 15) "dec %0\n\tjnz 1b\n\t"
                     : "+r"(n)
                     :
                     : NDG_CLOBBER);
  double dt = now() - t0;
  return 2.0 * 14 * (zmm ? 16 : 8) * static_cast<double>(iters) / dt * 1e-9;
}

double per_thread(int threads, bool zmm, long iters) {
  std::vector<double> r(threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { r[t] = run(zmm, iters); });
  for (auto& t : ts) t.join();
  double s = 0;
  for (double x : r) s += x;
  return s / threads;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  if (threads < 1) threads = 1;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("fma")) {
    std::printf("no FMA on this CPU\n");
    return 0;
  }
  bool has512 = __builtin_cpu_supports("avx512f");
  const long iters = 100000000;
  for (int rep = 0; rep < 3; ++rep) {
    double ymm = per_thread(threads, false, iters);
    double zmm = has512 ? per_thread(threads, true, iters / 2) : 0;
    std::printf("threads %d, per thread: ymm FMA %6.1f GFLOP/s, zmm FMA %6.1f GFLOP/s\n", threads, ymm, zmm);
  }
  return 0;
}
