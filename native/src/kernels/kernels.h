// The math floor: loops over raw pointers. Kernels know no NDArray, no autograd and no N-API.
//
// Each ISA's hot float32 kernels live in their own translation unit and namespace (scalar.cc,
// avx2.cc, avx512.cc, neon.cc) and fill one KernelTable; the table is chosen once at load
// (dispatch.cc). Everything else (float64, integer dtypes, strided drivers) is baseline code in
// generic.cc / gemm.cc, which calls the table for float32 inner loops.
#pragma once
#include <cstdint>

namespace ndgrad {
namespace kernels {

// Elementwise unary and binary functions, one per row of defs/unary.def and defs/binary.def
// (comparisons give 0/1 in the operands' dtype). Every translation unit is compiled from that one
// list, so the order is not an ABI; SIMD fast paths are keyed by these constants.
enum UnaryKind : int {
#define NDG_UNARY(kind, ...) kind,
#include "../defs/unary.def"
#undef NDG_UNARY
  kIdentity,  // a plain copy (no op of its own: reductions over nothing use it)
  kUnaryCount
};

enum BinaryKind : int {
#define NDG_BINARY(kind, ...) kind,
#include "../defs/binary.def"
#undef NDG_BINARY
  kBinaryCount
};

// The op's name of each kind, for messages and tests ("identity" for kIdentity).
const char* unary_name(int kind);
const char* binary_name(int kind);

enum ReduceKind : int { kSum, kProd, kMaxR, kMinR, kReduceCount };

// One image of a direct 2-D convolution with stride 1 and no dilation (conv_code.inc): x is
// (C, H, xw) with its rows already padded left and right by the caller (xw = OW + kw - 1); rows
// outside [0, H) read as zero, so x row r feeds output row oh through tap i when r = oh + i - pt.
struct Conv2dShape {
  int64_t C, H, xw, pt;  // x
  int64_t F, kh, kw;     // w: (F, C, kh, kw)
  int64_t OH, OW;        // y: (F, OH, OW)
};
// The direct kernels may read (never use) up to this many floats past the end of x.
constexpr int64_t kConvReadSlack = 16;

// One image of a direct 2-D convolution on blocked channels (conv_blocked.inc), strides (1 or 2 across
// a row) and no dilation: x is (C, xh, xw), padded on every side by the caller; y (F, OH, OW) is
// y[f, oh, ow] = bias[f] + sum_{c,i,j} w[f, c, i, j] * x[c, oh*sh + i, ow*sw + j]. The weights are
// blocked by `block` (the table's conv_block) filters: wb[((fb*C + c)*kh + i)*kw + j][l] = w[fb*block + l,
// c, i, j], zero past F (fpad() = F rounded up to a whole block), as is a blocked bias.
struct ConvBlockedShape {
  int64_t C, xh, xw, sh, sw;  // x
  int64_t F, kh, kw, block;   // w
  int64_t OH, OW;             // y
  int64_t top, rows;          // x's rows outside [top, top + rows) are zero: the forward skips them
  bool relu = false;          // the forward's sums go out as max(sum, 0) (a fused ReLU)
  int64_t fpad() const { return (F + block - 1) / block * block; }
};

// Hot float32 kernels of one ISA. A function returns false when it has no fast path for the
// requested kind; the caller then runs the generic (scalar reference) loop.
struct KernelTable {
  const char* isa;
  // y[i] = f(x[i]), i < n. y may alias x exactly.
  bool (*unary_f32)(int kind, const float* x, float* y, int64_t n);
  // y[i] = a[i*sa] op b[i*sb] with sa, sb in {0, 1}. y may alias a or b exactly.
  bool (*binary_f32)(int kind, const float* a, int64_t sa, const float* b, int64_t sb, float* y, int64_t n);
  // Reduction of x viewed as [outer, n, inner] over the middle axis into y[outer, inner].
  bool (*reduce_f32)(int kind, const float* x, int64_t outer, int64_t n, int64_t inner, float* y);
  // Softmax (log_softmax when `log`) over contiguous rows of length n.
  bool (*softmax_f32)(const float* x, float* y, int64_t rows, int64_t n, bool log);
  // GEMM micro-kernel (BLIS design): C[mr x nr] (row stride ldc) = A_panel * B_panel, plus C when
  // `accumulate`. A_panel holds k columns of mr values (a[p*mr + i] = A[i, p]); B_panel holds k rows
  // of nr values (b[p*nr + j] = B[p, j]).
  int gemm_mr, gemm_nr;
  void (*gemm_micro_f32)(int64_t k, const float* a_panel, const float* b_panel, float* c, int64_t ldc,
                         bool accumulate);
  // Matrix-vector products (one-row GEMMs: a batch-1 FullyConnected): *out = sum a[i]*b[i];
  // y[i] += alpha * x[i]. Both over contiguous n.
  bool (*dot_f32)(const float* a, const float* b, int64_t n, float* out);
  bool (*axpy_f32)(float alpha, const float* x, float* y, int64_t n);
  // GEMM packing of a transposed operand: dst[p * dst_stride + j] = src[j * ld + p], j < rows, p < cols.
  bool (*transpose_pack_f32)(const float* src, int64_t ld, int rows, int64_t cols, float* dst,
                             int64_t dst_stride);
  // Direct convolution of one image (see Conv2dShape): y[f, oh, ow] = sum_{c,i,j} w[f, c, i, j] *
  // x[c, oh + i - pt, ow + j]. False when the ISA has no such kernel.
  bool (*conv2d_f32)(const Conv2dShape& s, const float* x, const float* w, float* y);
  // Its weight gradient over nimg images (image n at x + n * x_img, dy + n * dy_img), added into
  // dw (F, C, kh, kw): dw[f, c, i, j] += sum_{n,oh,ow} dy[n, f, oh, ow] * x[n, c, oh + i - pt, ow + j].
  // False when the ISA has no such kernel or kw is too wide for it.
  bool (*conv2d_wgrad_f32)(const Conv2dShape& s, int64_t nimg, const float* x, int64_t x_img, const float* dy,
                           int64_t dy_img, float* dw);
  // Blocked direct convolution (see ConvBlockedShape); conv_block is its block (0: no such kernels).
  // Forward: y's filters of blocks [fb0, fb1), bias blocked or null. False for a stride it lacks.
  int conv_block;
  bool (*conv2d_blocked_f32)(const ConvBlockedShape& s, const float* x, const float* wb, const float* bias, float* y,
                             int64_t fb0, int64_t fb1);
  // Weight gradient of channels [c0, c1) over nimg images (x at x + n*x_img; dyt at dyt + n*dy_img,
  // (OH*OW, fpad()) pixels by filters, zero past F), added into blocked dwb (the weights' layout):
  // dwb[f, c, i, j] += sum_{n,oh,ow} dyt[n, oh*OW + ow, f] * x[n, c, oh*sh + i, ow*sw + j]. False
  // for a stride or kernel width it lacks.
  bool (*conv2d_blocked_wgrad_f32)(const ConvBlockedShape& s, int64_t nimg, const float* x, int64_t x_img,
                                   const float* dyt, int64_t dy_img, float* dwb, int64_t c0, int64_t c1);
};

// The table in use (chosen once: NDGRAD_ISA=scalar|avx2|avx512|neon forces one).
const KernelTable& table();
// The tables this machine can run, for tests that compare ISAs ("scalar" always first).
int available_isas(const KernelTable** out, int max);
// Selects a table by name for the current process (tests); returns false if unsupported here.
bool select_isa(const char* name);

// ---- Baseline drivers (generic.cc), any dtype (dtype codes as ndgrad::DType) ----

// y[i] = f(x[i]) for dtype codes 0 (f32) and 1 (f64); ints: neg/abs/sign/square/relu/identity.
void unary(int kind, int dtype, const void* x, void* y, int64_t n);
// Broadcasting binary op over an `ndim`-d output of shape `shape`, strides in elements
// (0 on broadcast axes); y is contiguous.
void binary(int kind, int dtype, int ndim, const int64_t* shape, const void* a, const int64_t* a_strides,
            const void* b, const int64_t* b_strides, void* y);
// Reduction over the middle axis of [outer, n, inner] into y[outer, inner].
void reduce(int kind, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, void* y);
// Index of the max/min (first on ties; NaN wins) over the middle axis, written to y in dtype `out_dtype`.
void arg_reduce(bool is_max, int dtype, const void* x, int64_t outer, int64_t n, int64_t inner, int out_dtype,
                void* y);
// Strided copy: y (contiguous, shape) = x viewed with strides (any permutation/broadcast).
void strided_copy(int dtype, int ndim, const int64_t* shape, const void* x, const int64_t* x_strides, void* y);
// Softmax over the middle axis of [outer, n, inner].
void softmax(int dtype, const void* x, void* y, int64_t outer, int64_t n, int64_t inner, bool log);

// ---- GEMM (gemm.cc): C[m,n] = A[m,k] B[k,n] (+ C when accumulate), row-major with leading
// dimensions; trans_a / trans_b read A as [k,m] / B as [n,k]. Multithreaded over the pool.
void gemm(int dtype, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const void* a, int64_t lda,
          const void* b, int64_t ldb, void* c, int64_t ldc, bool accumulate);

// ---- bfloat16 GEMM (gemm_bf16.cc): the same with A and B bfloat16 (raw bits) and C float32,
// accumulated in float32; on vdpbf16ps where the CPU has AVX512_BF16 and the avx512 table is in use.
// `rounded` (row stride ldc): also C rounded to bfloat16, or null.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
               const uint16_t* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, uint16_t* rounded = nullptr);
// Which micro-kernel gemm_bf16 uses now: "avx512_bf16" or "portable".
const char* gemm_bf16_kernel();
// CPUID (and XGETBV) say AVX512_BF16 is usable (dispatch.cc).
bool cpu_has_avx512_bf16();

// ---- bfloat16 blocked convolution (conv_bf16.cc): ConvBlockedShape's forward with bfloat16 x and
// weights (raw bits), float32 sums, on vdpbf16ps. Channels go in pairs (s.C counts pairs; an odd
// count's last pair has a zero channel): xp[((c*xh + r)*xw + col)*2 + h] = x[2c + h, r, col] and
// wb[((((fb*C + c)*kh + i)*kw + j)*block + l)*2 + h] = w[fb*block + l, 2c + h, i, j] with block 16;
// bias (float32) blocked as the float32 kernel's, or null; y float32 (F, OH, OW), filters of blocks
// [fb0, fb1). False where there is no such kernel (no AVX512_BF16, another table forced, a stride
// other than 1 or 2): the caller computes in float32 instead.
bool conv2d_blocked_bf16(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
                         int64_t fb0, int64_t fb1);
// Its weight gradient for channels [c0, c1) (s.C counts channels here) over nimg images, added
// into float32 dwb (conv2d_blocked_wgrad_f32's blocked layout, block 16). Output pixels go in pairs
// along a row (an odd row's last one alone): dyq[n*dy_img + ((oh*OWP + q)*fpad + f)*2 + h] = dY[n,
// f, oh, 2q + h] (OWP = OW/2 rounded up; zero past F and past the row) and xq[n*x_img + ((c*xh + r)
// *xw + col)*2 + h] = x[n, c, r, col + h*sw] (x padded; zero past the row). False as the forward,
// or for kw > 7.
bool conv2d_blocked_wgrad_bf16(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img,
                               const uint16_t* dyq, int64_t dy_img, float* dwb, int64_t c0, int64_t c1);

}  // namespace kernels
}  // namespace ndgrad
