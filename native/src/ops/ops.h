// C++ calls of ops, for backward rules and other ops. Each goes through ops::invoke, so calls made
// while recording (create_graph) are recorded like any user call.
#pragma once
#include <vector>

#include "op.h"

namespace ndgrad {
namespace ops {

// Elementwise (elementwise.cc)
NDArray unary(const char* name, const NDArray& x);
NDArray add(const NDArray& a, const NDArray& b);
NDArray sub(const NDArray& a, const NDArray& b);
NDArray mul(const NDArray& a, const NDArray& b);
NDArray div(const NDArray& a, const NDArray& b);
NDArray binary(const char* name, const NDArray& a, const NDArray& b);
// a op s (or s op a when `reverse`), s taking a's dtype.
NDArray scalar_op(const char* name, const NDArray& a, double s, bool reverse = false);
NDArray neg(const NDArray& a);
NDArray copy(const NDArray& a);
NDArray zeros_like(const NDArray& a);  // recorded with zero gradient: keeps `a` reachable
NDArray where(const NDArray& cond, const NDArray& x, const NDArray& y);
// buf += g, in place, never recorded (gradient accumulation for gradReq 'add').
void add_into(const NDArray& buf, const NDArray& g);
// buf = g and buf = 0, in place, never recorded (gradient writes for gradReq 'write'): ops, so they
// are ordered with the engine's queue like every other write.
void assign(const NDArray& buf, const NDArray& g);
void zero_fill(const NDArray& buf);
// Under create_graph, ties a constant-derivative gradient to x so the next order is zeros, not an error.
NDArray keep_connected(const NDArray& g, const NDArray& x);

// Reductions (reduce.cc)
NDArray sum(const NDArray& x, const std::vector<int64_t>& axes, bool keepdims);
// Sums g over broadcast axes so it has `shape` (the gradient rule of broadcasting).
NDArray sum_to(const NDArray& g, const Shape& shape);

// Views (views.cc)
NDArray reshape(const NDArray& x, const Shape& shape);
// reshape for gradients: an empty gradient is plain zeros of `shape`.
NDArray reshape_grad(const NDArray& g, const Shape& shape);

// Copies into a new arrangement (rearrange.cc)
NDArray broadcast_to(const NDArray& x, const Shape& shape);
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes);
NDArray astype(const NDArray& x, DType dtype, const NDArray* out = nullptr);
NDArray swapaxes(const NDArray& x, int a, int b);
NDArray flip(const NDArray& x, const std::vector<int64_t>& axes);
// Not an op: y (contiguous, `shape`) = x viewed from element `offset` with `strides` (any sign),
// the one loop of every copying layout op.
void gather_strided(const NDArray& x, int64_t offset, const Shape& shape, const Shape& strides, const NDArray& y);

// Products (linalg.cc)
NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b);
NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b);

// Slicing (slice.cc)
// y = x[start_i : start_i + len_i * step_i : step_i] on every axis (normalised spec, one entry per axis).
NDArray strided_slice(const NDArray& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                      const std::vector<int64_t>& lens);
// The adjoint: zeros of `in_shape` with dy written at the sliced positions.
NDArray slice_scatter(const NDArray& dy, const Shape& in_shape, const std::vector<int64_t>& starts,
                      const std::vector<int64_t>& steps, const std::vector<int64_t>& lens);
// x[begin:end] along `axis` (begin/end already normalised, 0 <= begin <= end <= size).
NDArray slice_range(const NDArray& x, int axis, int64_t begin, int64_t end);

// Indexing (index.cc)
NDArray take(const NDArray& x, const NDArray& indices, int axis);
NDArray pick(const NDArray& x, const NDArray& index, int axis, bool keepdims);
NDArray one_hot(const NDArray& indices, int64_t depth, DType dtype);

// Activations (activation.cc)
// dy * (y > 0): relu's gradient from its output, in one pass (the backward of a fused ReLU).
NDArray relu_mask(const NDArray& dy, const NDArray& y);

// Softmax (softmax.cc)
NDArray softmax(const NDArray& x, int axis);
NDArray log_softmax(const NDArray& x, int axis);

}  // namespace ops
}  // namespace ndgrad
