// The packed, cache-blocked GEMM driver (gemm_blocked.cc; float32 here, bfloat16 in gemm_bf16.cc) and
// the scratch buffer the GEMM files share. Baseline code only (no ISA flags): the ISA enters through
// the kernel table and the micro-kernels' function pointers.
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

// What the packed driver multiplies: how an operand is packed and which micro-kernel multiplies the
// panels. The driver sees packed panels as 32-bit words only: one float32, or one pair of bfloat16
// depth steps (the operand order of vdpbf16ps); it never reads them.
struct PackedKind {
  int mr, nr;          // the micro-kernel's tile
  int64_t mc;          // rows of a packed A block at most (its mc x kc words stay in L2)
  int depth_per_word;  // depth steps in one packed word
  int source_bytes;    // bytes of one source element
  const void* ctx;     // the pack and micro functions' own data
  // Packs `extent` lines x depth [0, kc) of an operand (already offset) into panels of R lines (R
  // words per packed depth word), lines and depth past the end zero. `lines_contiguous`: a
  // panel's lines are contiguous at each depth step (element (i, p) at src[p*ld + i]), else each line
  // is contiguous in depth. `depth_major` (a hint, contiguous lines only): read source rows whole.
  void (*pack)(const void* ctx, bool lines_contiguous, bool depth_major, const void* src, int64_t ld, int64_t extent,
               int64_t kc, int R, void* dst);
  // C[mr, nr] (row stride ldc) (+)= A panel . B panel over `words` packed depth words.
  void (*micro)(const void* ctx, int64_t words, const void* a, const void* b, float* c, int64_t ldc, bool accumulate);
  // Null, or called on each part's region of C (rows [i0, i0 + rows), columns [j0, j0 + cols)) once
  // its sums are complete, by the thread that computed them, while they are in its cache.
  void (*finish)(const void* ctx, int64_t i0, int64_t j0, int64_t rows, int64_t cols);
};

// C[m, n] (float32) (+)= op(A) op(B) through panels packed once and shared by every thread (on the
// pool when `parallel`, else on the calling thread). The depth blocking depends on k alone, so the
// result has the same bits whatever the thread count.
void gemm_packed(const PackedKind& kind, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a,
                 int64_t lda, const void* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, bool parallel);

// The float32 product through gemm_packed with the table's micro-kernel.
void gemm_f32_blocked(const KernelTable& t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, bool parallel);

}  // namespace kernels
}  // namespace ndgrad
