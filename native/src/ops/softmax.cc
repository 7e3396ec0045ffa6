// softmax, log_softmax (axis) and softmax_cross_entropy (summed over the batch, class-index labels).
// Backward rules are written with ops on the saved output / input, so every order works.
#include <cmath>

#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

struct SoftmaxOptions {
  int64_t axis = -1;
  NDGRAD_FIELDS(v("axis", axis))
};

int sm_axis(const char* op, const SoftmaxOptions& o, const Shape& s) {
  if (s.empty()) fail(code::BAD_AXIS, op, ": needs at least one axis, got a 0-d array");
  return normalize_axis(o.axis, s.size(), op, s);
}

void sm_infer(OpCall& c) {
  sm_axis(c.name(), c.opts<SoftmaxOptions>(), c.inputs[0].shape);
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {float_result(c.inputs[0].dtype)};
}

void run_softmax(const NDArray& x0, int a, const NDArray& y, bool log) {
  NDArray x = x0.dtype == y.dtype ? x0 : astype(x0.plain(), y.dtype);
  int64_t outer = 1, inner = 1, n = x.shape[a];
  for (int i = 0; i < a; ++i) outer *= x.shape[i];
  for (size_t i = a + 1; i < x.ndim(); ++i) inner *= x.shape[i];
  if (x.size() == 0) return;
  kernels::softmax(static_cast<int>(y.dtype), x.raw(), y.raw(), outer, n, inner, log);
}

void sm_forward(OpCall& c) {
  run_softmax(c.inputs[0], sm_axis(c.name(), c.opts<SoftmaxOptions>(), c.inputs[0].shape), c.outputs[0], c.op->param == 1);
}

// softmax: dx = y * (dy - sum(dy * y)); log_softmax: dx = dy - exp(y) * sum(dy).
void sm_backward(GradCall& g) {
  int a = sm_axis(g.name(), g.opts<SoftmaxOptions>(), g.in_shapes[0]);
  NDArray y = g.outputs[0], dy = g.out_grad(0);
  // Empty x: its (empty) gradient is dy; the sums below would be as large as the other axes.
  if (numel(g.in_shapes[0]) == 0) {
    g.in_grads[0] = dy;
    return;
  }
  if (g.op->param == 0) g.in_grads[0] = mul(y, sub(dy, sum(mul(dy, y), {a}, true)));
  else g.in_grads[0] = sub(dy, mul(unary("exp", y), sum(dy, {a}, true)));
}

// ---- softmax_cross_entropy(x (N, C), label (N,)) -> 0-d ----

std::vector<int64_t> read_labels(const char* op, const NDArray& x, const NDArray& label) {
  int64_t n = x.shape[1];
  std::vector<int64_t> r(static_cast<size_t>(label.size()));
  NDGRAD_DISPATCH_DTYPE(label.dtype, T, {
    const T* p = label.data<T>();
    for (int64_t i = 0; i < label.size(); ++i) {
      double v = static_cast<double>(p[i]);
      if (!(std::floor(v) == v)) fail(code::BAD_ARGUMENT, op, ": label ", v, " at position ", i, " is not an integer");
      if (v < 0 || v >= static_cast<double>(n))
        fail(code::OUT_OF_RANGE, op, ": label ", v, " at position ", i, " is out of range for ", n, " classes (data ",
             shape_str(x.shape), ")");
      r[i] = static_cast<int64_t>(v);
    }
  });
  return r;
}

void sce_infer(OpCall& c) {
  const NDArray &x = c.inputs[0], &label = c.inputs[1];
  if (x.ndim() != 2)
    fail(code::SHAPE_MISMATCH, c.name(), ": data must be 2-D (batch, classes), got ", shape_str(x.shape));
  if (label.ndim() != 1 || label.shape[0] != x.shape[0])
    fail(code::SHAPE_MISMATCH, c.name(), ": label ", shape_str(label.shape), " must be 1-D with one entry per row of data ",
         shape_str(x.shape));
  expect_float(c, 0);  // labels are checked by forward (data-dependent)
  c.out_shapes = {Shape()};
  c.out_dtypes = {x.dtype};
}

void sce_forward(OpCall& c) {
  const NDArray &x = c.inputs[0], &label = c.inputs[1];
  std::vector<int64_t> lab = read_labels(c.name(), x, label);
  int64_t rows = x.shape[0], n = x.shape[1];
  NDArray lp = empty(x.shape, x.dtype);
  if (x.size() > 0) kernels::softmax(static_cast<int>(x.dtype), x.raw(), lp.raw(), rows, n, 1, true);
  double total = 0;
  NDGRAD_DISPATCH_FLOAT(x.dtype, T, {
    const T* p = lp.data<T>();
    for (int64_t i = 0; i < rows; ++i) total -= static_cast<double>(p[i * n + lab[i]]);
  });
  write_scalar(c.outputs[0], 0, total);
}

void sce_backward(GradCall& g) {
  if (!g.need[0]) return;
  const NDArray &x = g.inputs[0], &label = g.inputs[1];
  NDArray oh = one_hot(label, g.in_shapes[0][1], g.in_dtypes[0]);
  g.in_grads[0] = mul(sub(softmax(x, 1), oh), g.out_grad(0));
}

const OpDef kSoftmax =
    OpDef::named("softmax").rules(sm_infer, sm_forward, sm_backward).saves(0, 1).with_options<SoftmaxOptions>();
const OpDef kLogSoftmax = OpDef::named("log_softmax").alias("logSoftmax").rules(sm_infer, sm_forward, sm_backward)
                              .saves(0, 1).row(1).with_options<SoftmaxOptions>();
const OpDef kSce = OpDef::named("softmax_cross_entropy").alias("softmaxCrossEntropy").arity(2)
                       .rules(sce_infer, sce_forward, sce_backward).saves(3);
OpRegistrar r1(kSoftmax), r2(kLogSoftmax), r3(kSce);

}  // namespace

NDArray softmax(const NDArray& x, int axis) { return invoke1(kSoftmax, {&x}, SoftmaxOptions{axis}); }
NDArray log_softmax(const NDArray& x, int axis) { return invoke1(kLogSoftmax, {&x}, SoftmaxOptions{axis}); }

}  // namespace ops
}  // namespace ndgrad
