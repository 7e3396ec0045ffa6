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

// Returns a block of at least `bytes` (64-byte aligned); throws AllocationError (OUT_OF_MEMORY)
// when the system has no memory or the block would take live bytes past the memory limit.
void* alloc_bytes(size_t bytes, size_t* granted);
void free_bytes(void* p, size_t granted);
// alloc_bytes in two halves, for arrays whose block is bound when first used (Storage): the bytes are
// counted as live (and checked against the limit) at reserve_block, which returns the granted size;
// take_block gets a block of that size (cache or system; throws OUT_OF_MEMORY when the system has
// none). put_block returns a block to the cache, unreserve_block uncounts a reservation.
size_t reserve_block(size_t bytes);
void* take_block(size_t granted);
void put_block(void* p, size_t granted);
void unreserve_block(size_t granted);
AllocatorStats allocator_stats();
// Off: this thread takes and returns blocks through the shared cache only. An engine thread frees the
// blocks its JS thread allocated (queued work holds them last): through the shared cache they go back
// to the JS thread, where a per-thread cache would keep them from it. Its freed objects (below) go
// back the same way, in chains.
void use_front_cache(bool on);
// Fixed-size objects (storages, graph nodes, queued tasks: pool_alloc.h), kept per thread for reuse
// when freed.
void* take_object(size_t bytes);
void put_object(void* p, size_t bytes);
// Returns every cached block to the system.
void allocator_trim();

// The process-wide cap on live bytes (all threads and workers share it); -1: no limit.
// An allocation that would pass it first empties the cache, then fails with OUT_OF_MEMORY.
int64_t memory_limit();
int64_t set_memory_limit(int64_t bytes);  // returns the previous limit
// Applies NDGRAD_MEMORY_LIMIT the first time it is called in the process; throws BAD_ARGUMENT
// (every time) when the variable is set to something parse_byte_size does not accept.
void init_memory_limit_from_env();
// A kernel's scratch block: counted against the memory limit like an array, freed on scope exit
// (also when the kernel throws).
class ScratchBuffer {
 public:
  explicit ScratchBuffer(size_t bytes) : p_(alloc_bytes(bytes, &granted_)) {}
  ~ScratchBuffer() { free_bytes(p_, granted_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  size_t granted_ = 0;  // declared first: p_'s initialiser writes it
  void* p_;
};

// "1048576", "512k", "64M", "1.5g" (k/m/g: binary multiples, any case) -> bytes; false if malformed.
bool parse_byte_size(const char* text, int64_t* bytes);

}  // namespace ndgrad
