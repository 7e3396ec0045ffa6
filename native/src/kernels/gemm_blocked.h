// The float32 GEMM's packed, cache-blocked driver (gemm_blocked.cc) and the scratch buffer the GEMM
// files share. Baseline code only (no ISA flags): the ISA enters through the kernel table.
#pragma once
#include <cstddef>
#include <cstdint>

#include "../core/allocator.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {

// Owns one block from the caching allocator (exception-safe, no leaks).
struct Buffer {
  void* p = nullptr;
  size_t granted = 0;
  explicit Buffer(size_t bytes) { p = alloc_bytes(bytes, &granted); }
  ~Buffer() {
    if (p) free_bytes(p, granted);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

// C[m, n] (+)= op(A) op(B) through panels packed once and shared by every thread (on the pool when
// `parallel`, else on the calling thread). The depth blocking depends on k alone, so the result has
// the same bits whatever the thread count.
void gemm_f32_blocked(const KernelTable& t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, bool parallel);

}  // namespace kernels
}  // namespace ndgrad
