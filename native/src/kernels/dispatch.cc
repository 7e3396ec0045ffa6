// Chooses the kernel table once, from CPUID/XGETBV (x86) or the architecture (arm64).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "kernels.h"

#if (defined(__x86_64__) || defined(_M_X64)) && defined(_MSC_VER)
#include <intrin.h>
#elif defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ndgrad {
namespace kernels {

namespace scalar { extern const KernelTable kTable; }
#if defined(NDGRAD_HAVE_AVX2)
namespace avx2 { extern const KernelTable kTable; }
#endif
#if defined(NDGRAD_HAVE_AVX512)
namespace avx512 { extern const KernelTable kTable; }
#endif
#if defined(NDGRAD_HAVE_NEON)
namespace neon { extern const KernelTable kTable; }
#endif

namespace {

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
void cpuid(int leaf, int sub, unsigned r[4]) {
  int v[4];
  __cpuidex(v, leaf, sub);
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(v[i]);
}
unsigned long long xgetbv0() { return _xgetbv(0); }
#else
void cpuid(int leaf, int sub, unsigned r[4]) { __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]); }
unsigned long long xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}
#endif

// AVX2+FMA usable: the CPU has them and the OS saves YMM state (OSXSAVE and XCR0 bits 1-2).
bool cpu_has_avx2() {
  unsigned r[4];
  cpuid(0, 0, r);
  if (r[0] < 7) return false;
  cpuid(1, 0, r);
  bool osxsave = r[2] & (1u << 27), fma = r[2] & (1u << 12), avx = r[2] & (1u << 28);
  if (!osxsave || !avx || !fma) return false;
  if ((xgetbv0() & 0x6) != 0x6) return false;
  cpuid(7, 0, r);
  return r[1] & (1u << 5);
}

// AVX-512 F/BW/DQ/VL usable: also needs XCR0 opmask and ZMM state (bits 5-7).
bool cpu_has_avx512() {
  if (!cpu_has_avx2()) return false;
  if ((xgetbv0() & 0xE6) != 0xE6) return false;
  unsigned r[4];
  cpuid(7, 0, r);
  unsigned need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);  // F, DQ, BW, VL
  return (r[1] & need) == need;
}
#else
bool cpu_has_avx2() { return false; }
bool cpu_has_avx512() { return false; }
#endif

}  // namespace

#if defined(__x86_64__) || defined(_M_X64)
// AVX512_BF16 (vdpbf16ps): CPUID leaf 7 sub-leaf 1, EAX bit 5.
bool cpu_has_avx512_bf16() {
  static const bool has = [] {  // once: CPUID exits to the hypervisor in a VM
    if (!cpu_has_avx512()) return false;
    unsigned r[4];
    cpuid(7, 0, r);
    if (r[0] < 1) return false;
    cpuid(7, 1, r);
    return (r[0] & (1u << 5)) != 0;
  }();
  return has;
}
#else
bool cpu_has_avx512_bf16() { return false; }
#endif

namespace {

const KernelTable* by_name(const char* name) {
  if (std::strcmp(name, "scalar") == 0) return &scalar::kTable;
#if defined(NDGRAD_HAVE_AVX2)
  if (std::strcmp(name, "avx2") == 0 && cpu_has_avx2()) return &avx2::kTable;
#endif
#if defined(NDGRAD_HAVE_AVX512)
  if (std::strcmp(name, "avx512") == 0 && cpu_has_avx512()) return &avx512::kTable;
#endif
#if defined(NDGRAD_HAVE_NEON)
  if (std::strcmp(name, "neon") == 0) return &neon::kTable;
#endif
  return nullptr;
}

const KernelTable* best() {
  const KernelTable* t = &scalar::kTable;
#if defined(NDGRAD_HAVE_NEON)
  t = &neon::kTable;
#endif
#if defined(NDGRAD_HAVE_AVX2)
  if (cpu_has_avx2()) t = &avx2::kTable;
#endif
#if defined(NDGRAD_HAVE_AVX512)
  if (cpu_has_avx512()) t = &avx512::kTable;
#endif
  return t;
}

const KernelTable* choose() {
  const char* forced = std::getenv("NDGRAD_ISA");
  if (forced && *forced) {
    if (const KernelTable* t = by_name(forced)) return t;
    // An ISA this machine cannot run falls back to the best one it can (never SIGILL).
  }
  return best();
}

std::atomic<const KernelTable*> g_table{nullptr};

}  // namespace

const KernelTable& table() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = choose();
    g_table.store(t, std::memory_order_release);
  }
  return *t;
}

int available_isas(const KernelTable** out, int max) {
  const char* names[] = {"scalar", "avx2", "avx512", "neon"};
  int n = 0;
  for (const char* nm : names)
    if (const KernelTable* t = by_name(nm))
      if (n < max) out[n++] = t;
  return n;
}

bool select_isa(const char* name) {
  const KernelTable* t = by_name(name);
  if (!t) return false;
  g_table.store(t, std::memory_order_release);
  return true;
}

}  // namespace kernels
}  // namespace ndgrad
