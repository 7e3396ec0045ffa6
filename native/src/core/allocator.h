// Caching allocator: 64-byte-aligned blocks in size classes; freed blocks are kept for reuse so a
// training loop that allocates and frees the same sizes stops calling malloc (and stops page-faulting).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ndgrad {

struct AllocatorStats {
  int64_t live_bytes;      // bytes of blocks handed out (rounded to size class)
  int64_t live_blocks;
  int64_t cached_bytes;    // bytes held in the cache, ready for reuse
  int64_t cached_blocks;
  int64_t system_allocs;   // calls to the system allocator since start
  int64_t cache_hits;      // requests served from the cache since start
};

// Returns a block of at least `bytes` (64-byte aligned); throws OUT_OF_MEMORY.
void* alloc_bytes(size_t bytes, size_t* granted);
void free_bytes(void* p, size_t granted);
AllocatorStats allocator_stats();
// Returns every cached block to the system.
void allocator_trim();

}  // namespace ndgrad
