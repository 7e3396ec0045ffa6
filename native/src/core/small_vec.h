// A vector that keeps up to N elements inline (no heap allocation), with std::vector's interface
// for what the op mechanism and the tape use. Per-op containers are almost always this small, and
// malloc/free were a fifth of the cost of a recorded tiny op.
#pragma once
#include <cstddef>
#include <initializer_list>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace ndgrad {

template <class T, size_t N>
class SmallVec {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVec() {}  // user-provided, so `static const` objects holding one need no initialiser
  SmallVec(std::initializer_list<T> il) { assign(il.begin(), il.end()); }
  explicit SmallVec(size_t n) { resize(n); }
  SmallVec(size_t n, const T& v) { resize(n, v); }
  SmallVec(const std::vector<T>& v) { assign(v.begin(), v.end()); }  // NOLINT: implicit on purpose
  SmallVec(std::vector<T>&& v) {                                      // NOLINT
    reserve(v.size());
    for (auto& x : v) emplace_back(std::move(x));
  }
  SmallVec(const SmallVec& o) { assign(o.begin(), o.end()); }
  template <size_t M>
  SmallVec(const SmallVec<T, M>& o) {  // NOLINT: implicit between inline sizes
    assign(o.begin(), o.end());
  }
  template <size_t M>
  SmallVec& operator=(const SmallVec<T, M>& o) {
    clear();
    assign(o.begin(), o.end());
    return *this;
  }
  SmallVec(SmallVec&& o) noexcept { take(std::move(o)); }
  SmallVec& operator=(const SmallVec& o) {
    if (this != &o) {
      clear();
      assign(o.begin(), o.end());
    }
    return *this;
  }
  SmallVec& operator=(SmallVec&& o) noexcept {
    if (this != &o) {
      destroy_all();
      take(std::move(o));
    }
    return *this;
  }
  SmallVec& operator=(std::initializer_list<T> il) {
    clear();
    assign(il.begin(), il.end());
    return *this;
  }
  ~SmallVec() { destroy_all(); }

  operator std::vector<T>() const& { return std::vector<T>(begin(), end()); }  // NOLINT
  operator std::vector<T>() && {                                                // NOLINT
    std::vector<T> r;
    r.reserve(n_);
    for (auto& x : *this) r.push_back(std::move(x));
    return r;
  }

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  T* data() { return ptr(); }
  const T* data() const { return ptr(); }
  T& operator[](size_t i) { return ptr()[i]; }
  const T& operator[](size_t i) const { return ptr()[i]; }
  T& back() { return ptr()[n_ - 1]; }
  const T& back() const { return ptr()[n_ - 1]; }
  T& front() { return ptr()[0]; }
  iterator begin() { return ptr(); }
  iterator end() { return ptr() + n_; }
  const_iterator begin() const { return ptr(); }
  const_iterator end() const { return ptr() + n_; }

  void reserve(size_t c) {
    if (c <= cap_) return;
    size_t nc = c < 2 * cap_ ? 2 * cap_ : c;
    T* h = static_cast<T*>(::operator new(nc * sizeof(T)));
    for (size_t i = 0; i < n_; ++i) {
      new (h + i) T(std::move(ptr()[i]));
      ptr()[i].~T();
    }
    if (heap_) ::operator delete(heap_);
    heap_ = h;
    cap_ = nc;
  }
  template <class... A>
  T& emplace_back(A&&... a) {
    if (n_ == cap_) reserve(n_ + 1);
    new (ptr() + n_) T(std::forward<A>(a)...);
    return ptr()[n_++];
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }
  void pop_back() { ptr()[--n_].~T(); }
  void resize(size_t n) {
    reserve(n);
    while (n_ < n) new (ptr() + n_++) T();
    while (n_ > n) ptr()[--n_].~T();
  }
  void resize(size_t n, const T& v) {
    reserve(n);
    while (n_ < n) new (ptr() + n_++) T(v);
    while (n_ > n) ptr()[--n_].~T();
  }
  void clear() {
    while (n_ > 0) ptr()[--n_].~T();
  }

 private:
  T* ptr() { return heap_ ? heap_ : reinterpret_cast<T*>(inline_); }
  const T* ptr() const { return heap_ ? heap_ : reinterpret_cast<const T*>(inline_); }
  template <class It>
  void assign(It b, It e) {
    reserve(static_cast<size_t>(e - b));
    for (; b != e; ++b) new (ptr() + n_++) T(*b);
  }
  void destroy_all() {
    clear();
    if (heap_) ::operator delete(heap_);
    heap_ = nullptr;
    cap_ = N;
  }
  void take(SmallVec&& o) {
    if (o.heap_) {
      heap_ = o.heap_;
      cap_ = o.cap_;
      n_ = o.n_;
      o.heap_ = nullptr;
      o.cap_ = N;
      o.n_ = 0;
    } else {
      heap_ = nullptr;
      cap_ = N;
      n_ = 0;
      for (size_t i = 0; i < o.n_; ++i) new (ptr() + n_++) T(std::move(o.ptr()[i]));
      o.clear();
    }
  }

  alignas(T) unsigned char inline_[N * sizeof(T)];
  T* heap_ = nullptr;
  size_t cap_ = N;
  size_t n_ = 0;
};

}  // namespace ndgrad
