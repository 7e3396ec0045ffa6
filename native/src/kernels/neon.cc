// NEON kernels (arm64 only). ODR rules: everything lives in an anonymous namespace (vector_code.inc
// is included into it); no STL; only kTable is exported.
//
// Layout as avx2.cc: (1) wrapper layer over float32x4_t (V), int32x4_t (VI) and uint32x4_t lane masks
// (M); (2) vector_code.inc compiled against it; (3) the GEMM micro-kernel. vmax/vmin keep the x86 NaN rule the portable code relies on
// (second operand when either is NaN). Built for arm64 only (binding.gyp, CMakeLists.txt);
// NDGRAD_NEON_EMULATE builds it on x86 against an emulation header (test/native/build.sh).
#include <cmath>
#include <cstring>

#include "kernels.h"

#if defined(__aarch64__) || defined(NDGRAD_NEON_EMULATE)
#include <arm_neon.h>

namespace ndgrad::kernels::neon {
namespace {

// ---------------------------------------------------------------------------------------------
// (1) Wrapper layer: NEON, 4 float lanes.
typedef float32x4_t V;
typedef int32x4_t VI;
typedef uint32x4_t M;
constexpr int W = 4;

inline V vset(float f) { return vdupq_n_f32(f); }
inline V vzero() { return vdupq_n_f32(0.f); }
inline V vload(const float* p) { return vld1q_f32(p); }
inline void vstore(float* p, V v) { vst1q_f32(p, v); }
// Non-temporal store for outputs too large to stay in cache (p aligned to a whole vector).
inline void vstream(float* p, V v) { vst1q_f32(p, v); }
inline void vfence() { }
// Loads/stores the first n (<= W) lanes; the other lanes read as 0 and are not written.
inline V vloadn(const float* p, int64_t n) {
  float t[W] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t i = 0; i < n; ++i) t[i] = p[i];
  return vld1q_f32(t);
}
inline void vstoren(float* p, V v, int64_t n) {
  float t[W];
  vst1q_f32(t, v);
  for (int64_t i = 0; i < n; ++i) p[i] = t[i];
}
inline V vadd(V a, V b) { return vaddq_f32(a, b); }
inline V vsub(V a, V b) { return vsubq_f32(a, b); }
inline V vmul(V a, V b) { return vmulq_f32(a, b); }
inline V vdiv(V a, V b) { return vdivq_f32(a, b); }
inline V vfma(V a, V b, V c) { return vfmaq_f32(c, a, b); }   // a*b + c
inline V vfnma(V a, V b, V c) { return vfmsq_f32(c, a, b); }  // c - a*b
inline V vmax(V a, V b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }  // b when either is NaN
inline V vmin(V a, V b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
inline V vsqrt(V a) { return vsqrtq_f32(a); }
inline V vand(V a, V b) { return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b))); }
inline V vor(V a, V b) { return vreinterpretq_f32_u32(vorrq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b))); }
inline V vxor(V a, V b) { return vreinterpretq_f32_u32(veorq_u32(vreinterpretq_u32_f32(a), vreinterpretq_u32_f32(b))); }
inline V vandnot(V a, V b) {  // ~a & b
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(b), vreinterpretq_u32_f32(a)));
}
inline V vfloor(V a) { return vrndmq_f32(a); }
inline V vceil(V a) { return vrndpq_f32(a); }
inline V vtrunc(V a) { return vrndq_f32(a); }
inline V vrint(V a) { return vrndnq_f32(a); }

inline M vlt(V a, V b) { return vcltq_f32(a, b); }
inline M vle(V a, V b) { return vcleq_f32(a, b); }
inline M vgt(V a, V b) { return vcgtq_f32(a, b); }
inline M vge(V a, V b) { return vcgeq_f32(a, b); }
inline M veq(V a, V b) { return vceqq_f32(a, b); }
inline M vne(V a, V b) { return vmvnq_u32(vceqq_f32(a, b)); }
inline M visnan(V a) { return vmvnq_u32(vceqq_f32(a, a)); }
inline M mor(M a, M b) { return vorrq_u32(a, b); }
inline M mand(M a, M b) { return vandq_u32(a, b); }
inline M mnone() { return vdupq_n_u32(0); }
inline bool many(M m) { return vmaxvq_u32(m) != 0; }
inline V vselect(M m, V t, V f) { return vbslq_f32(m, t, f); }  // m ? t : f
inline V vif(M m, V v) { return vreinterpretq_f32_u32(vandq_u32(m, vreinterpretq_u32_f32(v))); }  // m ? v : 0
inline V vmask01(M m) { return vif(m, vdupq_n_f32(1.f)); }

inline VI viset(int i) { return vdupq_n_s32(i); }
inline VI vcvt(V a) { return vcvtnq_s32_f32(a); }
inline V vcvti(VI a) { return vcvtq_f32_s32(a); }
inline VI vasint(V a) { return vreinterpretq_s32_f32(a); }
inline V vasfloat(VI a) { return vreinterpretq_f32_s32(a); }
inline VI viadd(VI a, VI b) { return vaddq_s32(a, b); }
inline VI visub(VI a, VI b) { return vsubq_s32(a, b); }
inline VI viand(VI a, VI b) { return vandq_s32(a, b); }
inline VI vior(VI a, VI b) { return vorrq_s32(a, b); }
inline VI vishl23(VI a) { return vshlq_n_s32(a, 23); }
inline VI vishr23(VI a) { return vreinterpretq_s32_u32(vshrq_n_u32(vreinterpretq_u32_s32(a), 23)); }
inline VI visra1(VI a) { return vshrq_n_s32(a, 1); }

// Horizontal max (NaN-free inputs; vector_code.inc derives the min and the sum).
inline float vhmax(V v) { return vmaxvq_f32(v); }

// ---------------------------------------------------------------------------------------------
// (2) ISA-neutral vector code, written against the wrapper layer above.
#include "vector_code.inc"
constexpr int kVecRegs = 32;
#include "conv_code.inc"
#include "conv_blocked.inc"
// No NEON packing transpose yet: GEMM falls back to its scalar packing loop.
bool transpose_pack_f32(const float*, int64_t, int, int64_t, float*, int64_t) { return false; }
// ---------------------------------------------------------------------------------------------

// (3) GEMM micro-kernel: 8 x 8 tile in 16 q-register accumulators, A broadcast by lane.
constexpr int kMR = 8, kNR = 8;

void gemm_micro_f32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  float32x4_t c00 = vdupq_n_f32(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  float32x4_t c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (int64_t p = 0; p < k; ++p) {
    float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
    c00 = vfmaq_laneq_f32(c00, b0, a0, 0);
    c01 = vfmaq_laneq_f32(c01, b1, a0, 0);
    c10 = vfmaq_laneq_f32(c10, b0, a0, 1);
    c11 = vfmaq_laneq_f32(c11, b1, a0, 1);
    c20 = vfmaq_laneq_f32(c20, b0, a0, 2);
    c21 = vfmaq_laneq_f32(c21, b1, a0, 2);
    c30 = vfmaq_laneq_f32(c30, b0, a0, 3);
    c31 = vfmaq_laneq_f32(c31, b1, a0, 3);
    c40 = vfmaq_laneq_f32(c40, b0, a1, 0);
    c41 = vfmaq_laneq_f32(c41, b1, a1, 0);
    c50 = vfmaq_laneq_f32(c50, b0, a1, 1);
    c51 = vfmaq_laneq_f32(c51, b1, a1, 1);
    c60 = vfmaq_laneq_f32(c60, b0, a1, 2);
    c61 = vfmaq_laneq_f32(c61, b1, a1, 2);
    c70 = vfmaq_laneq_f32(c70, b0, a1, 3);
    c71 = vfmaq_laneq_f32(c71, b1, a1, 3);
    a += kMR;
    b += kNR;
  }
  const V tile[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                          {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
  for (int i = 0; i < kMR; ++i) store_tile_row(c + i * ldc, tile[i][0], tile[i][1], accumulate);
}

}  // namespace

extern const KernelTable kTable = {"neon", unary_f32, binary_f32, reduce_f32, softmax_f32,
                                   kMR, kNR, gemm_micro_f32, dot_f32, axpy_f32, transpose_pack_f32,
                                   conv2d_f32, conv2d_wgrad_f32, W, conv2d_blocked_f32,
                                   conv2d_blocked_wgrad_f32};

}  // namespace ndgrad::kernels::neon

#else
#error "neon.cc is built for arm64 only (or with NDGRAD_NEON_EMULATE, the x86 test build)"
#endif
