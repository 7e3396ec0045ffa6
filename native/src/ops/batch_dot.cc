// batch_dot (MXNet): a (B..., M, K) x b (B..., K, N) -> (B..., M, N), one packed GEMM per batch;
// transposeA / transposeB swap the last two axes of an operand. Backward is batch_dot again, so
// mixed second order works.
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

struct BDims {
  int64_t batch, m, k, n;
  Shape out;
};

BDims bdims(const char* op, const NDArray& a, const NDArray& b, bool ta, bool tb) {
  if (a.ndim() < 3 || a.ndim() != b.ndim())
    fail(code::SHAPE_MISMATCH, op, ": operands must have the same rank >= 3, got ", shape_str(a.shape), " and ",
         shape_str(b.shape));
  size_t r = a.ndim();
  BDims d;
  d.batch = 1;
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

void bd_infer(OpCall& c) {
  expect_same_dtype(c);
  expect_float(c, 0);
  bool ta = c.opts<ProductOptions>().transpose_a, tb = c.opts<ProductOptions>().transpose_b;
  c.out_shapes = {bdims(c.name(), c.inputs[0], c.inputs[1], ta, tb).out};
  c.out_dtypes = {c.inputs[0].dtype};
}

void bd_forward(OpCall& c) {
  const NDArray &a = c.inputs[0], &b = c.inputs[1];
  bool ta = c.opts<ProductOptions>().transpose_a, tb = c.opts<ProductOptions>().transpose_b;
  BDims d = bdims(c.name(), a, b, ta, tb);
  NDArray& y = c.outputs[0];
  size_t es = dtype_size(y.dtype);
  int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
  for (int64_t i = 0; i < d.batch; ++i)
    kernels::gemm(static_cast<int>(y.dtype), ta, tb, d.m, d.n, d.k, static_cast<const char*>(a.raw()) + i * d.m * d.k * es,
                  lda, static_cast<const char*>(b.raw()) + i * d.k * d.n * es, ldb,
                  static_cast<char*>(y.raw()) + i * d.m * d.n * es, d.n, false);
}

// With op(A) op(B) = Y: d op(A) = dY op(B)^T, d op(B) = op(A)^T dY, transposes folded into flags.
void bd_backward(GradCall& g) {
  bool ta = g.opts<ProductOptions>().transpose_a, tb = g.opts<ProductOptions>().transpose_b;
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  NDArray dy = g.out_grad(0);
  if (g.need[0]) g.in_grads[0] = ta ? batch_dot(b, dy, tb, true) : batch_dot(dy, b, false, !tb);
  if (g.need[1]) g.in_grads[1] = tb ? batch_dot(dy, a, true, ta) : batch_dot(a, dy, !ta, false);
}

const OpDef kBatchDot = OpDef::named("batch_dot").alias("batchDot").arity(2).rules(bd_infer, bd_forward, bd_backward).saves(3).with_flags(kScratch)
    .with_options<ProductOptions>();
OpRegistrar r_bd(kBatchDot);

}  // namespace

NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return invoke1(kBatchDot, {&a, &b}, ProductOptions{transpose_a, transpose_b});
}

}  // namespace ops
}  // namespace ndgrad
