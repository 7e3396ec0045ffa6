// AVX2+FMA kernels (compiled with -mavx2 -mfma only). ODR rules: everything lives in an anonymous
// namespace; no STL, no shared inline headers; only kTable is exported.
//
// Layout: (1) a thin wrapper layer over the ISA's vector type (V), integer vector (VI) and lane mask
// (M); (2) ISA-neutral vector code written against that layer -- avx512.cc carries the same text
// between the "BEGIN/END PORTABLE" markers with its own wrapper layer; (3) the GEMM micro-kernel.
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "kernels.h"

namespace ndgrad {
namespace kernels {
namespace avx2 {
namespace {

// ---------------------------------------------------------------------------------------------
// (1) Wrapper layer: AVX2, 8 float lanes; masks are all-ones/all-zeros float lanes.
typedef __m256 V;
typedef __m256i VI;
typedef __m256 M;
constexpr int W = 8;

inline V vset(float f) { return _mm256_set1_ps(f); }
inline V vzero() { return _mm256_setzero_ps(); }
inline V vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, V v) { _mm256_storeu_ps(p, v); }
inline __m256i tail_mask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
// Loads/stores the first n (< W) lanes; the other lanes read as 0 and are not written.
inline V vloadn(const float* p, int64_t n) { return _mm256_maskload_ps(p, tail_mask(n)); }
inline void vstoren(float* p, V v, int64_t n) { _mm256_maskstore_ps(p, tail_mask(n), v); }
inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a*b + c
inline V vfnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a*b
inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }  // b when either is NaN (x86 rule)
inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
inline V vsqrt(V a) { return _mm256_sqrt_ps(a); }
inline V vand(V a, V b) { return _mm256_and_ps(a, b); }
inline V vor(V a, V b) { return _mm256_or_ps(a, b); }
inline V vxor(V a, V b) { return _mm256_xor_ps(a, b); }
inline V vandnot(V a, V b) { return _mm256_andnot_ps(a, b); }  // ~a & b
inline V vfloor(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }
inline V vceil(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC); }
inline V vtrunc(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC); }
inline V vrint(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

inline M vlt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
inline M vle(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LE_OQ); }
inline M vgt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
inline M vge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
inline M veq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
inline M vne(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_NEQ_UQ); }
inline M visnan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
inline M mor(M a, M b) { return _mm256_or_ps(a, b); }
inline M mand(M a, M b) { return _mm256_and_ps(a, b); }
inline M mnone() { return _mm256_setzero_ps(); }
inline bool many(M m) { return _mm256_movemask_ps(m) != 0; }
inline V vselect(M m, V t, V f) { return _mm256_blendv_ps(f, t, m); }  // m ? t : f
inline V vif(M m, V v) { return _mm256_and_ps(m, v); }  // m ? v : 0
inline V vmask01(M m) { return _mm256_and_ps(m, _mm256_set1_ps(1.f)); }

inline VI viset(int i) { return _mm256_set1_epi32(i); }
inline VI vcvt(V a) { return _mm256_cvtps_epi32(a); }  // round to nearest (a already integral here)
inline V vcvti(VI a) { return _mm256_cvtepi32_ps(a); }
inline VI vasint(V a) { return _mm256_castps_si256(a); }
inline V vasfloat(VI a) { return _mm256_castsi256_ps(a); }
inline VI viadd(VI a, VI b) { return _mm256_add_epi32(a, b); }
inline VI visub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
inline VI viand(VI a, VI b) { return _mm256_and_si256(a, b); }
inline VI vior(VI a, VI b) { return _mm256_or_si256(a, b); }
inline VI vishl23(VI a) { return _mm256_slli_epi32(a, 23); }
inline VI vishr23(VI a) { return _mm256_srli_epi32(a, 23); }
inline VI visra1(VI a) { return _mm256_srai_epi32(a, 1); }

// Horizontal reductions (NaN-free inputs).
inline double vhsum_d(V v) {
  alignas(32) float t[W];
  _mm256_store_ps(t, v);
  double s = 0;
  for (int i = 0; i < W; ++i) s += t[i];
  return s;
}
inline float vhmax(V v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
inline float vhmin(V v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

// ---------------------------------------------------------------------------------------------
// BEGIN PORTABLE (identical text in avx512.cc)

inline V vabs(V x) { return vandnot(vset(-0.f), x); }
inline V vcopysign(V mag, V sgn) { return vor(vandnot(vset(-0.f), mag), vand(vset(-0.f), sgn)); }

// 2^n for integer n in [-126, 127].
inline V vpow2i(VI n) { return vasfloat(vishl23(viadd(n, viset(127)))); }

// exp(x): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, degree-7 minimax polynomial, then the
// result is scaled by 2^n in two steps so overflow/gradual underflow round once. <= 1 ulp.
inline V vexp(V x) {
  x = vmax(vset(-104.f), vmin(vset(88.8f), x));  // keeps NaN (second operand wins)
  V n = vrint(vmul(x, vset(1.44269504088896341f)));
  V r = vfnma(n, vset(0.693359375f), x);
  r = vfnma(n, vset(-2.12194440e-4f), r);
  V p = vset(1.9875691500E-4f);
  p = vfma(p, r, vset(1.3981999507E-3f));
  p = vfma(p, r, vset(8.3334519073E-3f));
  p = vfma(p, r, vset(4.1665795894E-2f));
  p = vfma(p, r, vset(1.6666665459E-1f));
  p = vfma(p, r, vset(5.0000001201E-1f));
  V r2 = vmul(r, r);
  p = vfma(p, r2, r);
  p = vadd(p, vset(1.f));
  VI ni = vcvt(n);
  VI n1 = visra1(ni);
  VI n2 = visub(ni, n1);
  return vmul(vmul(p, vpow2i(n1)), vpow2i(n2));
}

// expm1(x) = 2^n expm1(r) + (2^n - 1), one rounding in the fma; large x goes through exp.
inline V vexpm1(V x) {
  V xc = vmax(vset(-30.f), vmin(vset(80.f), x));
  V n = vrint(vmul(xc, vset(1.44269504088896341f)));
  V r = vfnma(n, vset(0.693359375f), xc);
  r = vfnma(n, vset(-2.12194440e-4f), r);
  V p = vset(1.9875691500E-4f);
  p = vfma(p, r, vset(1.3981999507E-3f));
  p = vfma(p, r, vset(8.3334519073E-3f));
  p = vfma(p, r, vset(4.1665795894E-2f));
  p = vfma(p, r, vset(1.6666665459E-1f));
  p = vfma(p, r, vset(5.0000001201E-1f));
  V em = vfma(p, vmul(r, r), r);  // expm1(r)
  V s = vpow2i(vcvt(n));
  V res = vfma(s, em, vsub(s, vset(1.f)));
  M big = vgt(x, vset(80.f));
  if (many(big)) res = vselect(big, vexp(x), res);
  return res;
}

// Natural log pieces: x = 2^e * (1 + f), f in [sqrt(.5)-1, sqrt(2)-1]; returns f and the polynomial
// part y with log(x) = e ln2 + f + y. Handles denormals (x scaled by 2^23 first).
inline void vlog_parts(V x, V* e_out, V* f_out, V* y_out) {
  M sub = vlt(x, vset(1.17549435e-38f));
  x = vselect(sub, vmul(x, vset(8388608.f)), x);
  VI bits = vasint(x);
  V e = vcvti(visub(vishr23(bits), viset(126)));
  e = vsub(e, vif(sub, vset(23.f)));
  V m = vasfloat(vior(viand(bits, viset(0x007fffff)), viset(0x3f000000)));  // [0.5, 1)
  M small = vlt(m, vset(0.707106781186547524f));
  e = vsub(e, vif(small, vset(1.f)));
  V f = vsub(vadd(m, vif(small, m)), vset(1.f));
  V z = vmul(f, f);
  V p = vset(7.0376836292E-2f);
  p = vfma(p, f, vset(-1.1514610310E-1f));
  p = vfma(p, f, vset(1.1676998740E-1f));
  p = vfma(p, f, vset(-1.2420140846E-1f));
  p = vfma(p, f, vset(1.4249322787E-1f));
  p = vfma(p, f, vset(-1.6668057665E-1f));
  p = vfma(p, f, vset(2.0000714765E-1f));
  p = vfma(p, f, vset(-2.4999993993E-1f));
  p = vfma(p, f, vset(3.3333331174E-1f));
  V y = vmul(vmul(p, f), z);
  y = vfnma(vset(0.5f), z, y);
  *e_out = e;
  *f_out = f;
  *y_out = y;
}

// Special cases shared by the log family: x < 0 or NaN -> NaN, 0 -> -inf, +inf -> +inf.
inline V vlog_fix(V x, V res) {
  res = vselect(veq(x, vset(INFINITY)), vset(INFINITY), res);
  res = vselect(veq(x, vzero()), vset(-INFINITY), res);
  res = vselect(mor(vlt(x, vzero()), visnan(x)), vset(NAN), res);
  return res;
}

inline V vlog(V x) {
  V e, f, y;
  vlog_parts(x, &e, &f, &y);
  // e*ln2 in two pieces (hi part exact for |e| < 2^12).
  V r = vadd(vfma(e, vset(-2.12194440e-4f), y), f);
  r = vfma(e, vset(0.693359375f), r);
  return vlog_fix(x, r);
}

inline V vlog2(V x) {
  V e, f, y;
  vlog_parts(x, &e, &f, &y);
  V l = vadd(f, y);  // log1p(f)
  V r = vfma(l, vset(1.44269502162933349609f), vfma(l, vset(1.925963033500011079e-08f), e));
  return vlog_fix(x, r);
}

inline V vlog10(V x) {
  V e, f, y;
  vlog_parts(x, &e, &f, &y);
  V l = vadd(f, y);
  V lo = vfma(l, vset(7.0359228363e-09f), vmul(e, vset(7.9034151668e-08f)));
  V r = vfma(l, vset(0.434294492f), vfma(e, vset(0.30102992f), lo));
  return vlog_fix(x, r);
}

// log1p(x) = log(u) - ((u - 1) - x) / u with u = 1 + x (corrects the rounding of u).
inline V vlog1p(V x) {
  V u = vadd(x, vset(1.f));
  V l = vlog(u);
  M fin = mand(vgt(u, vzero()), vlt(u, vset(INFINITY)));
  V corr = vdiv(vsub(vsub(u, vset(1.f)), x), u);
  V r = vsub(l, vif(fin, corr));
  return vselect(veq(u, vset(1.f)), x, r);
}

inline V vtanh(V x) {
  V ax = vabs(x);
  V z = vmul(x, x);
  V p = vset(-5.70498872745E-3f);
  p = vfma(p, z, vset(2.06390887954E-2f));
  p = vfma(p, z, vset(-5.37397155531E-2f));
  p = vfma(p, z, vset(1.33314422036E-1f));
  p = vfma(p, z, vset(-3.33332819422E-1f));
  V small = vfma(vmul(p, z), x, x);
  M is_small = vlt(ax, vset(0.625f));
  if (!many(mor(vge(ax, vset(0.625f)), visnan(x)))) return small;
  V e = vexp(vadd(ax, ax));
  V big = vsub(vset(1.f), vdiv(vset(2.f), vadd(e, vset(1.f))));
  big = vcopysign(big, x);
  return vselect(is_small, small, big);
}

// sigmoid(x) = (x >= 0 ? 1 : e) / (1 + e), e = exp(-|x|): no overflow, exact tails.
inline V vsigmoid(V x) {
  V e = vexp(vsub(vzero(), vabs(x)));
  V num = vselect(vge(x, vzero()), vset(1.f), e);
  return vdiv(num, vadd(vset(1.f), e));
}

// erf: |x| < 1 -> x * P(x^2); 1 <= |x| < 4 -> 1 - exp(-x^2) R(1/|x|) with x^2 carried as hi + lo;
// |x| >= 4 -> +-1. P, R: weighted least-squares minimax fits (rel. error 1.2e-9 and 1.5e-8).
inline V verf(V x) {
  V ax = vabs(x);
  V u = vmul(x, x);
  V p = vset(7.853857713779888e-05f);
  p = vfma(p, u, vset(-8.010192522887871e-04f));
  p = vfma(p, u, vset(5.1883275602487705e-03f));
  p = vfma(p, u, vset(-2.6853811869245375e-02f));
  p = vfma(p, u, vset(1.1283585147035105e-01f));
  p = vfma(p, u, vset(-3.7612625824093826e-01f));
  p = vfma(p, u, vset(1.1283791657266902f));
  V small = vmul(x, p);
  M is_small = vlt(ax, vset(1.f));
  if (!many(mor(vge(ax, vset(1.f)), visnan(x)))) return small;
  V xc = vmin(vset(4.f), ax);  // keeps NaN
  V t = vdiv(vset(1.f), xc);
  V s = vmul(vsub(t, vset(0.625f)), vset(2.6666666666666667f));  // [0.25, 1] -> [-1, 1]
  V r = vset(4.504067965e-06f);
  r = vfma(r, s, vset(-2.716604178e-06f));
  r = vfma(r, s, vset(-2.962533270e-05f));
  r = vfma(r, s, vset(1.240842317e-04f));
  r = vfma(r, s, vset(-3.469546524e-04f));
  r = vfma(r, s, vset(4.600147384e-04f));
  r = vfma(r, s, vset(2.307698627e-03f));
  r = vfma(r, s, vset(-2.424285059e-02f));
  r = vfma(r, s, vset(1.433564387e-01f));
  r = vfma(r, s, vset(3.059529892e-01f));
  V hi = vmul(xc, xc);
  V lo = vfma(xc, xc, vsub(vzero(), hi));  // x^2 - hi, exact
  V e = vmul(vexp(vsub(vzero(), hi)), vsub(vset(1.f), lo));
  V big = vfnma(e, r, vset(1.f));
  big = vcopysign(big, x);
  return vselect(is_small, small, big);
}

inline V vround_away(V x) {
  V t = vtrunc(x);
  V d = vabs(vsub(x, t));
  return vselect(vge(d, vset(0.5f)), vadd(t, vcopysign(vset(1.f), x)), t);
}

// Applies op to n floats (y may alias x).
template <class Op>
inline void map1(const float* x, float* y, int64_t n, Op op) {
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a = vload(x + i), b = vload(x + i + W);
    vstore(y + i, op(a));
    vstore(y + i + W, op(b));
  }
  for (; i + W <= n; i += W) vstore(y + i, op(vload(x + i)));
  if (i < n) vstoren(y + i, op(vloadn(x + i, n - i)), n - i);
}

bool unary_f32(int kind, const float* x, float* y, int64_t n) {
  switch (kind) {
    case kNeg: map1(x, y, n, [](V v) { return vxor(v, vset(-0.f)); }); return true;
    case kAbs: map1(x, y, n, [](V v) { return vabs(v); }); return true;
    case kSquare: map1(x, y, n, [](V v) { return vmul(v, v); }); return true;
    case kSqrt: map1(x, y, n, [](V v) { return vsqrt(v); }); return true;
    case kRsqrt: map1(x, y, n, [](V v) { return vdiv(vset(1.f), vsqrt(v)); }); return true;
    case kReciprocal: map1(x, y, n, [](V v) { return vdiv(vset(1.f), v); }); return true;
    case kRelu: map1(x, y, n, [](V v) { return vmax(v, vzero()); }); return true;  // NaN -> 0 as reference
    case kExp: map1(x, y, n, [](V v) { return vexp(v); }); return true;
    case kExpm1: map1(x, y, n, [](V v) { return vexpm1(v); }); return true;
    case kLog: map1(x, y, n, [](V v) { return vlog(v); }); return true;
    case kLog2: map1(x, y, n, [](V v) { return vlog2(v); }); return true;
    case kLog10: map1(x, y, n, [](V v) { return vlog10(v); }); return true;
    case kLog1p: map1(x, y, n, [](V v) { return vlog1p(v); }); return true;
    case kTanh: map1(x, y, n, [](V v) { return vtanh(v); }); return true;
    case kSigmoid: map1(x, y, n, [](V v) { return vsigmoid(v); }); return true;
    case kSoftsign: map1(x, y, n, [](V v) { return vdiv(v, vadd(vset(1.f), vabs(v))); }); return true;
    case kErf: map1(x, y, n, [](V v) { return verf(v); }); return true;
    case kFloor: map1(x, y, n, [](V v) { return vfloor(v); }); return true;
    case kCeil: map1(x, y, n, [](V v) { return vceil(v); }); return true;
    case kTrunc: map1(x, y, n, [](V v) { return vtrunc(v); }); return true;
    case kRound: map1(x, y, n, [](V v) { return vround_away(v); }); return true;
    case kIdentity:
      if (y != x && n > 0) std::memmove(y, x, sizeof(float) * static_cast<size_t>(n));
      return true;
    case kDegrees:  // x * (180/pi) with the constant split in two floats: nearly correctly rounded
      map1(x, y, n, [](V v) { return vfma(v, vset(57.2957763671875f), vmul(v, vset(3.14589482e-6f))); });
      return true;
    case kRadians:
      map1(x, y, n, [](V v) { return vfma(v, vset(0.0174532923847436905f), vmul(v, vset(4.2965318e-10f))); });
      return true;
    default: return false;
  }
}

template <class Op>
inline void map2(const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n, Op op) {
  int64_t i = 0;
  if (sa == 1 && sb == 1) {
    for (; i + 2 * W <= n; i += 2 * W) {
      V r0 = op(vload(a + i), vload(b + i)), r1 = op(vload(a + i + W), vload(b + i + W));
      vstore(y + i, r0);
      vstore(y + i + W, r1);
    }
    for (; i + W <= n; i += W) vstore(y + i, op(vload(a + i), vload(b + i)));
    if (i < n) vstoren(y + i, op(vloadn(a + i, n - i), vloadn(b + i, n - i)), n - i);
  } else if (sa == 1) {  // b broadcast (read once)
    V vb = vset(*b);
    for (; i + 2 * W <= n; i += 2 * W) {
      V r0 = op(vload(a + i), vb), r1 = op(vload(a + i + W), vb);
      vstore(y + i, r0);
      vstore(y + i + W, r1);
    }
    for (; i + W <= n; i += W) vstore(y + i, op(vload(a + i), vb));
    if (i < n) vstoren(y + i, op(vloadn(a + i, n - i), vb), n - i);
  } else {  // a broadcast
    V va = vset(*a);
    for (; i + 2 * W <= n; i += 2 * W) {
      V r0 = op(va, vload(b + i)), r1 = op(va, vload(b + i + W));
      vstore(y + i, r0);
      vstore(y + i + W, r1);
    }
    for (; i + W <= n; i += W) vstore(y + i, op(va, vload(b + i)));
    if (i < n) vstoren(y + i, op(va, vloadn(b + i, n - i)), n - i);
  }
}

bool binary_f32(int kind, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n) {
  if (!((sa == 1 && (sb == 0 || sb == 1)) || (sa == 0 && sb == 1))) return false;
  if (n <= 0) return true;
  switch (kind) {
    case kAdd: map2(a, sa, b, sb, y, n, [](V p, V q) { return vadd(p, q); }); return true;
    case kSub: map2(a, sa, b, sb, y, n, [](V p, V q) { return vsub(p, q); }); return true;
    case kMul: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmul(p, q); }); return true;
    case kDiv: map2(a, sa, b, sb, y, n, [](V p, V q) { return vdiv(p, q); }); return true;
    // max/min: a if a is NaN, else b if b is NaN (vmax returns its second operand on NaN).
    case kMax: map2(a, sa, b, sb, y, n, [](V p, V q) { return vselect(visnan(p), p, vmax(p, q)); }); return true;
    case kMin: map2(a, sa, b, sb, y, n, [](V p, V q) { return vselect(visnan(p), p, vmin(p, q)); }); return true;
    case kEq: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(veq(p, q)); }); return true;
    case kNe: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(vne(p, q)); }); return true;
    case kGt: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(vgt(p, q)); }); return true;
    case kGe: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(vge(p, q)); }); return true;
    case kLt: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(vlt(p, q)); }); return true;
    case kLe: map2(a, sa, b, sb, y, n, [](V p, V q) { return vmask01(vle(p, q)); }); return true;
    default: return false;
  }
}

// ---- reductions ----

constexpr int64_t kSumBlock = 4096;  // floats summed in float lanes before flushing to double

double sum_row(const float* x, int64_t n) {
  double total = 0;
  int64_t i = 0;
  while (i < n) {
    int64_t end = n - i > kSumBlock ? i + kSumBlock : n;
    V s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    for (; i + 4 * W <= end; i += 4 * W) {
      s0 = vadd(s0, vload(x + i));
      s1 = vadd(s1, vload(x + i + W));
      s2 = vadd(s2, vload(x + i + 2 * W));
      s3 = vadd(s3, vload(x + i + 3 * W));
    }
    for (; i + W <= end; i += W) s0 = vadd(s0, vload(x + i));
    if (i < end) {
      s1 = vadd(s1, vloadn(x + i, end - i));
      i = end;
    }
    total += vhsum_d(vadd(vadd(s0, s1), vadd(s2, s3)));
  }
  return total;
}

// Max (is_max) or min of a contiguous row, n >= 1; the first NaN wins, as the reference.
float minmax_row(const float* x, int64_t n, bool is_max) {
  V init = vset(is_max ? -INFINITY : INFINITY);
  V a0 = init, a1 = init, a2 = init, a3 = init;
  M nan = mnone();
  int64_t i = 0;
  if (is_max) {
    for (; i + 4 * W <= n; i += 4 * W) {
      V v0 = vload(x + i), v1 = vload(x + i + W), v2 = vload(x + i + 2 * W), v3 = vload(x + i + 3 * W);
      nan = mor(nan, mor(mor(visnan(v0), visnan(v1)), mor(visnan(v2), visnan(v3))));
      a0 = vmax(a0, v0);
      a1 = vmax(a1, v1);
      a2 = vmax(a2, v2);
      a3 = vmax(a3, v3);
    }
    for (; i + W <= n; i += W) {
      V v = vload(x + i);
      nan = mor(nan, visnan(v));
      a0 = vmax(a0, v);
    }
    if (i < n) {
      alignas(64) float t[W];  // masked-off lanes read as 0: replace them with the identity
      vstore(t, vloadn(x + i, n - i));
      for (int64_t j = n - i; j < W; ++j) t[j] = -INFINITY;
      V v = vload(t);
      nan = mor(nan, visnan(v));
      a0 = vmax(a0, v);
    }
  } else {
    for (; i + 4 * W <= n; i += 4 * W) {
      V v0 = vload(x + i), v1 = vload(x + i + W), v2 = vload(x + i + 2 * W), v3 = vload(x + i + 3 * W);
      nan = mor(nan, mor(mor(visnan(v0), visnan(v1)), mor(visnan(v2), visnan(v3))));
      a0 = vmin(a0, v0);
      a1 = vmin(a1, v1);
      a2 = vmin(a2, v2);
      a3 = vmin(a3, v3);
    }
    for (; i + W <= n; i += W) {
      V v = vload(x + i);
      nan = mor(nan, visnan(v));
      a0 = vmin(a0, v);
    }
    if (i < n) {
      alignas(64) float t[W];
      vstore(t, vloadn(x + i, n - i));
      for (int64_t j = n - i; j < W; ++j) t[j] = INFINITY;
      V v = vload(t);
      nan = mor(nan, visnan(v));
      a0 = vmin(a0, v);
    }
  }
  if (many(nan))
    for (int64_t j = 0; j < n; ++j)
      if (x[j] != x[j]) return x[j];
  return is_max ? vhmax(vmax(vmax(a0, a1), vmax(a2, a3))) : vhmin(vmin(vmin(a0, a1), vmin(a2, a3)));
}

// Columns [j, j + cnt) (cnt <= W) of an [n, inner] slab reduced over rows.
void reduce_cols(int kind, const float* x, int64_t n, int64_t inner, int64_t cnt, float* y) {
  bool full = cnt == W;
  if (kind == kSum) {
    double acc[W] = {0};
    alignas(64) float t[W];
    int64_t i = 0;
    while (i < n) {
      int64_t end = n - i > 512 ? i + 512 : n;
      V s0 = vzero(), s1 = vzero();
      if (full) {
        for (; i + 2 <= end; i += 2) {
          s0 = vadd(s0, vload(x + i * inner));
          s1 = vadd(s1, vload(x + (i + 1) * inner));
        }
        for (; i < end; ++i) s0 = vadd(s0, vload(x + i * inner));
      } else {
        for (; i < end; ++i) s0 = vadd(s0, vloadn(x + i * inner, cnt));
      }
      vstore(t, vadd(s0, s1));
      for (int l = 0; l < W; ++l) acc[l] += t[l];
    }
    for (int64_t l = 0; l < cnt; ++l) y[l] = static_cast<float>(acc[l]);
    return;
  }
  bool is_max = kind == kMaxR;
  V a = full ? vload(x) : vloadn(x, cnt);
  M nan = visnan(a);
  if (is_max) {
    for (int64_t i = 1; i < n; ++i) {
      V v = full ? vload(x + i * inner) : vloadn(x + i * inner, cnt);
      nan = mor(nan, visnan(v));
      a = vmax(v, a);  // keeps a when v is NaN; NaNs are restored below
    }
  } else {
    for (int64_t i = 1; i < n; ++i) {
      V v = full ? vload(x + i * inner) : vloadn(x + i * inner, cnt);
      nan = mor(nan, visnan(v));
      a = vmin(v, a);
    }
  }
  alignas(64) float t[W];
  vstore(t, a);
  for (int64_t l = 0; l < cnt; ++l) y[l] = t[l];
  if (many(nan))
    for (int64_t l = 0; l < cnt; ++l)
      for (int64_t i = 0; i < n; ++i)
        if (x[i * inner + l] != x[i * inner + l]) {
          y[l] = x[i * inner + l];
          break;
        }
}

bool reduce_f32(int kind, const float* x, int64_t outer, int64_t n, int64_t inner, float* y) {
  if (kind != kSum && kind != kMaxR && kind != kMinR) return false;
  if (n <= 0 && kind != kSum) return false;
  for (int64_t o = 0; o < outer; ++o) {
    const float* xo = x + o * n * inner;
    float* yo = y + o * inner;
    if (inner == 1) {
      yo[0] = kind == kSum ? static_cast<float>(sum_row(xo, n)) : minmax_row(xo, n, kind == kMaxR);
    } else if (n <= 0) {
      for (int64_t j = 0; j < inner; ++j) yo[j] = 0.f;
    } else {
      for (int64_t j = 0; j < inner; j += W) reduce_cols(kind, xo + j, n, inner, inner - j < W ? inner - j : W, yo + j);
    }
  }
  return true;
}

// ---- softmax over contiguous rows ----

bool softmax_f32(const float* x, float* y, int64_t rows, int64_t n, bool log) {
  if (n <= 0) return true;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = y + r * n;
    // Max ignoring NaN (like fmax): vmax(v, acc) keeps acc when v is NaN.
    V mx = vset(-INFINITY);
    int64_t i = 0;
    for (; i + W <= n; i += W) mx = vmax(vload(xr + i), mx);
    float m = vhmax(mx);
    for (; i < n; ++i)
      if (xr[i] > m) m = xr[i];
    V vm = vset(m);
    double s = 0;
    i = 0;
    while (i < n) {
      int64_t end = n - i > kSumBlock ? i + kSumBlock : n;
      V acc0 = vzero(), acc1 = vzero();
      for (; i + 2 * W <= end; i += 2 * W) {
        V e0 = vexp(vsub(vload(xr + i), vm)), e1 = vexp(vsub(vload(xr + i + W), vm));
        acc0 = vadd(acc0, e0);
        acc1 = vadd(acc1, e1);
        if (!log) {
          vstore(yr + i, e0);
          vstore(yr + i + W, e1);
        }
      }
      for (; i + W <= end; i += W) {
        V e = vexp(vsub(vload(xr + i), vm));
        acc0 = vadd(acc0, e);
        if (!log) vstore(yr + i, e);
      }
      if (i < end) {
        int64_t c = end - i;
        alignas(64) float t[W];
        vstore(t, vexp(vsub(vloadn(xr + i, c), vm)));
        for (int64_t j = c; j < W; ++j) t[j] = 0.f;
        V e = vload(t);
        acc1 = vadd(acc1, e);
        if (!log) vstoren(yr + i, e, c);
        i = end;
      }
      s += vhsum_d(vadd(acc0, acc1));
    }
    if (log) {
      V ls = vset(static_cast<float>(std::log(s)));
      map1(xr, yr, n, [&](V v) { return vsub(vsub(v, vm), ls); });
    } else {
      V inv = vset(static_cast<float>(1.0 / s));
      map1(yr, yr, n, [&](V v) { return vmul(v, inv); });
    }
  }
  return true;
}

// END PORTABLE
// ---------------------------------------------------------------------------------------------

// (3) GEMM micro-kernel: 6 x 16 tile in 12 ymm accumulators (BLIS/OpenBLAS Haswell shape).
constexpr int kMR = 6, kNR = 16;

void gemm_micro_f32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int i = 0; i < kMR; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#define NDG_STEP(P)                                                                   \
  {                                                                                   \
    __m256 b0 = _mm256_loadu_ps(b + (P)*16), b1 = _mm256_loadu_ps(b + (P)*16 + 8);    \
    __m256 av = _mm256_broadcast_ss(a + (P)*6 + 0);                                   \
    c00 = _mm256_fmadd_ps(av, b0, c00);                                               \
    c01 = _mm256_fmadd_ps(av, b1, c01);                                               \
    av = _mm256_broadcast_ss(a + (P)*6 + 1);                                          \
    c10 = _mm256_fmadd_ps(av, b0, c10);                                               \
    c11 = _mm256_fmadd_ps(av, b1, c11);                                               \
    av = _mm256_broadcast_ss(a + (P)*6 + 2);                                          \
    c20 = _mm256_fmadd_ps(av, b0, c20);                                               \
    c21 = _mm256_fmadd_ps(av, b1, c21);                                               \
    av = _mm256_broadcast_ss(a + (P)*6 + 3);                                          \
    c30 = _mm256_fmadd_ps(av, b0, c30);                                               \
    c31 = _mm256_fmadd_ps(av, b1, c31);                                               \
    av = _mm256_broadcast_ss(a + (P)*6 + 4);                                          \
    c40 = _mm256_fmadd_ps(av, b0, c40);                                               \
    c41 = _mm256_fmadd_ps(av, b1, c41);                                               \
    av = _mm256_broadcast_ss(a + (P)*6 + 5);                                          \
    c50 = _mm256_fmadd_ps(av, b0, c50);                                               \
    c51 = _mm256_fmadd_ps(av, b1, c51);                                               \
  }
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    NDG_STEP(0) NDG_STEP(1) NDG_STEP(2) NDG_STEP(3)
    a += 4 * 6;
    b += 4 * 16;
  }
  for (; p < k; ++p) {
    NDG_STEP(0)
    a += 6;
    b += 16;
  }
#undef NDG_STEP
#define NDG_ROW(I, X0, X1)                                                                      \
  {                                                                                            \
    float* ci = c + (I)*ldc;                                                                   \
    if (accumulate) {                                                                          \
      X0 = _mm256_add_ps(X0, _mm256_loadu_ps(ci));                                             \
      X1 = _mm256_add_ps(X1, _mm256_loadu_ps(ci + 8));                                         \
    }                                                                                          \
    _mm256_storeu_ps(ci, X0);                                                                  \
    _mm256_storeu_ps(ci + 8, X1);                                                              \
  }
  NDG_ROW(0, c00, c01) NDG_ROW(1, c10, c11) NDG_ROW(2, c20, c21)
  NDG_ROW(3, c30, c31) NDG_ROW(4, c40, c41) NDG_ROW(5, c50, c51)
#undef NDG_ROW
}

}  // namespace

extern const KernelTable kTable = {"avx2", unary_f32, binary_f32, reduce_f32, softmax_f32, kMR, kNR, gemm_micro_f32};

}  // namespace avx2
}  // namespace kernels
}  // namespace ndgrad
