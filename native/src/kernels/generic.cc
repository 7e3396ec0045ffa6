// Baseline drivers and the scalar reference loops for every dtype. Float32 inner loops go to the
// ISA table first; the templates here are the reference the SIMD kernels are tested against.
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "../core/allocator.h"
#include "../core/threadpool.h"
#include "kernels.h"

namespace ndgrad {
namespace kernels {
namespace {

constexpr int kMaxRank = 32;  // = core kMaxDims: empty() and ops::invoke refuse more dims
constexpr int64_t kParallelGrain = 32768;  // elements per chunk before splitting across threads

// Integer arithmetic wraps (two's complement, as NumPy) instead of overflowing, which is undefined
// behaviour for int32: done in the unsigned type of the same width. Floats pass through.
template <class T>
inline T wrap_add(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<T>(a + b);
  }
}
template <class T>
inline T wrap_sub(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return static_cast<T>(a - b);
  }
}
template <class T>
inline T wrap_mul(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    // uint32 * uint32 would promote to (signed) int on platforms with a 32-bit int: use uint64
    return static_cast<T>(static_cast<uint64_t>(static_cast<int64_t>(a)) * static_cast<uint64_t>(static_cast<int64_t>(b)));
  } else {
    return static_cast<T>(a * b);
  }
}

// Division, remainder and power for every dtype (the rows of binary.def name them).
template <class T>
inline T div_ref(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    if (b == 0) return 0;
    if (std::is_signed<T>::value && b == static_cast<T>(-1)) return wrap_sub<T>(0, a);  // INT_MIN / -1 traps
  }
  return static_cast<T>(a / b);
}
template <class T>
inline T mod_ref(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    if (b == 0) return static_cast<T>(std::numeric_limits<double>::quiet_NaN());
    double r = std::fmod(static_cast<double>(a), static_cast<double>(b));
    if (r != 0 && ((r < 0) != (b < 0))) r += b;  // sign of the divisor, as NumPy and MXNet
    return static_cast<T>(r);
  } else {
    if (b == 0) return 0;
    int64_t r = static_cast<int64_t>(a) % static_cast<int64_t>(b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return static_cast<T>(r);
  }
}
template <class T>
inline T pow_ref(T a, T b) {
  if constexpr (std::is_floating_point<T>::value) {
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  } else {
    if (b < 0) return static_cast<T>(a == 1 ? 1 : (a == -1 ? ((-static_cast<int64_t>(b)) % 2 ? -1 : 1) : 0));
    uint64_t r = 1, base = static_cast<uint64_t>(static_cast<int64_t>(a));  // wraps modulo 2^64
    int64_t e = b;
    while (e) {
      if (e & 1) r *= base;
      base *= base;
      e >>= 1;
    }
    return static_cast<T>(r);
  }
}

// The reference of each unary row (its `ref` column), for float32 and float64.
template <class T>
inline T unary_ref(int kind, T x) {
  using R = typename std::conditional<std::is_same<T, float>::value, double, T>::type;
  // Float32 goes through double and rounds once, so results are correctly rounded in practice.
  R v = static_cast<R>(x);
  switch (kind) {
#define NDG_UNARY(K, name, aliases, dtype, ref, ...) \
  case K: return static_cast<T>(ref);
#include "../defs/unary.def"
#undef NDG_UNARY
    case kIdentity: return x;
  }
  return x;
}

// Integer inputs: the `dtype` column's INT(e) value; float-valued rows never see integers (the op
// converts them to float32 first).
#define NDG_INT_INT(e) return static_cast<T>(e);
#define NDG_INT_FLOAT return x;
template <class T>
inline T int_unary(int kind, T x) {
  switch (kind) {
#define NDG_UNARY(K, name, aliases, dtype, ...) \
  case K: NDG_INT_##dtype
#include "../defs/unary.def"
#undef NDG_UNARY
    default: return x;  // identity
  }
}
#undef NDG_INT_INT
#undef NDG_INT_FLOAT

// The reference of each binary row, for every dtype.
template <class T>
inline T binary_ref(int kind, T a, T b) {
  switch (kind) {
#define NDG_BINARY(K, name, aliases, dtype, ref, ...) \
  case K: return static_cast<T>(ref);
#include "../defs/binary.def"
#undef NDG_BINARY
  }
  return 0;
}

template <class T>
void unary_loop(int kind, const T* x, T* y, int64_t n) {
  if (std::is_floating_point<T>::value)
    for (int64_t i = 0; i < n; ++i) y[i] = unary_ref<T>(kind, x[i]);
  else
    for (int64_t i = 0; i < n; ++i) y[i] = int_unary<T>(kind, x[i]);
}

template <class T>
void binary_inner(int kind, const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n) {
  if (std::is_same<T, float>::value && (sa == 0 || sa == 1) && (sb == 0 || sb == 1) &&
      table().binary_f32(kind, reinterpret_cast<const float*>(a), sa, reinterpret_cast<const float*>(b), sb,
                         reinterpret_cast<float*>(y), n))
    return;
  for (int64_t i = 0; i < n; ++i) y[i] = binary_ref<T>(kind, a[i * sa], b[i * sb]);
}

// Drops size-1 axes and merges axes that are contiguous for every operand, so a same-shape op
// becomes one long inner loop and a row broadcast becomes [rows, cols].
int collapse(int ndim, const int64_t* shape, const int64_t* const* strides, int nops, int64_t* out_shape,
             int64_t (*out_strides)[16], int max_dims) {
  int n = 0;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] == 1) continue;
    if (n > 0) {
      bool merge = true;
      for (int k = 0; k < nops; ++k)
        if (out_strides[k][n - 1] != strides[k][i] * shape[i]) merge = false;
      if (merge) {
        out_shape[n - 1] *= shape[i];
        for (int k = 0; k < nops; ++k) out_strides[k][n - 1] = strides[k][i];
        continue;
      }
    }
    if (n >= max_dims) return -1;
    out_shape[n] = shape[i];
    for (int k = 0; k < nops; ++k) out_strides[k][n] = strides[k][i];
    ++n;
  }
  return n;
}

template <class T>
void binary_typed(int kind, int ndim, const int64_t* shape, const T* a, const int64_t* as, const T* b,
                  const int64_t* bs, T* y) {
  int64_t total = 1;
  for (int i = 0; i < ndim; ++i) total *= shape[i];
  if (total == 0) return;
  int64_t cshape[16];
  int64_t cstr[2][16];
  const int64_t* strs[2] = {as, bs};
  int cn = ndim <= 16 ? collapse(ndim, shape, strs, 2, cshape, cstr, 16) : -1;
  if (cn < 0) {  // very high rank: plain odometer over the original axes
    for (int64_t idx = 0; idx < total; ++idx) {
      int64_t r = idx, oa = 0, ob = 0;
      for (int d = ndim - 1; d >= 0; --d) {
        int64_t c = r % shape[d];
        r /= shape[d];
        oa += c * as[d];
        ob += c * bs[d];
      }
      y[idx] = binary_ref<T>(kind, a[oa], b[ob]);
    }
    return;
  }
  if (cn == 0) {
    binary_inner<T>(kind, a, 0, b, 0, y, 1);
    return;
  }
  int64_t inner = cshape[cn - 1], sa = cstr[0][cn - 1], sb = cstr[1][cn - 1];
  int64_t outer = total / inner;
  auto body = [&](int64_t o_begin, int64_t o_end) {
    for (int64_t o = o_begin; o < o_end; ++o) {
      int64_t r = o, oa = 0, ob = 0;
      for (int d = cn - 2; d >= 0; --d) {
        int64_t c = r % cshape[d];
        r /= cshape[d];
        oa += c * cstr[0][d];
        ob += c * cstr[1][d];
      }
      binary_inner<T>(kind, a + oa, sa, b + ob, sb, y + o * inner, inner);
    }
  };
  if (outer == 1) {
    // One long run: split the run itself.
    parallel_for(inner, kParallelGrain, [&](int64_t b0, int64_t b1) {
      binary_inner<T>(kind, a + b0 * sa, sa, b + b0 * sb, sb, y + b0, b1 - b0);
    });
  } else {
    int64_t grain = kParallelGrain / inner + 1;
    parallel_for(outer, grain, body);
  }
}

template <class T, class Acc>
void reduce_typed(int kind, const T* x, int64_t outer, int64_t n, int64_t inner, T* y) {
  auto init = [&]() -> Acc {
    switch (kind) {
      case kSum: return Acc(0);
      case kProd: return Acc(1);
      default: return Acc(0);
    }
  };
  auto step = [&](Acc acc, T v) -> Acc {
    switch (kind) {
      case kSum: return wrap_add<Acc>(acc, static_cast<Acc>(v));
      case kProd: return wrap_mul<Acc>(acc, static_cast<Acc>(v));  // int64 overflow wraps, not UB
      case kMaxR: return (acc != acc || static_cast<Acc>(v) != static_cast<Acc>(v)) ? (acc != acc ? acc : static_cast<Acc>(v)) : (static_cast<Acc>(v) > acc ? static_cast<Acc>(v) : acc);
      case kMinR: return (acc != acc || static_cast<Acc>(v) != static_cast<Acc>(v)) ? (acc != acc ? acc : static_cast<Acc>(v)) : (static_cast<Acc>(v) < acc ? static_cast<Acc>(v) : acc);
    }
    return acc;
  };
  bool minmax = kind == kMaxR || kind == kMinR;
  auto rows = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      const T* xo = x + o * n * inner;
      T* yo = y + o * inner;
      for (int64_t j = 0; j < inner; ++j) {
        Acc acc = minmax ? static_cast<Acc>(xo[j]) : init();
        for (int64_t i = minmax ? 1 : 0; i < n; ++i) acc = step(acc, xo[i * inner + j]);
        yo[j] = static_cast<T>(acc);
      }
    }
  };
  int64_t grain = kParallelGrain / (n * inner + 1) + 1;
  parallel_for(outer, grain, rows);
}

template <class T>
void softmax_typed(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  auto body = [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const T* xr = x + o * n * inner + j;
        T* yr = y + o * n * inner + j;
        double m = -std::numeric_limits<double>::infinity();
        // Not std::fmax: GCC 12.2 for aarch64 dies (ICE in vect_transform_reduction) vectorising an
        // fmax reduction over widened floats. Same result: NaN compares false and is skipped.
        for (int64_t i = 0; i < n; ++i) {
          double v = static_cast<double>(xr[i * inner]);
          if (v > m) m = v;
        }
        double s = 0;
        for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(xr[i * inner]) - m);
        if (log) {
          double ls = std::log(s) + m;
          for (int64_t i = 0; i < n; ++i) yr[i * inner] = static_cast<T>(static_cast<double>(xr[i * inner]) - ls);
        } else {
          for (int64_t i = 0; i < n; ++i)
            yr[i * inner] = static_cast<T>(std::exp(static_cast<double>(xr[i * inner]) - m) / s);
        }
      }
  };
  parallel_for(outer, kParallelGrain / (n * inner + 1) + 1, body);
}

// The ISA's float32 reduction, split across the pool: by blocks of `outer` when there are many,
// otherwise by chunks of one long reduced axis whose partial results are combined here.
bool reduce_f32_parallel(int kind, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  const KernelTable& t = table();
  int64_t total = outer * n * inner;
  if (total < 4 * kParallelGrain || num_threads() <= 1) return t.reduce_f32(kind, x, outer, n, inner, y);
  if (outer >= num_threads()) {
    std::atomic<bool> ok{true};
    parallel_for(outer, 1 + kParallelGrain / (n * inner + 1), [&](int64_t o0, int64_t o1) {
      if (!t.reduce_f32(kind, x + o0 * n * inner, o1 - o0, n, inner, y + o0 * inner)) ok = false;
    });
    return ok;
  }
  if (kind == kProd) return t.reduce_f32(kind, x, outer, n, inner, y);
  // Few rows, long axis: each thread reduces a slice of the axis into its own partial row.
  const int parts = num_threads() < 8 ? num_threads() : 8;
  ScratchBuffer scratch(sizeof(float) * static_cast<size_t>(parts * outer * inner));  // counted, before any write
  float* partial = scratch.as<float>();
  std::atomic<bool> ok{true};
  parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      int64_t b = n * p / parts, e = n * (p + 1) / parts;
      for (int64_t o = 0; o < outer; ++o)
        if (!t.reduce_f32(kind, x + (o * n + b) * inner, 1, e - b, inner, partial + (p * outer + o) * inner))
          ok = false;
    }
  });
  if (ok)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        double acc = partial[o * inner + j];
        for (int p = 1; p < parts; ++p) {
          float v = partial[(p * outer + o) * inner + j];
          if (kind == kSum) acc += v;
          else if (acc != acc || v != v) acc = acc != acc ? acc : v;  // NaN wins, as in one pass
          else if (kind == kMaxR) acc = v > acc ? v : acc;
          else acc = v < acc ? v : acc;
        }
        y[o * inner + j] = static_cast<float>(acc);
      }
  return ok;
}

}  // namespace

const char* unary_name(int kind) {
  static const char* const kNames[] = {
#define NDG_UNARY(K, name, ...) #name,
#include "../defs/unary.def"
#undef NDG_UNARY
      "identity"};
  return kind >= 0 && kind < kUnaryCount ? kNames[kind] : "?";
}

const char* binary_name(int kind) {
  static const char* const kNames[] = {
#define NDG_BINARY(K, name, ...) #name,
#include "../defs/binary.def"
#undef NDG_BINARY
  };
  return kind >= 0 && kind < kBinaryCount ? kNames[kind] : "?";
}

void unary(int kind, int dtype, const void* x, void* y, int64_t n) {
  auto run = [&](auto* tag) {
    using T = typename std::remove_pointer<decltype(tag)>::type;
    parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
      const T* xs = static_cast<const T*>(x) + b;
      T* ys = static_cast<T*>(y) + b;
      if (std::is_same<T, float>::value &&
          table().unary_f32(kind, reinterpret_cast<const float*>(xs), reinterpret_cast<float*>(ys), e - b))
        return;
      unary_loop<T>(kind, xs, ys, e - b);
    });
  };
  switch (dtype) {
    case 0: run(static_cast<float*>(nullptr)); break;
    case 1: run(static_cast<double*>(nullptr)); break;
    case 2: run(static_cast<int32_t*>(nullptr)); break;
    case 3: run(static_cast<uint8_t*>(nullptr)); break;
  }
}

void binary(int kind, int dtype, int ndim, const int64_t* shape, const void* a, const int64_t* as, const void* b,
            const int64_t* bs, void* y) {
  switch (dtype) {
    case 0: binary_typed<float>(kind, ndim, shape, (const float*)a, as, (const float*)b, bs, (float*)y); break;
    case 1: binary_typed<double>(kind, ndim, shape, (const double*)a, as, (const double*)b, bs, (double*)y); break;
    case 2: binary_typed<int32_t>(kind, ndim, shape, (const int32_t*)a, as, (const int32_t*)b, bs, (int32_t*)y); break;
    case 3: binary_typed<uint8_t>(kind, ndim, shape, (const uint8_t*)a, as, (const uint8_t*)b, bs, (uint8_t*)y); break;
  }
}

void reduce(int kind, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* y) {
  switch (dtype) {
    case 0:
      if (reduce_f32_parallel(kind, (const float*)x, outer, n, inner, (float*)y)) return;
      reduce_typed<float, double>(kind, (const float*)x, outer, n, inner, (float*)y);
      break;
    case 1: reduce_typed<double, double>(kind, (const double*)x, outer, n, inner, (double*)y); break;
    case 2: reduce_typed<int32_t, int64_t>(kind, (const int32_t*)x, outer, n, inner, (int32_t*)y); break;
    case 3: reduce_typed<uint8_t, int64_t>(kind, (const uint8_t*)x, outer, n, inner, (uint8_t*)y); break;
  }
}

void arg_reduce(bool is_max, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, int out_dtype,
                void* y) {
  auto run = [&](auto* tag) {
    using T = typename std::remove_pointer<decltype(tag)>::type;
    const T* xs = static_cast<const T*>(x);
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        const T* r = xs + o * n * inner + j;
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i) {
          T v = r[i * inner], bv = r[best * inner];
          if (bv != bv) break;  // NaN found: it wins
          if (v != v || (is_max ? v > bv : v < bv)) best = i;
        }
        int64_t k = o * inner + j;
        switch (out_dtype) {
          case 0: static_cast<float*>(y)[k] = static_cast<float>(best); break;
          case 1: static_cast<double*>(y)[k] = static_cast<double>(best); break;
          case 2: static_cast<int32_t*>(y)[k] = static_cast<int32_t>(best); break;
          default: static_cast<uint8_t*>(y)[k] = static_cast<uint8_t>(best); break;
        }
      }
  };
  switch (dtype) {
    case 0: run(static_cast<float*>(nullptr)); break;
    case 1: run(static_cast<double*>(nullptr)); break;
    case 2: run(static_cast<int32_t*>(nullptr)); break;
    case 3: run(static_cast<uint8_t*>(nullptr)); break;
  }
}

void strided_copy(int dtype, int ndim, const int64_t* shape, const void* x, const int64_t* xs, void* y) {
  static const int kSize[4] = {4, 8, 4, 1};
  int es = kSize[dtype];
  int64_t total = 1;
  for (int i = 0; i < ndim; ++i) total *= shape[i];
  if (total == 0) return;
  // Collapse with y's contiguous strides as the second operand.
  int64_t ys[kMaxRank];
  int64_t acc = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    ys[i] = acc;
    acc *= shape[i];
  }
  int64_t cshape[16];
  int64_t cstr[2][16];
  const int64_t* strs[2] = {xs, ys};
  int cn = collapse(ndim, shape, strs, 2, cshape, cstr, 16);
  const char* xb = static_cast<const char*>(x);
  char* yb = static_cast<char*>(y);
  if (cn <= 0) {
    if (cn == 0) std::memcpy(yb, xb, es);
    else
      for (int64_t idx = 0; idx < total; ++idx) {
        int64_t r = idx, ox = 0;
        for (int d = ndim - 1; d >= 0; --d) {
          ox += (r % shape[d]) * xs[d];
          r /= shape[d];
        }
        std::memcpy(yb + idx * es, xb + ox * es, es);
      }
    return;
  }
  int64_t inner = cshape[cn - 1], sx = cstr[0][cn - 1];
  int64_t outer = total / inner;
  parallel_for(outer, kParallelGrain / inner + 1, [&](int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; ++o) {
      int64_t r = o, ox = 0;
      for (int d = cn - 2; d >= 0; --d) {
        ox += (r % cshape[d]) * cstr[0][d];
        r /= cshape[d];
      }
      char* yo = yb + o * inner * es;
      const char* xo = xb + ox * es;
      if (sx == 1) std::memcpy(yo, xo, inner * es);
      else if (es == 4)
        for (int64_t i = 0; i < inner; ++i) reinterpret_cast<uint32_t*>(yo)[i] = reinterpret_cast<const uint32_t*>(xo)[i * sx];
      else if (es == 8)
        for (int64_t i = 0; i < inner; ++i) reinterpret_cast<uint64_t*>(yo)[i] = reinterpret_cast<const uint64_t*>(xo)[i * sx];
      else
        for (int64_t i = 0; i < inner; ++i) yo[i] = xo[i * sx];
    }
  });
}

void softmax(int dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (dtype == 0) {
    if (inner == 1 && table().softmax_f32((const float*)x, (float*)y, outer, n, log)) return;
    softmax_typed<float>((const float*)x, (float*)y, outer, n, inner, log);
  } else {
    softmax_typed<double>((const double*)x, (double*)y, outer, n, inner, log);
  }
}

}  // namespace kernels
}  // namespace ndgrad
