// bfloat16: the upper 16 bits of a float32 (8-bit exponent, 8-bit significand). The one place that
// rounds to it: round to nearest, ties to even, NaN kept NaN and made quiet. Arrays of it are stored
// as the raw uint16 bits; ops compute in float32 and round their results once.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace ndgrad {

// Element type of a bfloat16 array (a distinct type, so templates never take it for an integer).
struct bfloat16 {
  uint16_t bits;
};

inline float bf16_to_float(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // ties to even; a carry into the exponent is the right rounding
  return static_cast<uint16_t>(u >> 16);
}

// A double rounded to bfloat16 once (double -> float -> bfloat16 would round twice: a value just
// above a bfloat16 tie would become the tie, then go to even).
inline uint16_t double_to_bf16(double v) {
  double a = std::fabs(v);
  if (!(a >= 0x1p-126 && a < 0x1p128)) return float_to_bf16(static_cast<float>(v));  // NaN, Inf, subnormal, 0
  uint64_t u;
  std::memcpy(&u, &v, 8);
  u += (uint64_t(1) << 44) - 1 + ((u >> 45) & 1u);  // keep 7 of the 52 fraction bits, ties to even
  u &= ~((uint64_t(1) << 45) - 1);
  double r;
  std::memcpy(&r, &u, 8);
  return float_to_bf16(static_cast<float>(r));  // exact: r has 8 significant bits (or overflows to Inf)
}

// Whole arrays, written so the compiler vectorises them (copy_into, astype, ops' rounding).
inline void bf16_to_float_n(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_float(x[i]);
}
inline void float_to_bf16_n(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = float_to_bf16(x[i]);
}

}  // namespace ndgrad
