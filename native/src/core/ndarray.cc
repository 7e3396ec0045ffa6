#include "ndarray.h"

#include <cstring>

#include "error.h"
#include "pool_alloc.h"
#include "threadpool.h"

namespace ndgrad {

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "float32") *out = DType::Float32;
  else if (s == "float64") *out = DType::Float64;
  else if (s == "int32") *out = DType::Int32;
  else if (s == "uint8") *out = DType::UInt8;
  else if (s == "bfloat16") *out = DType::BFloat16;
  else return false;
  return true;
}


NDArray empty(const Shape& shape, DType dtype) {
  if (shape.size() > kMaxDims)
    fail(code::BAD_ARGUMENT, "shape ", shape_str(shape), " has ", shape.size(), " dimensions; at most ", kMaxDims,
         " are supported");
  bool zero = false;
  for (int64_t d : shape) {
    if (d < 0) fail(code::BAD_ARGUMENT, "negative dimension in shape ", shape_str(shape));
    if (d == 0) zero = true;
  }
  // Refuse sizes whose byte count would overflow (the product of dims could wrap to a small number).
  if (!zero) {
    const int64_t limit = (int64_t(1) << 62) / static_cast<int64_t>(dtype_size(dtype));
    int64_t m = 1;
    for (int64_t d : shape)  // a multiply with an overflow check, not a division per dim
      if (__builtin_mul_overflow(m, d, &m) || m > limit)  // AllocationError: ops::invoke names the op
        throw AllocationError(code::OUT_OF_MEMORY, "cannot allocate an array of shape " + shape_str(shape) + ": too large");
  }
  NDArray a;
  a.shape = shape;
  a.dtype = dtype;
  int64_t n = numel(shape);
  const size_t granted = reserve_block(static_cast<size_t>(n) * dtype_size(dtype));
  try {
    a.storage = std::allocate_shared<Storage>(PoolAlloc<Storage>());
  } catch (...) {
    unreserve_block(granted);
    throw;
  }
  a.storage->bytes = granted;
  return a;
}

void* Storage::bind() {
  void* p = take_block(bytes);
  void* expected = nullptr;
  if (block.compare_exchange_strong(expected, p, std::memory_order_acq_rel)) return p;
  put_block(p, bytes);  // another thread of the same kernel bound it first
  return expected;
}

NDArray zeros(const Shape& shape, DType dtype) {
  NDArray a = empty(shape, dtype);
  std::memset(a.raw(), 0, a.nbytes());
  return a;
}

NDArray full(const Shape& shape, DType dtype, double value) {
  NDArray a = empty(shape, dtype);
  fill(a, value);
  return a;
}

NDArray view(const NDArray& a, const Shape& shape, int64_t offset_elems) {
  NDArray r = a.plain();
  r.shape = shape;
  r.offset = a.offset + offset_elems;
  return r;
}

void fill(const NDArray& a, double value) {
  int64_t n = a.size();
  NDGRAD_DISPATCH_STORAGE(a.dtype, T, {
    T* p = a.data<T>();
    T v = from_double<T>(value);
    for (int64_t i = 0; i < n; ++i) p[i] = v;
  });
}

void copy_into(const NDArray& src, const NDArray& dst) {
  int64_t n = src.size();
  if (src.dtype == dst.dtype) {
    if (src.raw() != dst.raw()) std::memmove(dst.raw(), src.raw(), src.nbytes());
    return;
  }
  if (src.dtype == DType::BFloat16 && dst.dtype == DType::Float32)
    return parallel_for(n, 1 << 15, [&](int64_t b, int64_t e) {
      bf16_to_float_n(static_cast<const uint16_t*>(src.raw()) + b, dst.data<float>() + b, e - b);
    });
  if (src.dtype == DType::Float32 && dst.dtype == DType::BFloat16)
    return parallel_for(n, 1 << 15, [&](int64_t b, int64_t e) {
      float_to_bf16_n(src.data<float>() + b, static_cast<uint16_t*>(dst.raw()) + b, e - b);
    });
  NDGRAD_DISPATCH_STORAGE(src.dtype, S, {
    const S* s = src.data<S>();
    NDGRAD_DISPATCH_STORAGE(dst.dtype, D, {
      D* d = dst.data<D>();
      for (int64_t i = 0; i < n; ++i) d[i] = from_double<D>(to_double(s[i]));
    });
  });
}

NDArray from_data(const void* src, DType src_type, const Shape& shape, DType dtype) {
  NDArray a = empty(shape, src_type);
  if (a.size()) std::memcpy(a.raw(), src, a.nbytes());
  if (dtype == src_type) return a;
  NDArray c = empty(shape, dtype);
  copy_into(a, c);
  return c;
}

double read_scalar(const NDArray& a, int64_t i) {
  double r = 0;
  NDGRAD_DISPATCH_STORAGE(a.dtype, T, { r = to_double(a.data<T>()[i]); });
  return r;
}

void write_scalar(const NDArray& a, int64_t i, double v) {
  NDGRAD_DISPATCH_STORAGE(a.dtype, T, { a.data<T>()[i] = from_double<T>(v); });
}

}  // namespace ndgrad
