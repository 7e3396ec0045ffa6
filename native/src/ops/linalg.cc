// dot (MXNet: contracts the last axis of a with the first of b; transposes for 2-D operands).
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

struct DotDims {
  int64_t m, k, n;
  Shape out;
};

DotDims dot_dims(const char* op, const NDArray& a, const NDArray& b, bool ta, bool tb) {
  if ((ta && a.ndim() != 2) || (tb && b.ndim() != 2))
    fail(code::BAD_ARGUMENT, op, ": transposeA/transposeB apply to 2-D operands only, got ", shape_str(a.shape),
         " and ", shape_str(b.shape));
  if (a.ndim() == 0 || b.ndim() == 0)
    fail(code::SHAPE_MISMATCH, op, ": operands must have at least one dimension, got ", shape_str(a.shape), " and ",
         shape_str(b.shape));
  DotDims d;
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

void dot_infer(OpCall& c) {
  expect_same_dtype(c);
  for (size_t i = 0; i < 2; ++i) expect_float(c, i);
  bool ta = c.opts<ProductOptions>().transpose_a, tb = c.opts<ProductOptions>().transpose_b;
  DotDims d = dot_dims(c.name(), c.inputs[0], c.inputs[1], ta, tb);
  c.out_shapes = {d.out};
  c.out_dtypes = {c.inputs[0].dtype};
}

void dot_forward(OpCall& c) {
  const NDArray &a = c.inputs[0], &b = c.inputs[1];
  bool ta = c.opts<ProductOptions>().transpose_a, tb = c.opts<ProductOptions>().transpose_b;
  DotDims d = dot_dims(c.name(), a, b, ta, tb);
  NDArray& y = c.outputs[0];
  int64_t lda = ta ? d.m : d.k, ldb = tb ? d.k : d.n;
  kernels::gemm(static_cast<int>(y.dtype), ta, tb, d.m, d.n, d.k, a.raw(), lda, b.raw(), ldb, y.raw(), d.n, false);
}

// Gradients as 2-D products: with A (m,k) and B (k,n) views, dA = dY B^T and dB = A^T dY, with the
// transposes folded into the flags so no copy is made.
void dot_backward(GradCall& g) {
  bool ta = g.opts<ProductOptions>().transpose_a, tb = g.opts<ProductOptions>().transpose_b;
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  DotDims d = dot_dims(g.name(), a, b, ta, tb);
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

const OpDef kDot = OpDef::named("dot").arity(2).rules(dot_infer, dot_forward, dot_backward).saves(3).with_flags(kScratch)
    .with_options<ProductOptions>();
OpRegistrar r_dot(kDot);

}  // namespace

NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b) {
  return invoke1(kDot, {&a, &b}, ProductOptions{transpose_a, transpose_b});
}

}  // namespace ops
}  // namespace ndgrad
