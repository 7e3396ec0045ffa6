// An allocator for fixed-size objects made with std::allocate_shared (Storage and tape nodes): every
// op result and every recorded op needs one, and malloc/free pairs at that rate are measurable. Freed
// objects wait in their thread's front cache (allocator.cc), next to its small blocks, so the op
// path reaches all of it with one thread-local lookup. Objects freed on another thread join that
// thread's list.
#pragma once
#include <cstddef>
#include <new>

#include "allocator.h"

namespace ndgrad {

template <class T>
struct PoolAlloc {
  using value_type = T;
  PoolAlloc() = default;
  template <class U>
  PoolAlloc(const PoolAlloc<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    static_assert(sizeof(T) >= sizeof(void*), "a freed object holds the list's link");
    return static_cast<T*>(n == 1 ? take_object(sizeof(T)) : ::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n == 1) put_object(p, sizeof(T));
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(const PoolAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const PoolAlloc<U>&) const { return false; }
};

}  // namespace ndgrad
