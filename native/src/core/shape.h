// Shapes, strides and NumPy broadcasting.
#pragma once
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace ndgrad {

// The most dimensions an array may have: kernels keep per-axis state in fixed arrays of this size
// (ops::invoke refuses results with more, and so does empty()).
constexpr size_t kMaxDims = 32;

// A shape: a small vector of dims kept inline up to kInline dims (no heap traffic per op).
class Shape {
 public:
  static constexpr int kInline = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> d) { assign(d.begin(), d.size()); }
  explicit Shape(const std::vector<int64_t>& d) { assign(d.data(), d.size()); }
  Shape(size_t n, int64_t v) { resize(n, v); }
  Shape(const int64_t* p, size_t n) { assign(p, n); }
  Shape(const Shape& o) { copy(o); }
  Shape& operator=(const Shape& o) {
    if (this != &o) copy(o);
    return *this;
  }
  Shape(Shape&& o) noexcept { steal(o); }
  Shape& operator=(Shape&& o) noexcept {
    if (this != &o) { release(); steal(o); }
    return *this;
  }
  ~Shape() { release(); }

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t* data() { return heap_ ? heap_ : inl_; }
  const int64_t* data() const { return heap_ ? heap_ : inl_; }
  int64_t& operator[](size_t i) { return data()[i]; }
  int64_t operator[](size_t i) const { return data()[i]; }
  int64_t* begin() { return data(); }
  int64_t* end() { return data() + n_; }
  const int64_t* begin() const { return data(); }
  const int64_t* end() const { return data() + n_; }
  int64_t back() const { return data()[n_ - 1]; }
  void push_back(int64_t v) {
    reserve(n_ + 1);
    data()[n_++] = v;
  }
  void pop_back() { --n_; }
  void resize(size_t n, int64_t v = 0) {
    reserve(n);
    for (size_t i = n_; i < n; ++i) data()[i] = v;
    n_ = n;
  }
  void insert(size_t pos, int64_t v) {
    reserve(n_ + 1);
    int64_t* d = data();
    for (size_t i = n_; i > pos; --i) d[i] = d[i - 1];
    d[pos] = v;
    ++n_;
  }
  void erase(size_t pos) {
    int64_t* d = data();
    for (size_t i = pos; i + 1 < n_; ++i) d[i] = d[i + 1];
    --n_;
  }
  bool operator==(const Shape& o) const {
    if (n_ != o.n_) return false;
    const int64_t *a = data(), *b = o.data();
    for (size_t i = 0; i < n_; ++i)  // a few dims: a loop beats a call to memcmp
      if (a[i] != b[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }

 private:
  // Shapes are copied and moved several times per op: an inline shape is one fixed-size copy
  // (a few vector moves), not a call to memmove for n elements.
  void copy(const Shape& o) {
    if (o.heap_ || heap_) return assign(o.data(), o.n_);
    std::memcpy(inl_, o.inl_, sizeof inl_);
    n_ = o.n_;
  }
  void assign(const int64_t* p, size_t n) {
    reserve(n);
    if (n) std::memmove(data(), p, n * sizeof(int64_t));
    n_ = n;
  }
  void reserve(size_t n) {
    if (n <= cap()) return;
    size_t c = n < 16 ? 16 : n * 2;
    int64_t* h = new int64_t[c];
    if (n_) std::memcpy(h, data(), n_ * sizeof(int64_t));
    delete[] heap_;
    heap_ = h;
    cap_ = c;
  }
  size_t cap() const { return heap_ ? cap_ : kInline; }
  void release() {
    delete[] heap_;
    heap_ = nullptr;
    n_ = 0;
  }
  void steal(Shape& o) {
    n_ = o.n_;
    if (o.heap_) {
      heap_ = o.heap_;
      cap_ = o.cap_;
      o.heap_ = nullptr;
    } else {
      heap_ = nullptr;
      std::memcpy(inl_, o.inl_, sizeof inl_);
    }
    o.n_ = 0;
  }
  int64_t inl_[kInline];
  int64_t* heap_ = nullptr;
  size_t cap_ = 0;
  size_t n_ = 0;
};

// The element count; -1 when it overflows int64 (no signed-overflow UB; ops::invoke refuses such
// shapes). Inline: the op path asks for it a dozen times per call.
inline int64_t numel(const Shape& s) {
  for (int64_t d : s)
    if (d == 0) return 0;
  int64_t n = 1;
  for (int64_t d : s)
    if (__builtin_mul_overflow(n, d, &n)) return -1;
  return n;
}
// a * b for dimension products (outer/inner/batch sizes), saturating at INT64_MAX instead of signed
// overflow: an empty array may have dims whose product passes int64; its value is then never used
// for a loop, since a 0 elsewhere makes the whole array empty.
inline int64_t mul_dims(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
// s viewed as [outer, s[axis], inner]: the products of the dims before and after `axis` (saturating).
void outer_inner(const Shape& s, int axis, int64_t* outer, int64_t* inner);
// "(2,3)", "()" for 0-d.
std::string shape_str(const Shape& s);
// Contiguous (row-major) strides in elements.
Shape contiguous_strides(const Shape& s);
// NumPy broadcast of two shapes; throws SHAPE_MISMATCH naming `op` and both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Strides of `in` when viewed as broadcast to `out` (0 on broadcast axes).
Shape broadcast_strides(const Shape& in, const Shape& out);
// Normalises a possibly negative axis; throws BAD_AXIS naming op and shape.
int normalize_axis(int64_t axis, size_t ndim, const char* op, const Shape& shape);

}  // namespace ndgrad
