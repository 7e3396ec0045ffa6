// Element types of an NDArray.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "bf16.h"

namespace ndgrad {

enum class DType : uint8_t { Float32 = 0, Float64 = 1, Int32 = 2, UInt8 = 3, BFloat16 = 4 };
constexpr int kDTypeCount = 5;

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::UInt8: return 1;
    case DType::BFloat16: return 2;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
    case DType::BFloat16: return "bfloat16";
  }
  return "?";
}

inline bool is_float(DType t) { return t == DType::Float32 || t == DType::Float64 || t == DType::BFloat16; }

// Result type of ops whose value is not an integer in general (exp, divide, mean...).
inline DType float_result(DType t) { return is_float(t) ? t : DType::Float32; }

// bfloat16 is a storage type: an op given bfloat16 arrays computes in float32 and rounds its
// results (ops/bf16.cc), so only storage code (fill, copies, astype, views) handles it directly.

bool parse_dtype(const std::string& s, DType* out);

// A double converted to an element type, defined for every double (a plain static_cast to an
// integer type is undefined behaviour for NaN, ±Inf and values out of range). This is the one
// conversion of astype, full/fill, set, arange, one_hot values and number operands:
//   float32/float64: rounded as usual (out of range gives ±Inf);
//   int32: truncated toward zero and saturated to [-2^31, 2^31 - 1]; NaN gives 0;
//   uint8: truncated toward zero and wrapped modulo 256, as NumPy's astype does for in-range values
//          (-1 -> 255, 300 -> 44); NaN and ±Inf give 0.
template <class T>
inline T from_double(double v) {
  return static_cast<T>(v);
}
template <>
inline int32_t from_double<int32_t>(double v) {
  if (!(v == v)) return 0;
  if (v >= 2147483647.0) return 2147483647;
  if (v <= -2147483648.0) return -2147483647 - 1;
  return static_cast<int32_t>(v);
}
template <>
inline uint8_t from_double<uint8_t>(double v) {
  if (!std::isfinite(v)) return 0;
  double r = std::fmod(std::trunc(v), 256.0);  // exact for every finite double
  if (r < 0) r += 256.0;
  return static_cast<uint8_t>(r);
}

template <>
inline bfloat16 from_double<bfloat16>(double v) {
  return bfloat16{double_to_bf16(v)};
}
inline double to_double(bfloat16 v) { return bf16_to_float(v.bits); }
template <class T>
inline double to_double(T v) {
  return static_cast<double>(v);
}

// The representable value of T nearest to v (NaN gives 0 for integer types): for bounds such as
// clip's, where a wrapped uint8 bound (300 -> 44) would be wrong.
template <class T>
inline T nearest_from_double(double v) {
  return from_double<T>(v);
}
template <>
inline uint8_t nearest_from_double<uint8_t>(double v) {
  if (!(v == v)) return 0;
  return v >= 255.0 ? 255 : v <= 0.0 ? 0 : static_cast<uint8_t>(v);
}

// Calls f with a typed null pointer of the C++ type for `t` (T* for dtype T).
#define NDGRAD_DISPATCH_DTYPE(t, T, ...)                    \
  switch (t) {                                              \
    case ::ndgrad::DType::Float32: { using T = float; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::Float64: { using T = double; __VA_ARGS__; break; }  \
    case ::ndgrad::DType::Int32: { using T = int32_t; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::UInt8: { using T = uint8_t; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::BFloat16: break; /* ops never see it (bf16.cc) */   \
  }

// NDGRAD_DISPATCH_DTYPE and bfloat16: for storage code (fill, copies, scalar reads and writes) only.
#define NDGRAD_DISPATCH_STORAGE(t, T, ...)                                        \
  if ((t) == ::ndgrad::DType::BFloat16) {                                         \
    using T = ::ndgrad::bfloat16;                                                 \
    __VA_ARGS__;                                                                  \
  } else {                                                                        \
    NDGRAD_DISPATCH_DTYPE(t, T, __VA_ARGS__)                                      \
  }

#define NDGRAD_DISPATCH_FLOAT(t, T, ...)                    \
  switch (t) {                                              \
    case ::ndgrad::DType::Float32: { using T = float; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::Float64: { using T = double; __VA_ARGS__; break; }  \
    default: break;                                         \
  }

}  // namespace ndgrad
