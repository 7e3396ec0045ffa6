// What the standalone kernel tests share (kernels_test.cc, gemm_test.cc): the check counters, a
// failure printer, a small seeded generator and an ulp distance.
#pragma once
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace kernels_test {

extern int g_checks, g_failures;
// --small: skip the big products and the longest sum (for runs under qemu, 10-50x slower).
extern bool g_small;

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

inline int64_t ulp_diff(float a, float b) {
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
inline void fail(const char* fmt, ...) {
  ++g_failures;
  if (g_failures > 60) return;
  va_list ap;
  va_start(ap, fmt);
  std::printf("  FAIL: ");
  std::vprintf(fmt, ap);
  std::printf("\n");
  va_end(ap);
}

}  // namespace kernels_test
