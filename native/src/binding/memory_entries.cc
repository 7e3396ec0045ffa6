// N-API entry points of memory: nd.memory() (this environment's arrays, the process's allocator),
// the allocator cache and the memory limit.
#include "entries.h"

#include <cmath>

#include "../core/allocator.h"

namespace ndgrad {
namespace binding {

ENTRY(Memory) {
  AllocatorStats s = allocator_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("numArrays", Napi::Number::New(env, static_cast<double>(data(env).live_arrays)));
  o.Set("numBytes", Napi::Number::New(env, static_cast<double>(s.live_bytes)));
  o.Set("numBlocks", Napi::Number::New(env, static_cast<double>(s.live_blocks)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cached_bytes)));
  o.Set("systemAllocs", Napi::Number::New(env, static_cast<double>(s.system_allocs)));
  o.Set("cacheHits", Napi::Number::New(env, static_cast<double>(s.cache_hits)));
  int64_t lim = memory_limit();
  o.Set("limitBytes", lim < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(lim)));
  return o;
}
END_ENTRY

ENTRY(TrimCache) {
  allocator_trim();
  return env.Undefined();
}
END_ENTRY

// setMemoryLimit(bytes | null) -> the previous limit (null: none)
ENTRY(SetMemoryLimit) {
  int64_t v = -1;
  if (!info[0].IsNull() && !info[0].IsUndefined()) {
    double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!info[0].IsNumber() || !(d >= 0) || d != std::floor(d) || d > 9.0e15)
      fail(code::BAD_ARGUMENT, "setMemoryLimit: expected a non-negative integer number of bytes or null");
    v = static_cast<int64_t>(d);
  }
  engine::wait_all();  // queued work takes its scratch under the limit it was issued under
  int64_t prev = set_memory_limit(v);
  return prev < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(prev));
}
END_ENTRY

}  // namespace binding
}  // namespace ndgrad
