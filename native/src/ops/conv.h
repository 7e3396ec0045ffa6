// What Convolution (conv.cc) shares with the drivers of its kernel paths (conv_blocked.cc): which of
// the three ops runs and the geometry of the call.
#pragma once
#include "op.h"
#include "window.h"

namespace ndgrad {
namespace ops {
namespace conv {

enum Which { kConv = 0, kDataGrad = 1, kWeightGrad = 2 };
// Added to kConv in the row of _conv_relu: relu(Convolution(...)) with the ReLU in the output pass.
constexpr int kFusedRelu = 4;
inline int which_op(const OpCall& c) { return c.op->param & 3; }
inline bool fused_relu(const OpCall& c) { return (c.op->param & kFusedRelu) != 0; }

struct Geo : Window {
  int64_t F, G, dh, dw, OH, OW;
  int64_t Cg() const { return C / G; }
  int64_t Fg() const { return F / G; }
  int64_t K() const { return Cg() * kh * kw; }
  Shape x_shape() const { return nd == 1 ? Shape{N, C, W} : Shape{N, C, H, W}; }
  Shape w_shape() const { return nd == 1 ? Shape{F, Cg(), kw} : Shape{F, Cg(), kh, kw}; }
  Shape y_shape() const { return nd == 1 ? Shape{N, F, OW} : Shape{N, F, OH, OW}; }
};

// The blocked direct path (conv_blocked.cc) for op `which` when it fits the call (float32, one
// group, no dilation, strides the kernels have, shapes where it was measured to win over the direct
// path, when `direct` says that one fits, or else im2col + GEMM): computes c's output and returns
// true; false when another path must run.
bool run_blocked(OpCall& c, const Geo& g, int which, bool direct);

// The bfloat16 path (conv_bf16.cc) for op `which` on bfloat16 arrays: forward, data and weight
// gradient on vdpbf16ps with float32 sums, rounded once. False when it does not fit (groups,
// dilation, the data gradient's stride, kernels wider than 7) or the CPU lacks the kernel: the
// caller then computes on float32 copies.
bool run_blocked_bf16(OpCall& c, const Geo& g, int which);

}  // namespace conv
}  // namespace ops
}  // namespace ndgrad
