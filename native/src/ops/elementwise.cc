// Elementwise ops: unary functions, broadcasting binary ops (array or number operands), where,
// copy and zeros_like. The unary and binary ops are the rows of defs/unary.def and defs/binary.def;
// this file keeps their ops columns (names, dtype rule, saves, derivative written with ops, so it
// can be recorded and differentiated again) and registers one OpDef per row.
#include <cmath>

#include "../autograd/tape.h"
#include "../kernels/kernels.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

namespace k = kernels;

NDArray mul_s(const NDArray& a, double s) { return scalar_op("multiply", a, s); }
NDArray add_s(const NDArray& a, double s) { return scalar_op("add", a, s); }
NDArray rsub_s(double s, const NDArray& a) { return scalar_op("subtract", a, s, true); }

// ---- unary ----

// Derivative rule: dx from x (input), y (output) and dy.
using UnaryGrad = NDArray (*)(const NDArray& x, const NDArray& y, const NDArray& dy);

struct UnaryRow {
  const char* name;
  const char* aliases;
  int kind;
  bool keeps_int;   // int32/uint8 input keeps its dtype (otherwise: float32 result)
  unsigned save_in, save_out;
  UnaryGrad grad;   // null: no gradient (floor, sign...)
};

// The ops columns of defs/unary.def: dtype rule, what backward saves, the derivative.
#define NDG_KEEPS_INT(e) true
#define NDG_KEEPS_FLOAT false
#define NDG_SAVE_NONE 0, 0
#define NDG_SAVE_X 1, 0
#define NDG_SAVE_Y 0, 1
#define NDG_SAVE_XY 1, 1
#define NDG_UGRAD_GRAD(e) [](const NDArray& x, const NDArray& y, const NDArray& dy) -> NDArray { \
  (void)x, (void)y;                                                                                 \
  return e;                                                                                         \
}
#define NDG_UGRAD_NO_GRAD nullptr
const UnaryRow kUnary[] = {
#define NDG_UNARY(K, name, aliases, dtype, ref, save, grad, ...) \
  {#name, aliases, k::K, NDG_KEEPS_##dtype, NDG_SAVE_##save, NDG_UGRAD_##grad},
#include "../defs/unary.def"
#undef NDG_UNARY
};

const UnaryRow& unary_row(const OpCall& c) { return kUnary[c.op->param]; }

void unary_infer(OpCall& c) {
  const UnaryRow& r = unary_row(c);
  DType t = c.inputs[0].dtype;
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {r.keeps_int ? t : float_result(t)};
}

void unary_forward(OpCall& c) {
  const UnaryRow& r = unary_row(c);
  NDArray x = c.inputs[0];
  NDArray& y = c.outputs[0];
  if (x.dtype != y.dtype) {  // integer input of a float-valued function: compute in float32
    copy_into(x, y);
    x = y;
  }
  k::unary(r.kind, static_cast<int>(y.dtype), x.raw(), y.raw(), y.size());
}

// The fast path's form of unary_forward for a result of the input's dtype (the same kernel call).
bool unary_flat_ok(const OpDef& op, DType t, size_t n, bool scalar) {
  return n == 1 && !scalar && (kUnary[op.param].keeps_int || float_result(t) == t);
}
void unary_flat(const OpDef& op, DType t, const void* const* in, const double*, bool, void* out, int64_t size) {
  k::unary(kUnary[op.param].kind, static_cast<int>(t), in[0], out, size);
}

void unary_backward(GradCall& g) {
  const UnaryRow& r = kUnary[g.op->param];
  g.in_grads[0] = r.grad(g.inputs[0], g.outputs[0], g.out_grad(0));
}

// ---- binary ----

// _mul_grad(dy, a, b) -> (dy * b, dy * a) for same-shape operands: multiply's two gradients in one
// op call. Not differentiable: multiply's backward uses it only when the backward pass is not
// being recorded (createGraph off), so higher orders never meet it.
void mul_grad_infer(OpCall& c) {
  expect_same_dtype(c);
  const Shape& s = c.inputs[0].shape;
  if (c.inputs[1].shape != s || c.inputs[2].shape != s)
    fail(code::SHAPE_MISMATCH, c.name(), ": operands must have one shape, got ", shapes_of(c));
  c.out_shapes = {s, s};
  c.out_dtypes = {c.inputs[0].dtype, c.inputs[0].dtype};
}

void mul_grad_forward(OpCall& c) {
  const int64_t n = c.inputs[0].size(), one = 1;
  const int dt = static_cast<int>(c.inputs[0].dtype);
  const void *dy = c.inputs[0].raw(), *a = c.inputs[1].raw(), *b = c.inputs[2].raw();
  k::binary(k::kMul, dt, 1, &n, dy, &one, b, &one, c.outputs[0].raw());
  k::binary(k::kMul, dt, 1, &n, dy, &one, a, &one, c.outputs[1].raw());
}

const OpDef kMulGrad = OpDef::named("_mul_grad").arity(3).rules(mul_grad_infer, mul_grad_forward);
OpRegistrar r_mul_grad(kMulGrad);
const OpDef& mul_grad_op() { return kMulGrad; }

using BinaryGrad = void (*)(const NDArray& a, const NDArray& b, const NDArray& y, const NDArray& dy, bool need_a,
                            bool need_b, NDArray* da, NDArray* db);

struct BinaryRow {
  const char* name;
  const char* aliases;
  int kind;
  bool float_result;  // integer operands give float32 (divide, hypot)
  unsigned save_in, save_out;
  BinaryGrad grad;  // null: comparison (zero gradient)
};

// The ops columns of defs/binary.def.
#define NDG_FLOATS_SAME false
#define NDG_FLOATS_FLOAT true
#define NDG_SAVE_AB 3, 0
#define NDG_SAVE_ABY 3, 1
#define NDG_BGRAD_GRAD(ea, eb)                                                                      \
  [](const NDArray& a, const NDArray& b, const NDArray& y, const NDArray& dy, bool na, bool nb,     \
     NDArray* da, NDArray* db) {                                                                    \
    (void)a, (void)b, (void)y;                                                                      \
    if (na) *da = ea;                                                                               \
    if (nb) *db = eb;                                                                               \
  }
#define NDG_BGRAD_NO_GRAD nullptr
const BinaryRow kBinary[] = {
#define NDG_BINARY(K, name, aliases, dtype, ref, save, grad, ...) \
  {#name, aliases, k::K, NDG_FLOATS_##dtype, NDG_SAVE_##save, NDG_BGRAD_##grad},
#include "../defs/binary.def"
#undef NDG_BINARY
};

const BinaryRow& binary_row(const OpDef* op) { return kBinary[op->param]; }

// A number operand travels as options {scalar, reverse}: `a op s`, or `s op a` when reverse.
struct ScalarOptions {
  Maybe<double> scalar;
  bool reverse = false;
  NDGRAD_FIELDS(v("scalar", scalar, kArgument), v("reverse", reverse, kArgument))
};

void binary_infer(OpCall& c) {
  const BinaryRow& r = binary_row(c.op);
  if (c.opts<ScalarOptions>().scalar) {
    if (c.inputs.size() != 1) fail(code::BAD_ARGUMENT, c.name(), ": expects one array and one number");
    c.out_shapes = {c.inputs[0].shape};
  } else {
    if (c.inputs.size() != 2) fail(code::BAD_ARGUMENT, c.name(), ": expects 2 operands, got ", c.inputs.size());
    expect_same_dtype(c);
    c.out_shapes = {broadcast_shapes(c.inputs[0].shape, c.inputs[1].shape, c.name())};
  }
  DType t = c.inputs[0].dtype;
  c.out_dtypes = {r.float_result ? float_result(t) : t};
}

// The two flat kernel calls of binary_forward, which the fast path (binary_flat) makes too.
void binary_same_shape(int kind, DType t, const void* a, const void* b, void* y, int64_t n) {
  const int64_t one = 1;
  k::binary(kind, static_cast<int>(t), 1, &n, a, &one, b, &one, y);
}
void binary_number(int kind, DType t, const void* a, double v, bool rev, void* y, int64_t n) {
  // The number operand lives on the stack, converted to the result dtype, with stride 0.
  alignas(8) unsigned char buf[8];
  NDGRAD_DISPATCH_DTYPE(t, T, { *reinterpret_cast<T*>(buf) = from_double<T>(v); });
  const int64_t one = 1, zero1 = 0;
  k::binary(kind, static_cast<int>(t), 1, &n, rev ? buf : a, rev ? &zero1 : &one, rev ? a : buf, rev ? &one : &zero1,
            y);
}

void binary_forward(OpCall& c) {
  const BinaryRow& r = binary_row(c.op);
  NDArray& y = c.outputs[0];
  // Integer operands of a float-valued op (divide, hypot) are converted first.
  NDArray a_conv, b_conv;
  const NDArray* a = &c.inputs[0];
  if (a->dtype != y.dtype) a = &(a_conv = astype(a->plain(), y.dtype));
  const int dt = static_cast<int>(y.dtype);
  const int64_t n = y.size();
  const ScalarOptions& so = c.opts<ScalarOptions>();
  if (so.scalar) return binary_number(r.kind, y.dtype, a->raw(), *so.scalar, so.reverse, y.raw(), n);
  const NDArray* b = &c.inputs[1];
  if (b->dtype != y.dtype) b = &(b_conv = astype(b->plain(), y.dtype));
  if (a->shape == y.shape && b->shape == y.shape)  // same shape: one flat loop
    return binary_same_shape(r.kind, y.dtype, a->raw(), b->raw(), y.raw(), n);
  Shape sa = broadcast_strides(a->shape, y.shape), sb = broadcast_strides(b->shape, y.shape);
  k::binary(r.kind, dt, static_cast<int>(y.ndim()), y.shape.data(), a->raw(), sa.data(), b->raw(), sb.data(),
            y.raw());
}


// The fast path's form of binary_forward for two arrays of one shape and dtype, or one array and
// a number, and a result of that dtype (forward's kernel calls for those cases).
bool binary_flat_ok(const OpDef& op, DType t, size_t n, bool scalar) {
  return n == (scalar ? 1u : 2u) && (!kBinary[op.param].float_result || float_result(t) == t);
}
void binary_flat(const OpDef& op, DType t, const void* const* in, const double* scalar, bool reverse, void* out,
                 int64_t size) {
  const int kind = kBinary[op.param].kind;
  if (scalar) return binary_number(kind, t, in[0], *scalar, reverse, out, size);
  binary_same_shape(kind, t, in[0], in[1], out, size);
}

void binary_backward(GradCall& g) {
  const BinaryRow& r = binary_row(g.op);
  const ScalarOptions& so = g.opts<ScalarOptions>();
  NDArray dy = g.out_grad(0);
  if (so.scalar) {
    double sv = *so.scalar;
    bool rev = so.reverse;
    // Fast paths for arithmetic with a number (the common case in training loops); same formulas
    // as the table rows, without materialising the number as an array.
    switch (r.kind) {
      case k::kAdd: g.in_grads[0] = dy; return;
      case k::kSub: g.in_grads[0] = rev ? neg(dy) : dy; return;
      case k::kMul: g.in_grads[0] = scalar_op("multiply", dy, sv); return;
      case k::kDiv:
        if (!rev) {
          g.in_grads[0] = scalar_op("divide", dy, sv);
          return;
        }
        break;
      default: break;
    }
    NDArray x = g.inputs[0];  // undefined when the rule does not read it
    NDArray s = full(Shape(), g.in_dtypes[0], sv);
    NDArray da, db;
    if (!rev) r.grad(x, s, g.outputs[0], dy, true, false, &da, &db);
    else r.grad(s, x, g.outputs[0], dy, false, true, &da, &db);
    g.in_grads[0] = rev ? db : da;
    if (g.in_grads[0].defined()) g.in_grads[0] = sum_to(g.in_grads[0], g.in_shapes[0]);
    return;
  }
  const NDArray &a = g.inputs[0], &b = g.inputs[1];
  NDArray da, db;
  r.grad(a, b, g.outputs[0], dy, g.need[0], g.need[1], &da, &db);
  if (g.need[0] && da.defined()) g.in_grads[0] = sum_to(da, g.in_shapes[0]);
  if (g.need[1] && db.defined()) g.in_grads[1] = sum_to(db, g.in_shapes[1]);
}

// multiply's fused rule: both products of same-shape operands in one op call (measured: a third
// less backward time per tiny multiply). _mul_grad is not differentiable: the tape uses this rule
// only for a backward pass that is not recorded.
void multiply_backward_fused(GradCall& g) {
  if (!g.opts<ScalarOptions>().scalar && g.need[0] && g.need[1] && g.in_shapes[0] == g.in_shapes[1] &&
      g.out_shapes[0] == g.in_shapes[0]) {
    const NDArray dy = g.out_grad(0);
    ArrayList r = invoke(mul_grad_op(), {&dy, &g.inputs[0], &g.inputs[1]});
    g.in_grads[0] = std::move(r[0]);
    g.in_grads[1] = std::move(r[1]);
    return;
  }
  binary_backward(g);
}

// Fused backward rules by kernel kind (see OpDef::backward_fused).
struct FusedBackward {
  int kind;
  void (*rule)(GradCall&);
};
const FusedBackward kFusedBackward[] = {{k::kMul, multiply_backward_fused}};

// ---- where, copy, zeros_like ----

void where_infer(OpCall& c) {
  const NDArray &cond = c.inputs[0], &x = c.inputs[1], &y = c.inputs[2];
  if (x.dtype != y.dtype)
    fail(code::DTYPE_MISMATCH, "where: x ", dtype_name(x.dtype), " and y ", dtype_name(y.dtype), " differ");
  Shape s = broadcast_shapes(x.shape, y.shape, "where");
  s = broadcast_shapes(cond.shape, s, "where");
  c.out_shapes = {s};
  c.out_dtypes = {x.dtype};
}

void where_forward(OpCall& c) {
  NDArray& out = c.outputs[0];
  NDArray cond = c.inputs[0].dtype == DType::Float64 ? c.inputs[0] : astype(c.inputs[0].plain(), DType::Float64);
  NDArray x = astype(c.inputs[1].plain(), DType::Float64), y = astype(c.inputs[2].plain(), DType::Float64);
  Shape sc = broadcast_strides(cond.shape, out.shape), sx = broadcast_strides(x.shape, out.shape),
        sy = broadcast_strides(y.shape, out.shape);
  Shape cs = contiguous_strides(out.shape);
  int64_t n = out.size();
  const double *pc = cond.data<double>(), *px = x.data<double>(), *py = y.data<double>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = i, oc = 0, ox = 0, oy = 0;
    for (size_t d = 0; d < out.ndim(); ++d) {
      int64_t idx = r / cs[d];
      r %= cs[d];
      oc += idx * sc[d];
      ox += idx * sx[d];
      oy += idx * sy[d];
    }
    write_scalar(out, i, pc[oc] != 0 ? px[ox] : py[oy]);
  }
}

void where_backward(GradCall& g) {
  NDArray dy = g.out_grad(0);
  NDArray cond = g.inputs[0];
  NDArray z = zeros_like(dy);
  if (g.need[1]) g.in_grads[1] = sum_to(where(cond, dy, z), g.in_shapes[1]);
  if (g.need[2]) g.in_grads[2] = sum_to(where(cond, z, dy), g.in_shapes[2]);
}

void same_infer(OpCall& c) {
  c.out_shapes = {c.inputs[0].shape};
  c.out_dtypes = {c.inputs[0].dtype};
}
void copy_forward(OpCall& c) { copy_into(c.inputs[0], c.outputs[0]); }
void copy_backward(GradCall& g) { g.in_grads[0] = g.out_grad(0); }
void zeros_forward(OpCall& c) { fill(c.outputs[0], 0.0); }

const OpDef kWhere = OpDef::named("where").arity(3).rules(where_infer, where_forward, where_backward).saves(1);
const OpDef kCopy = OpDef::named("copy").alias("identity _copy")
                        .rules(same_infer, copy_forward, copy_backward).with_flags(kAliasSafe);
const OpDef kZerosLike = OpDef::named("zeros_like").alias("zerosLike").rules(same_infer, zeros_forward)
                             .with_flags(kNoGrad | kAliasSafe);
OpRegistrar r_where(kWhere), r_copy(kCopy), r_zeros(kZerosLike);

constexpr int kNumUnary = sizeof(kUnary) / sizeof(kUnary[0]);
constexpr int kNumBinary = sizeof(kBinary) / sizeof(kBinary[0]);
OpDef g_unary_defs[kNumUnary];
OpDef g_binary_defs[kNumBinary];

struct RegisterTables {
  RegisterTables() {
    for (int i = 0; i < kNumUnary; ++i) {
      const UnaryRow& r = kUnary[i];
      g_unary_defs[i] = OpDef::named(r.name).alias(r.aliases).of_kind("unary")
                            .rules(unary_infer, unary_forward, r.grad ? unary_backward : nullptr)
                            .saves(r.save_in, r.save_out).with_flags((r.grad ? 0u : unsigned(kNoGrad)) | kAliasSafe)
                            .row(i).flat_kernel(unary_flat_ok, unary_flat);
      register_op(g_unary_defs[i]);
    }
    for (int i = 0; i < kNumBinary; ++i) {
      const BinaryRow& r = kBinary[i];
      g_binary_defs[i] = OpDef::named(r.name).alias(r.aliases).of_kind("binary").arity(-1)
                             .rules(binary_infer, binary_forward, r.grad ? binary_backward : nullptr)
                             .saves(r.save_in, r.save_out).with_flags((r.grad ? 0u : unsigned(kNoGrad)) | kAliasSafe)
                             .row(i).with_options<ScalarOptions>().flat_kernel(binary_flat_ok, binary_flat);
      for (const FusedBackward& f : kFusedBackward)
        if (f.kind == r.kind) g_binary_defs[i] = g_binary_defs[i].fused_backward(f.rule);
      register_op(g_binary_defs[i]);
    }
  }
} g_register_tables;

}  // namespace

NDArray unary(const char* name, const NDArray& x) { return invoke1(op_ref(name), {&x}); }
NDArray binary(const char* name, const NDArray& a, const NDArray& b) {
  const OpDef& op = op_ref(name);
  return invoke1(op, {&a, &b});
}

namespace {
// The arithmetic ops backward rules call most, looked up once.
struct Arithmetic {
  const OpDef &add = op_ref("add"), &sub = op_ref("subtract"), &mul = op_ref("multiply"), &div = op_ref("divide");
};
const Arithmetic& arithmetic() {
  static const Arithmetic ops;
  return ops;
}
}  // namespace
NDArray add(const NDArray& a, const NDArray& b) { return invoke1(arithmetic().add, {&a, &b}); }
NDArray sub(const NDArray& a, const NDArray& b) { return invoke1(arithmetic().sub, {&a, &b}); }
NDArray mul(const NDArray& a, const NDArray& b) { return invoke1(arithmetic().mul, {&a, &b}); }
NDArray div(const NDArray& a, const NDArray& b) { return invoke1(arithmetic().div, {&a, &b}); }
NDArray neg(const NDArray& a) { return unary("negative", a); }
NDArray copy(const NDArray& a) { return invoke1(kCopy, {&a}); }
NDArray zeros_like(const NDArray& a) { return invoke1(kZerosLike, {&a}); }
NDArray where(const NDArray& cond, const NDArray& x, const NDArray& y) { return invoke1(kWhere, {&cond, &x, &y}); }

NDArray scalar_op(const char* name, const NDArray& a, double s, bool reverse) {
  ScalarOptions o;
  o.scalar = s;
  o.reverse = reverse;
  return invoke1(op_ref(name), {&a}, o);
}

void add_into(const NDArray& buf, const NDArray& g) {
  autograd::RecordingPaused paused;
  NDArray b = buf.plain(), gp = g.plain();
  invoke(arithmetic().add, {&b, &gp}, Options(), &buf);
}

void assign(const NDArray& buf, const NDArray& g) {
  autograd::RecordingPaused paused;
  NDArray gp = g.plain();
  invoke(kCopy, {&gp}, Options(), &buf);
}

void zero_fill(const NDArray& buf) {
  autograd::RecordingPaused paused;
  NDArray b = buf.plain();
  invoke(kZerosLike, {&b}, Options(), &buf);
}

NDArray keep_connected(const NDArray& g, const NDArray& x) {
  if (!autograd::is_recording() || !autograd::in_graph(x)) return g;
  return add(g, zeros_like(x));
}

}  // namespace ops
}  // namespace ndgrad
