// A per-thread free list for fixed-size objects made with std::allocate_shared (Storage and tape
// nodes): every op result and every recorded op needs one, and malloc/free pairs at that rate are
// measurable. Blocks freed on another thread simply join that thread's list.
#pragma once
#include <cstddef>
#include <new>

namespace ndgrad {

// Freed blocks linked through their own first bytes, so the list costs no memory of its own and can
// hold a whole nd.tidy's worth of results (a tidy of 20000 tiny ops used to overflow a 256-slot list
// and send every further result to malloc).
struct BlockList {
  static constexpr int kCapacity = 1 << 15;
  struct Free {
    Free* next;
  };
  Free* head = nullptr;
  int n = 0;
  void* pop() {
    Free* f = head;
    head = f->next;
    --n;
    return f;
  }
  void push(void* p) {
    Free* f = static_cast<Free*>(p);
    f->next = head;
    head = f;
    ++n;
  }
  ~BlockList() {
    while (n > 0) ::operator delete(pop());
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
    if (n == 1 && l.n > 0) return static_cast<T*>(l.pop());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    BlockList& l = list();
    static_assert(sizeof(T) >= sizeof(void*), "a freed block holds the list's link");
    if (n == 1 && l.n < BlockList::kCapacity) l.push(p);
    else ::operator delete(p);
  }
  template <class U>
  bool operator==(const PoolAlloc<U>&) const { return true; }
  template <class U>
  bool operator!=(const PoolAlloc<U>&) const { return false; }
};

}  // namespace ndgrad
