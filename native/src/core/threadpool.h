// One process-wide pool. parallel_for splits [0, n) into chunks only when the work is large enough;
// callers from several threads at once are safe (a caller that finds the pool busy runs inline).
#pragma once
#include <cstdint>

namespace ndgrad {

int num_threads();
// Overrides NDGRAD_NUM_THREADS at run time (1 disables threading). Returns the previous value.
int set_num_threads(int n);

using RangeFn = void (*)(void* ctx, int64_t begin, int64_t end);
void parallel_for_raw(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx);
// Every index of [0, n) a part of its own (fn(i, i + 1)), claimed as threads come free: for callers
// that size their parts themselves (the GEMM), where ranges of several parts would unbalance the end.
void parallel_parts_raw(int64_t n, RangeFn fn, void* ctx);

// fn(begin, end) over [0, n); `min_chunk` is the smallest amount of work worth a thread.
template <class F>
void parallel_for(int64_t n, int64_t min_chunk, const F& fn) {
  if (n <= min_chunk || num_threads() <= 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  parallel_for_raw(
      n, min_chunk,
      [](void* c, int64_t b, int64_t e) { (*static_cast<const F*>(c))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

template <class F>
void parallel_parts(int64_t n, const F& fn) {
  if (n <= 1 || num_threads() <= 1) {
    if (n > 0) fn(int64_t(0), n);
    return;
  }
  parallel_parts_raw(
      n, [](void* c, int64_t b, int64_t e) { (*static_cast<const F*>(c))(b, e); },
      const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace ndgrad
