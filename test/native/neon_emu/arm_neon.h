// x86 emulation of the NEON intrinsics native/src/kernels/neon.cc uses, so build.sh can test its
// vector path here (test only; never part of the addon). Lane semantics follow the ARM ACLE.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
typedef float float32x4_t __attribute__((vector_size(16)));
typedef int32_t int32x4_t __attribute__((vector_size(16)));
typedef uint32_t uint32x4_t __attribute__((vector_size(16)));
#define L4(expr) { expr(0), expr(1), expr(2), expr(3) }
static inline float32x4_t vdupq_n_f32(float f) { return float32x4_t{f, f, f, f}; }
static inline int32x4_t vdupq_n_s32(int32_t f) { return int32x4_t{f, f, f, f}; }
static inline uint32x4_t vdupq_n_u32(uint32_t f) { return uint32x4_t{f, f, f, f}; }
static inline float32x4_t vld1q_f32(const float* p) { float32x4_t v; std::memcpy(&v, p, 16); return v; }
static inline void vst1q_f32(float* p, float32x4_t v) { std::memcpy(p, &v, 16); }
static inline float32x4_t vaddq_f32(float32x4_t a, float32x4_t b) { return a + b; }
static inline float32x4_t vsubq_f32(float32x4_t a, float32x4_t b) { return a - b; }
static inline float32x4_t vmulq_f32(float32x4_t a, float32x4_t b) { return a * b; }
static inline float32x4_t vdivq_f32(float32x4_t a, float32x4_t b) { return a / b; }
static inline float32x4_t vfmaq_f32(float32x4_t c, float32x4_t a, float32x4_t b) {
#define E(i) std::fma(a[i], b[i], c[i])
  return float32x4_t L4(E);
#undef E
}
static inline float32x4_t vfmsq_f32(float32x4_t c, float32x4_t a, float32x4_t b) {
#define E(i) std::fma(-a[i], b[i], c[i])
  return float32x4_t L4(E);
#undef E
}
static inline float32x4_t vfmaq_laneq_f32(float32x4_t c, float32x4_t b, float32x4_t a, int lane) {
#define E(i) std::fma(b[i], a[lane], c[i])
  return float32x4_t L4(E);
#undef E
}
static inline float32x4_t vsqrtq_f32(float32x4_t a) {
#define E(i) std::sqrt(a[i])
  return float32x4_t L4(E);
#undef E
}
#define UNF(name, fn) static inline float32x4_t name(float32x4_t a) { return float32x4_t{fn(a[0]), fn(a[1]), fn(a[2]), fn(a[3])}; }
UNF(vrndmq_f32, std::floor) UNF(vrndpq_f32, std::ceil) UNF(vrndq_f32, std::trunc) UNF(vrndnq_f32, std::nearbyint)
static inline uint32x4_t vcltq_f32(float32x4_t a, float32x4_t b) { return (uint32x4_t)(a < b); }
static inline uint32x4_t vcleq_f32(float32x4_t a, float32x4_t b) { return (uint32x4_t)(a <= b); }
static inline uint32x4_t vcgtq_f32(float32x4_t a, float32x4_t b) { return (uint32x4_t)(a > b); }
static inline uint32x4_t vcgeq_f32(float32x4_t a, float32x4_t b) { return (uint32x4_t)(a >= b); }
static inline uint32x4_t vceqq_f32(float32x4_t a, float32x4_t b) { return (uint32x4_t)(a == b); }
static inline uint32x4_t vmvnq_u32(uint32x4_t a) { return ~a; }
static inline uint32x4_t vorrq_u32(uint32x4_t a, uint32x4_t b) { return a | b; }
static inline uint32x4_t vandq_u32(uint32x4_t a, uint32x4_t b) { return a & b; }
static inline uint32x4_t veorq_u32(uint32x4_t a, uint32x4_t b) { return a ^ b; }
static inline uint32x4_t vbicq_u32(uint32x4_t a, uint32x4_t b) { return a & ~b; }
static inline uint32_t vmaxvq_u32(uint32x4_t a) { uint32_t m = a[0]; for (int i = 1; i < 4; ++i) m = a[i] > m ? a[i] : m; return m; }
static inline float vmaxvq_f32(float32x4_t a) { float m = a[0]; for (int i = 1; i < 4; ++i) m = std::fmax(m, a[i]); return m; }
static inline float vminvq_f32(float32x4_t a) { float m = a[0]; for (int i = 1; i < 4; ++i) m = std::fmin(m, a[i]); return m; }
static inline float32x4_t vbslq_f32(uint32x4_t m, float32x4_t t, float32x4_t f) {
  return (float32x4_t)((m & (uint32x4_t)t) | (~m & (uint32x4_t)f));
}
static inline float32x4_t vreinterpretq_f32_u32(uint32x4_t a) { return (float32x4_t)a; }
static inline uint32x4_t vreinterpretq_u32_f32(float32x4_t a) { return (uint32x4_t)a; }
static inline int32x4_t vreinterpretq_s32_f32(float32x4_t a) { return (int32x4_t)a; }
static inline float32x4_t vreinterpretq_f32_s32(int32x4_t a) { return (float32x4_t)a; }
static inline int32x4_t vreinterpretq_s32_u32(uint32x4_t a) { return (int32x4_t)a; }
static inline uint32x4_t vreinterpretq_u32_s32(int32x4_t a) { return (uint32x4_t)a; }
static inline int32x4_t vcvtnq_s32_f32(float32x4_t a) {
#define E(i) (int32_t)std::nearbyint(a[i])
  return int32x4_t L4(E);
#undef E
}
static inline float32x4_t vcvtq_f32_s32(int32x4_t a) { return float32x4_t{(float)a[0], (float)a[1], (float)a[2], (float)a[3]}; }
static inline int32x4_t vaddq_s32(int32x4_t a, int32x4_t b) { return (int32x4_t)((uint32x4_t)a + (uint32x4_t)b); }
static inline int32x4_t vsubq_s32(int32x4_t a, int32x4_t b) { return (int32x4_t)((uint32x4_t)a - (uint32x4_t)b); }
static inline int32x4_t vandq_s32(int32x4_t a, int32x4_t b) { return a & b; }
static inline int32x4_t vorrq_s32(int32x4_t a, int32x4_t b) { return a | b; }
#define vshlq_n_s32(a, n) ((int32x4_t)((uint32x4_t)(a) << (n)))
#define vshrq_n_u32(a, n) ((a) >> (n))
#define vshrq_n_s32(a, n) ((a) >> (n))
