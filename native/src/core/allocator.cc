#include "allocator.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <unistd.h>
#include <string>
#include <vector>

#include "error.h"

namespace ndgrad {
namespace {

// Size classes: four per power of two above 256 bytes, so rounding wastes at most 25%.
constexpr int kClasses = 4 * 64;
constexpr size_t kMaxCachedBytes = size_t(2) << 30;  // beyond this, freed blocks go back to the system
// Small blocks (up to 64 KiB) first go to a per-thread cache: no lock on the tiny-op path.
constexpr int kThreadClasses = 36;
constexpr size_t kMaxBlock = size_t(1) << 48;  // no machine has this much memory
// A class's front list holds up to 1 MiB of blocks (at least 32): an nd.tidy of 20000 tiny results must
// not spill to the shared cache's lock.
constexpr size_t kThreadClassBytes = size_t(1) << 20;
constexpr int kThreadSlots = 32;

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
};

// Deliberately leaked: arrays freed during process teardown must still find it.
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

std::atomic<int64_t> g_live_bytes{0}, g_live_blocks{0}, g_system_allocs{0}, g_cache_hits{0};
std::atomic<int64_t> g_cached_bytes{0}, g_cached_blocks{0};
std::atomic<int64_t> g_limit{-1};  // -1: no limit

void* global_take(int cls, size_t rounded) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  auto& fl = c.free_lists[cls];
  if (fl.empty()) return nullptr;
  void* p = fl.back();
  fl.pop_back();
  g_cached_bytes.fetch_sub(static_cast<int64_t>(rounded), std::memory_order_relaxed);
  g_cached_blocks.fetch_sub(1, std::memory_order_relaxed);
  return p;
}

// Returns false when the cache is full (the caller frees the block).
bool global_put(int cls, size_t rounded, void* p) {
  if (g_cached_bytes.load(std::memory_order_relaxed) + static_cast<int64_t>(rounded) >
      static_cast<int64_t>(kMaxCachedBytes))
    return false;
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.free_lists[cls].push_back(p);
  g_cached_bytes.fetch_add(static_cast<int64_t>(rounded), std::memory_order_relaxed);
  g_cached_blocks.fetch_add(1, std::memory_order_relaxed);
  return true;
}

// A counter only its own thread writes: a relaxed load and store (no locked instruction on the op
// path); allocator_stats reads every thread's.
struct OwnCounter {
  std::atomic<int64_t> v{0};
  void add(int64_t d) { v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed); }
  int64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Freed fixed-size objects (pool_alloc.h) of one 64-byte size class, linked through themselves.
struct ObjectList {
  void* head = nullptr;
  void* tail = nullptr;  // the list's last object, on engine threads (which return whole lists)
  int n = 0;             // how many were put and not taken since the list was last empty (the cap)
};
constexpr int kObjectClasses = 48;  // objects up to 3 KiB (a graph node is about 1.2 KiB, a queued op call 2.4)
constexpr int kObjectsPerClass = 1 << 15;

// Objects freed on an engine thread go back to the threads that make them. A JS thread makes a queued
// op's task and result storage, and the engine thread frees them once the op has run: kept there, they
// left the JS thread to malloc a new pair per op, and freed the old pair into malloc's arena from the
// other thread (both under the arena's lock). Returned in chains of kReturnChain through one lock-free
// stack per class: a push links a chain in front; a JS thread whose list is empty takes the whole
// stack at once (no ABA), without walking it.
constexpr int kReturnChain = 64;
std::atomic<void*> g_returned[kObjectClasses];

void return_chain(int cls, ObjectList& l) {
  void* head = g_returned[cls].load(std::memory_order_relaxed);
  do {
    *static_cast<void**>(l.tail) = head;
  } while (!g_returned[cls].compare_exchange_weak(head, l.head, std::memory_order_release, std::memory_order_relaxed));
  l.head = l.tail = nullptr;
  l.n = 0;
}

// This thread's front cache: small freed blocks per size class and pooled objects, with their
// counters. All the per-thread state of the op path in one trivially destructible, constant-
// initialised object, so a function reaches it with one TLS lookup and no guard; the thread's
// CacheOwner (made when the thread first caches something) empties it when the thread ends.
struct ThreadCache {
  // Per class, freed blocks linked through their first bytes (every block is at least 64 bytes).
  void* head[kThreadClasses] = {};
  int count[kThreadClasses] = {};
  ObjectList objects[kObjectClasses] = {};
  bool front = true;     // off on engine threads (use_front_cache) and once the thread has ended
  bool adopted = false;  // listed for allocator_stats, emptied when the thread ends
  bool ended = false;    // emptied at thread end: objects freed later go to the system
  OwnCounter cached_bytes, cached_blocks, cache_hits, live_blocks;
  void* pop(int cls) {
    void* p = head[cls];
    head[cls] = *static_cast<void**>(p);
    --count[cls];
    return p;
  }
  void push(int cls, void* p) {
    *static_cast<void**>(p) = head[cls];
    head[cls] = p;
    ++count[cls];
  }
  static int capacity(size_t rounded) {
    size_t n = kThreadClassBytes / rounded;
    return n < kThreadSlots ? kThreadSlots : static_cast<int>(n);
  }
  static size_t class_size(int cls, size_t* rounded) {
    if (cls < 3) {
      *rounded = size_t(64) << cls;
      return *rounded;
    }
    int lg = (cls - 3) / 4 + 8, steps = (cls - 3) % 4 + 1;
    if (lg > 48) {  // classes above kMaxBlock are never used
      *rounded = 0;
      return 0;
    }
    *rounded = (size_t(1) << lg) + steps * (size_t(1) << (lg - 1));
    return *rounded;
  }
  // Hands every cached block to the shared cache (or the system) and frees the pooled objects.
  void empty_all() {
    for (int cls = 0; cls < kThreadClasses; ++cls)
      while (count[cls] > 0) {
        size_t rounded;
        void* p = pop(cls);
        class_size(cls, &rounded);
        cached_bytes.add(-static_cast<int64_t>(rounded));
        cached_blocks.add(-1);
        if (!global_put(cls, rounded, p)) std::free(p);
      }
    for (ObjectList& l : objects) {
      while (l.head) {
        void* p = l.head;
        l.head = *static_cast<void**>(p);
        ::operator delete(p);
      }
      l.tail = nullptr;
      l.n = 0;
    }
  }
};

thread_local ThreadCache t_cache;

// The threads whose front caches allocator_stats sums, and what ended threads counted.
struct ThreadList {
  std::mutex mu;
  std::vector<ThreadCache*> caches;
};
ThreadList& thread_list() {
  static ThreadList* l = new ThreadList();  // leaked, like the cache: threads end during teardown
  return *l;
}

// Empties its thread's cache when the thread ends; from then on the thread frees straight to the
// shared cache and the system (objects freed later by other thread-exit code must not be kept).
struct CacheOwner {
  ThreadCache* tc = nullptr;
  ~CacheOwner() {
    if (!tc) return;
    ThreadList& l = thread_list();
    std::lock_guard<std::mutex> lock(l.mu);
    tc->front = false;
    tc->ended = true;
    tc->empty_all();
    g_cache_hits.fetch_add(tc->cache_hits.get(), std::memory_order_relaxed);
    tc->cache_hits.add(-tc->cache_hits.get());
    g_live_blocks.fetch_add(tc->live_blocks.get(), std::memory_order_relaxed);
    tc->live_blocks.add(-tc->live_blocks.get());
    for (size_t i = 0; i < l.caches.size(); ++i)
      if (l.caches[i] == tc) {
        l.caches[i] = l.caches.back();
        l.caches.pop_back();
        break;
      }
  }
};

// First time this thread caches something: list it for the stats and arrange its emptying.
void adopt(ThreadCache& tc) {
  thread_local CacheOwner owner;
  owner.tc = &tc;
  tc.adopted = true;
  ThreadList& l = thread_list();
  std::lock_guard<std::mutex> lock(l.mu);
  l.caches.push_back(&tc);
}

std::string byte_str(int64_t b) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[64];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(b));
  else std::snprintf(buf, sizeof buf, "%.2f %s (%lld bytes)", v, units[u], static_cast<long long>(b));
  return buf;
}

// Counts `rounded` bytes as live unless that passes the limit. Without a limit: one atomic add.
bool reserve(int64_t rounded) {
  if (g_limit.load(std::memory_order_relaxed) < 0) {
    g_live_bytes.fetch_add(rounded, std::memory_order_relaxed);
    return true;
  }
  int64_t cur = g_live_bytes.load(std::memory_order_relaxed);
  for (;;) {
    int64_t lim = g_limit.load(std::memory_order_relaxed);
    if (lim >= 0 && (rounded > lim || cur > lim - rounded)) return false;
    if (g_live_bytes.compare_exchange_weak(cur, cur + rounded, std::memory_order_relaxed)) return true;
  }
}

[[noreturn]] void over_limit(size_t bytes, size_t rounded) {
  int64_t lim = g_limit.load(), live = g_live_bytes.load();
  std::string req = byte_str(static_cast<int64_t>(bytes));
  if (rounded != bytes) req += ", " + std::to_string(rounded) + " with size-class rounding";
  throw AllocationError(code::OUT_OF_MEMORY, "cannot allocate " + req + ": " + byte_str(live) +
                                                 " are live and the memory limit is " + byte_str(lim < 0 ? 0 : lim) +
                                                 " (nd.setMemoryLimit, NDGRAD_MEMORY_LIMIT)");
}

// Blocks are counted per thread (no locked instruction; a block freed on another thread makes that
// thread's count negative, and the sum is right); live bytes stay one shared counter, which the
// memory limit needs.
void count_live_block(int64_t d) {
  ThreadCache& tc = t_cache;
  if (tc.ended) return void(g_live_blocks.fetch_add(d, std::memory_order_relaxed));
  if (!tc.adopted) adopt(tc);
  tc.live_blocks.add(d);
}

}  // namespace

size_t reserve_block(size_t bytes) {
  if (bytes > kMaxBlock)
    throw AllocationError(code::OUT_OF_MEMORY, "cannot allocate " + std::to_string(bytes) + " bytes");
  size_t rounded;
  class_of(bytes == 0 ? 1 : bytes, &rounded);
  // The block itself is taken later (when the op runs): a request no machine like this one could grant
  // must still fail here, at the call.
  static const int64_t physical = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : int64_t(-1);
  }();
  if (physical > 0 && static_cast<int64_t>(rounded) > physical)
    throw AllocationError(code::OUT_OF_MEMORY, "cannot allocate " + byte_str(static_cast<int64_t>(bytes)) +
                                                   ": the system has " + byte_str(physical) + " of memory");
  const int64_t r = static_cast<int64_t>(rounded);
  if (!reserve(r)) {
    // Over the limit: hand cached blocks back to the system first (a server under its cap should
    // not also sit on freed memory), then try once more in case another thread freed meanwhile.
    allocator_trim();
    if (!reserve(r)) over_limit(bytes, rounded);
  }
  count_live_block(1);
  return rounded;
}

void unreserve_block(size_t granted) {
  g_live_bytes.fetch_sub(static_cast<int64_t>(granted), std::memory_order_relaxed);
  count_live_block(-1);
}

void* take_block(size_t granted) {
  size_t rounded;
  int cls = class_of(granted, &rounded);
  const int64_t r = static_cast<int64_t>(rounded);
  ThreadCache& tc = t_cache;
  if (cls < kThreadClasses && tc.front && tc.count[cls] > 0) {
    tc.cached_bytes.add(-r);
    tc.cached_blocks.add(-1);
    tc.cache_hits.add(1);
    return tc.pop(cls);
  }
  void* p = global_take(cls, rounded);
  if (p) {
    g_cache_hits.fetch_add(1, std::memory_order_relaxed);
    return p;
  }
  p = std::aligned_alloc(64, rounded);
  if (!p) {
    allocator_trim();
    p = std::aligned_alloc(64, rounded);
  }
  if (!p)
    throw AllocationError(code::OUT_OF_MEMORY, "cannot allocate " + byte_str(r) + ": the system has no memory left (" +
                                                   byte_str(g_live_bytes.load()) + " are live)");
  g_system_allocs.fetch_add(1, std::memory_order_relaxed);
  return p;
}

void put_block(void* p, size_t granted) {
  if (!p) return;
  size_t rounded;
  int cls = class_of(granted, &rounded);
  ThreadCache& tc = t_cache;
  if (cls < kThreadClasses && tc.front && tc.count[cls] < ThreadCache::capacity(rounded)) {
    if (!tc.adopted) adopt(tc);
    tc.push(cls, p);
    tc.cached_bytes.add(static_cast<int64_t>(rounded));
    tc.cached_blocks.add(1);
    return;
  }
  if (!global_put(cls, rounded, p)) std::free(p);
}

void* alloc_bytes(size_t bytes, size_t* granted) {
  size_t g = reserve_block(bytes);
  try {
    void* p = take_block(g);
    *granted = g;
    return p;
  } catch (...) {
    unreserve_block(g);
    throw;
  }
}

void free_bytes(void* p, size_t granted) {
  if (!p) return;
  put_block(p, granted);
  unreserve_block(granted);
}

void use_front_cache(bool on) { t_cache.front = on; }

void* take_object(size_t bytes) {
  size_t cls = (bytes + 63) / 64 - 1;
  if (cls >= kObjectClasses) return ::operator new(bytes);
  ThreadCache& tc = t_cache;
  ObjectList& l = tc.objects[cls];
  if (!l.head && tc.front && g_returned[cls].load(std::memory_order_relaxed))
    l.head = g_returned[cls].exchange(nullptr, std::memory_order_acquire);
  void* p = l.head;
  if (!p) return ::operator new((cls + 1) * 64);  // any object of the class may reuse it
  l.head = *static_cast<void**>(p);
  if (!l.head) l.tail = nullptr, l.n = 0;
  else if (l.n > 0) --l.n;
  return p;
}

void put_object(void* p, size_t bytes) {
  size_t cls = (bytes + 63) / 64 - 1;
  ThreadCache& tc = t_cache;
  if (cls >= kObjectClasses || tc.ended) return ::operator delete(p);
  ObjectList& l = tc.objects[cls];
  if (l.n >= kObjectsPerClass) return ::operator delete(p);
  if (!tc.adopted) adopt(tc);
  if (!l.head) l.tail = p;
  *static_cast<void**>(p) = l.head;
  l.head = p;
  ++l.n;
  if (!tc.front && l.n >= kReturnChain) return_chain(static_cast<int>(cls), l);
}

AllocatorStats allocator_stats() {
  AllocatorStats s{};
  s.live_bytes = g_live_bytes.load();
  s.system_allocs = g_system_allocs.load();
  ThreadList& l = thread_list();
  std::lock_guard<std::mutex> lock(l.mu);
  s.cache_hits = g_cache_hits.load();
  s.cached_bytes = g_cached_bytes.load();
  s.cached_blocks = g_cached_blocks.load();
  s.live_blocks = g_live_blocks.load();
  for (const ThreadCache* tc : l.caches) {
    s.live_blocks += tc->live_blocks.get();
    s.cache_hits += tc->cache_hits.get();
    s.cached_bytes += tc->cached_bytes.get();
    s.cached_blocks += tc->cached_blocks.get();
  }
  return s;
}

void allocator_trim() {
  // This thread's front cache and the shared cache; other threads' front caches hold at most
  // kThreadSlots small blocks per class and return them when the thread ends.
  ThreadCache& tc = t_cache;
  for (int cls = 0; cls < kThreadClasses; ++cls) {
    size_t rounded;
    ThreadCache::class_size(cls, &rounded);
    while (tc.count[cls] > 0) {
      std::free(tc.pop(cls));
      tc.cached_bytes.add(-static_cast<int64_t>(rounded));
      tc.cached_blocks.add(-1);
    }
  }
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (int cls = 0; cls < kClasses; ++cls) {
    auto& fl = c.free_lists[cls];
    size_t rounded;
    ThreadCache::class_size(cls, &rounded);
    for (void* p : fl) std::free(p);
    g_cached_bytes.fetch_sub(static_cast<int64_t>(rounded * fl.size()), std::memory_order_relaxed);
    g_cached_blocks.fetch_sub(static_cast<int64_t>(fl.size()), std::memory_order_relaxed);
    fl.clear();
  }
}

int64_t memory_limit() { return g_limit.load(); }

int64_t set_memory_limit(int64_t bytes) { return g_limit.exchange(bytes < 0 ? -1 : bytes); }

bool parse_byte_size(const char* text, int64_t* bytes) {
  std::string s(text ? text : "");
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  if (b == std::string::npos) return false;
  s = s.substr(b, e - b + 1);
  double mult = 1;
  char last = s.back();
  if (last == 'k' || last == 'K') mult = 1024.0;
  else if (last == 'm' || last == 'M') mult = 1024.0 * 1024;
  else if (last == 'g' || last == 'G') mult = 1024.0 * 1024 * 1024;
  if (mult != 1) s.pop_back();
  if (s.empty() || s.find_first_not_of("0123456789.") != std::string::npos || s.front() == '.' ||
      s.find('.') != s.rfind('.'))
    return false;
  double v = std::strtod(s.c_str(), nullptr) * mult;
  if (!(v >= 0) || v > 9.0e18) return false;
  *bytes = static_cast<int64_t>(std::floor(v));
  return true;
}

void init_memory_limit_from_env() {
  const char* env = std::getenv("NDGRAD_MEMORY_LIMIT");
  if (!env || !*env) return;
  int64_t v = 0;
  if (!parse_byte_size(env, &v))
    fail(code::BAD_ARGUMENT, "NDGRAD_MEMORY_LIMIT='", env,
         "' is not a byte count (a number of bytes, optionally followed by k, m or g: 512m, 2g)");
  // Once per process: a worker loading ndgrad later must not undo nd.setMemoryLimit.
  static std::once_flag once;
  std::call_once(once, [v] { set_memory_limit(v); });
}

}  // namespace ndgrad
