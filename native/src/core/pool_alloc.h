// A per-thread free list for fixed-size objects made with std::allocate_shared (Storage and tape
// nodes): every op result and every recorded op needs one, and malloc/free pairs at that rate are
// measurable. Blocks freed on another thread simply join that thread's list.
#pragma once
#include <cstddef>
#include <new>

namespace ndgrad {

struct BlockList {
  static constexpr int kCapacity = 256;
  void* items[kCapacity];
  int n = 0;
  ~BlockList() {
    while (n > 0) ::operator delete(items[--n]);
  }
};

template <class T>
struct PoolAlloc {
  using value_type = T;
  PoolAlloc() = default;
  template <class U>
  PoolAlloc(const PoolAlloc<U>&) {}  // NOLINT: rebinding
  static BlockList& list() {
    thread_local BlockList l;  // one list per allocated type (the control-block type)
    return l;
  }
  T* allocate(size_t n) {
    BlockList& l = list();
    if (n == 1 && l.n > 0) return static_cast<T*>(l.items[--l.n]);
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    BlockList& l = list();
    if (n == 1 && l.n < BlockList::kCapacity) l.items[l.n++] = p;
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(const PoolAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const PoolAlloc<U>&) const { return false; }
};

}  // namespace ndgrad
