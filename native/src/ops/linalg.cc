// Products through the packed GEMM: dot (MXNet: contracts the last axis of a with the first of b;
// transposes for 2-D operands) and batch_dot (a (B..., M, K) x b (B..., K, N) -> (B..., M, N), one
// GEMM per batch). transposeA / transposeB swap an operand's last two axes; each backward is the
// same product again, so mixed second order works. bfloat16 operands go to the bfloat16 GEMM
// (float32 sums, rounded once), so their gradients' products do too.
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

// Which operand is used transposed.
struct ProductOptions {
  bool transpose_a = false, transpose_b = false;
  NDGRAD_FIELDS(v("transpose_a", transpose_a), v("transpose_b", transpose_b))
};

// The product as `batch` GEMMs of (m, k) x (k, n); dot is one.
struct Dims {
  int64_t batch = 1, m, k, n;
  Shape out;
};

Dims dot_dims(const char* op, const NDArray& a, const NDArray& b, bool ta, bool tb) {
  if ((ta && a.ndim() != 2) || (tb && b.ndim() != 2))
    fail(code::BAD_ARGUMENT, op, ": transposeA/transposeB apply to 2-D operands only, got ", shape_str(a.shape),
         " and ", shape_str(b.shape));
  if (a.ndim() == 0 || b.ndim() == 0)
    fail(code::SHAPE_MISMATCH, op, ": operands must have at least one dimension, got ", shape_str(a.shape), " and ",
         shape_str(b.shape));
  Dims d;
  int64_t ka = ta ? a.shape[0] : a.shape.back();
  int64_t kb = tb ? b.shape[1] : b.shape[0];
  if (ka != kb)
    fail(code::SHAPE_MISMATCH, op, ": shapes ", shape_str(a.shape), (ta ? "^T" : ""), " and ", shape_str(b.shape),
         (tb ? "^T" : ""), " are not aligned (", ka, " vs ", kb, ")");
  d.k = ka;
  d.m = numel(a.shape) / (ka == 0 ? 1 : ka);
  if (ka == 0) {
    d.m = 1;
    for (size_t i = 0; i + 1 < a.ndim(); ++i) d.m = mul_dims(d.m, a.shape[i]);  // saturates (empty a only)
    if (ta) d.m = a.shape[1];
  }
  d.n = 1;
  if (tb) d.n = b.shape[0];
  else
    for (size_t i = 1; i < b.ndim(); ++i) d.n *= b.shape[i];
  if (ta) d.out.push_back(a.shape[1]);
  else
    for (size_t i = 0; i + 1 < a.ndim(); ++i) d.out.push_back(a.shape[i]);
  if (tb) d.out.push_back(b.shape[0]);
  else
    for (size_t i = 1; i < b.ndim(); ++i) d.out.push_back(b.shape[i]);
  return d;
}

Dims batch_dims(const char* op, const NDArray& a, const NDArray& b, bool ta, bool tb) {
  if (a.ndim() < 3 || a.ndim() != b.ndim())
    fail(code::SHAPE_MISMATCH, op, ": operands must have the same rank >= 3, got ", shape_str(a.shape), " and ",
         shape_str(b.shape));
  size_t r = a.ndim();
  Dims d;
  for (size_t i = 0; i + 2 < r; ++i) {
    if (a.shape[i] != b.shape[i])
      fail(code::SHAPE_MISMATCH, op, ": batch dimensions differ in ", shape_str(a.shape), " and ", shape_str(b.shape));
    d.batch = mul_dims(d.batch, a.shape[i]);  // saturates (empty arrays only)
    d.out.push_back(a.shape[i]);
  }
  int64_t a0 = a.shape[r - 2], a1 = a.shape[r - 1], b0 = b.shape[r - 2], b1 = b.shape[r - 1];
  d.m = ta ? a1 : a0;
  d.k = ta ? a0 : a1;
  int64_t kb = tb ? b1 : b0;
  d.n = tb ? b0 : b1;
  if (d.k != kb)
    fail(code::SHAPE_MISMATCH, op, ": shapes ", shape_str(a.shape), (ta ? "^T" : ""), " and ", shape_str(b.shape),
         (tb ? "^T" : ""), " are not aligned (", d.k, " vs ", kb, ")");
  d.out.push_back(d.m);
  d.out.push_back(d.n);
  return d;
}

Dims dims_of(const OpCall& c) {
  const ProductOptions& o = c.opts<ProductOptions>();
  const NDArray &a = c.inputs[0], &b = c.inputs[1];
  return c.op->param == 1 ? batch_dims(c.name(), a, b, o.transpose_a, o.transpose_b)
                          : dot_dims(c.name(), a, b, o.transpose_a, o.transpose_b);
}

void product_infer(OpCall& c) {
  expect_same_dtype(c);
  expect_float(c, 0);
  c.out_shapes = {dims_of(c).out};
  c.out_dtypes = {c.inputs[0].dtype};
}

void product_forward(OpCall& c) {
  const NDArray &a = c.inputs[0], &b = c.inputs[1];
  bool ta = c.opts<ProductOptions>().transpose_a, tb = c.opts<ProductOptions>().transpose_b;
  Dims d = dims_of(c);
  NDArray& y = c.outputs[0];
  size_t es = dtype_size(y.dtype);
  int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
  if (y.dtype == DType::BFloat16) {
    NDArray sums = empty(Shape{d.m, d.n}, DType::Float32);
    for (int64_t i = 0; i < d.batch; ++i)  // rounded into y by the GEMM, part by part
      kernels::gemm_bf16(ta, tb, d.m, d.n, d.k, static_cast<const uint16_t*>(a.raw()) + i * d.m * d.k, lda,
                         static_cast<const uint16_t*>(b.raw()) + i * d.k * d.n, ldb, sums.data<float>(), d.n, false,
                         static_cast<uint16_t*>(y.raw()) + i * d.m * d.n);
    return;
  }
  for (int64_t i = 0; i < d.batch; ++i)
    kernels::gemm(static_cast<int>(y.dtype), ta, tb, d.m, d.n, d.k, static_cast<const char*>(a.raw()) + i * d.m * d.k * es,
                  lda, static_cast<const char*>(b.raw()) + i * d.k * d.n * es, ldb,
                  static_cast<char*>(y.raw()) + i * d.m * d.n * es, d.n, false);
}

// Gradients as 2-D products: with A (m,k) and B (k,n) views, dA = dY B^T and dB = A^T dY, with the
// transposes folded into the flags so no copy is made.
void dot_backward(GradCall& g) {
  bool ta = g.opts<ProductOptions>().transpose_a, tb = g.opts<ProductOptions>().transpose_b;
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  Dims d = dot_dims(g.name(), a, b, ta, tb);
  NDArray dy = reshape(g.out_grad(0), Shape{d.m, d.n});
  NDArray a2 = reshape(a, ta ? Shape{d.k, d.m} : Shape{d.m, d.k});
  NDArray b2 = reshape(b, tb ? Shape{d.n, d.k} : Shape{d.k, d.n});
  if (g.need[0]) {
    NDArray da = ta ? dot(b2, dy, tb, true) : dot(dy, b2, false, !tb);
    g.in_grads[0] = reshape(da, g.in_shapes[0]);
  }
  if (g.need[1]) {
    NDArray db = tb ? dot(dy, a2, true, ta) : dot(a2, dy, !ta, false);
    g.in_grads[1] = reshape(db, g.in_shapes[1]);
  }
}

// With op(A) op(B) = Y: d op(A) = dY op(B)^T, d op(B) = op(A)^T dY, transposes folded into flags.
void bd_backward(GradCall& g) {
  bool ta = g.opts<ProductOptions>().transpose_a, tb = g.opts<ProductOptions>().transpose_b;
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  NDArray dy = g.out_grad(0);
  if (g.need[0]) g.in_grads[0] = ta ? batch_dot(b, dy, tb, true) : batch_dot(dy, b, false, !tb);
  if (g.need[1]) g.in_grads[1] = tb ? batch_dot(dy, a, true, ta) : batch_dot(a, dy, !ta, false);
}

constexpr OpDef product(const char* name) {
  return OpDef::named(name).arity(2).saves(3).with_flags(kScratch | kBF16Native).with_options<ProductOptions>();
}
const OpDef kDot = product("dot").rules(product_infer, product_forward, dot_backward);
const OpDef kBatchDot =
    product("batch_dot").alias("batchDot").row(1).rules(product_infer, product_forward, bd_backward);
OpRegistrar r_dot(kDot), r_bd(kBatchDot);

}  // namespace

NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return invoke1(kDot, {&a, &b}, ProductOptions{transpose_a, transpose_b});
}
NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return invoke1(kBatchDot, {&a, &b}, ProductOptions{transpose_a, transpose_b});
}

}  // namespace ops
}  // namespace ndgrad
