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
// Under create_graph, ties a constant-derivative gradient to x so the next order is zeros, not an error.
NDArray keep_connected(const NDArray& g, const NDArray& x);

// Reductions (reduce.cc)
NDArray sum(const NDArray& x, const std::vector<int64_t>& axes, bool keepdims);
// Sums g over broadcast axes so it has `shape` (the gradient rule of broadcasting).
NDArray sum_to(const NDArray& g, const Shape& shape);

// Shape (shape.cc)
NDArray reshape(const NDArray& x, const Shape& shape);
NDArray broadcast_to(const NDArray& x, const Shape& shape);
NDArray transpose(const NDArray& x, const std::vector<int64_t>& axes);
NDArray astype(const NDArray& x, DType dtype);

// Linear algebra (linalg.cc)
NDArray dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b);

}  // namespace ops
}  // namespace ndgrad
