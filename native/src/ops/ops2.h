// C++ calls of the shape, index, linear-algebra and neural-network ops of shape2.cc, index.cc,
// batch_dot.cc, softmax.cc, activation.cc, conv.cc, pool.cc and norm.cc. Each goes through
// ops::invoke, so calls made while recording are recorded (higher-order gradients).
#pragma once
#include <vector>

#include "ops.h"

namespace ndgrad {
namespace ops {

// shape2.cc
// y = x[start_i : start_i + len_i * step_i : step_i] on every axis (normalised spec, one entry per axis).
NDArray strided_slice(const NDArray& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                      const std::vector<int64_t>& lens);
// The adjoint: zeros of `in_shape` with dy written at the sliced positions.
NDArray slice_scatter(const NDArray& dy, const Shape& in_shape, const std::vector<int64_t>& starts,
                      const std::vector<int64_t>& steps, const std::vector<int64_t>& lens);
// x[begin:end] along `axis` (begin/end already normalised, 0 <= begin <= end <= size).
NDArray slice_range(const NDArray& x, int axis, int64_t begin, int64_t end);
NDArray swapaxes(const NDArray& x, int a, int b);
NDArray flip(const NDArray& x, const std::vector<int64_t>& axes);

// index.cc
NDArray take(const NDArray& x, const NDArray& indices, int axis);
NDArray pick(const NDArray& x, const NDArray& index, int axis, bool keepdims);
NDArray one_hot(const NDArray& indices, int64_t depth, DType dtype);

// batch_dot.cc
NDArray batch_dot(const NDArray& a, const NDArray& b, bool transpose_a, bool transpose_b);

// softmax.cc
NDArray softmax(const NDArray& x, int axis);
NDArray log_softmax(const NDArray& x, int axis);

}  // namespace ops
}  // namespace ndgrad
