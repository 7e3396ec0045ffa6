// Element types of an NDArray.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ndgrad {

enum class DType : uint8_t { Float32 = 0, Float64 = 1, Int32 = 2, UInt8 = 3 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int32: return 4;
    case DType::UInt8: return 1;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int32: return "int32";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

inline bool is_float(DType t) { return t == DType::Float32 || t == DType::Float64; }

// Result type of ops whose value is not an integer in general (exp, divide, mean...).
inline DType float_result(DType t) { return is_float(t) ? t : DType::Float32; }

bool parse_dtype(const std::string& s, DType* out);

// Calls f with a typed null pointer of the C++ type for `t` (T* for dtype T).
#define NDGRAD_DISPATCH_DTYPE(t, T, ...)                    \
  switch (t) {                                              \
    case ::ndgrad::DType::Float32: { using T = float; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::Float64: { using T = double; __VA_ARGS__; break; }  \
    case ::ndgrad::DType::Int32: { using T = int32_t; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::UInt8: { using T = uint8_t; __VA_ARGS__; break; }   \
  }

#define NDGRAD_DISPATCH_FLOAT(t, T, ...)                    \
  switch (t) {                                              \
    case ::ndgrad::DType::Float32: { using T = float; __VA_ARGS__; break; }   \
    case ::ndgrad::DType::Float64: { using T = double; __VA_ARGS__; break; }  \
    default: break;                                         \
  }

}  // namespace ndgrad
