#include "allocator.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "error.h"

namespace ndgrad {
namespace {

// Size classes: four per power of two above 256 bytes, so rounding wastes at most 25%.
constexpr int kClasses = 4 * 64;
constexpr size_t kMaxCachedBytes = size_t(2) << 30;  // beyond this, freed blocks go back to the system

int class_of(size_t bytes, size_t* rounded) {
  if (bytes <= 256) {
    *rounded = bytes <= 64 ? 64 : bytes <= 128 ? 128 : 256;
    return bytes <= 64 ? 0 : bytes <= 128 ? 1 : 2;
  }
  int lg = 63 - __builtin_clzll(bytes - 1);  // 2^lg < bytes <= 2^(lg+1)
  size_t quarter = size_t(1) << (lg - 1);
  size_t base = size_t(1) << lg;
  size_t steps = (bytes - base + quarter - 1) / quarter;  // 1..4
  *rounded = base + steps * quarter;
  return 3 + (lg - 8) * 4 + static_cast<int>(steps - 1);
}

struct Cache {
  std::mutex mu;
  std::vector<void*> free_lists[kClasses];
  int64_t cached_bytes = 0, cached_blocks = 0;
};

// Deliberately leaked: arrays freed during process teardown must still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

std::atomic<int64_t> g_live_bytes{0}, g_live_blocks{0}, g_system_allocs{0}, g_cache_hits{0};

}  // namespace

void* alloc_bytes(size_t bytes, size_t* granted) {
  size_t rounded;
  int cls = class_of(bytes == 0 ? 1 : bytes, &rounded);
  void* p = nullptr;
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    auto& fl = c.free_lists[cls];
    if (!fl.empty()) {
      p = fl.back();
      fl.pop_back();
      c.cached_bytes -= static_cast<int64_t>(rounded);
      c.cached_blocks -= 1;
    }
  }
  if (p) {
    g_cache_hits.fetch_add(1, std::memory_order_relaxed);
  } else {
    p = std::aligned_alloc(64, rounded);
    if (!p) {
      allocator_trim();
      p = std::aligned_alloc(64, rounded);
    }
    if (!p) fail(code::OUT_OF_MEMORY, "cannot allocate ", bytes, " bytes");
    g_system_allocs.fetch_add(1, std::memory_order_relaxed);
  }
  g_live_bytes.fetch_add(static_cast<int64_t>(rounded), std::memory_order_relaxed);
  g_live_blocks.fetch_add(1, std::memory_order_relaxed);
  *granted = rounded;
  return p;
}

void free_bytes(void* p, size_t granted) {
  if (!p) return;
  size_t rounded;
  int cls = class_of(granted, &rounded);
  g_live_bytes.fetch_sub(static_cast<int64_t>(rounded), std::memory_order_relaxed);
  g_live_blocks.fetch_sub(1, std::memory_order_relaxed);
  {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + static_cast<int64_t>(rounded) <= static_cast<int64_t>(kMaxCachedBytes)) {
      c.free_lists[cls].push_back(p);
      c.cached_bytes += static_cast<int64_t>(rounded);
      c.cached_blocks += 1;
      return;
    }
  }
  std::free(p);
}

AllocatorStats allocator_stats() {
  AllocatorStats s{};
  s.live_bytes = g_live_bytes.load();
  s.live_blocks = g_live_blocks.load();
  s.system_allocs = g_system_allocs.load();
  s.cache_hits = g_cache_hits.load();
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  s.cached_bytes = c.cached_bytes;
  s.cached_blocks = c.cached_blocks;
  return s;
}

void allocator_trim() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& fl : c.free_lists) {
    for (void* p : fl) std::free(p);
    fl.clear();
  }
  c.cached_bytes = 0;
  c.cached_blocks = 0;
}

}  // namespace ndgrad
