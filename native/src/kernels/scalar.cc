// The scalar ISA: no fast paths, so every op runs the reference loops in generic.cc. Only the GEMM
// micro-kernel is here, in plain C++ (what the compiler makes of it at the baseline ISA).
#include "kernels.h"

namespace ndgrad::kernels::scalar {
namespace {

bool unary_f32(int, const float*, float*, int64_t) { return false; }
bool binary_f32(int, const float*, int64_t, const float*, int64_t, float*, int64_t) { return false; }
bool reduce_f32(int, const float*, int64_t, int64_t, int64_t, float*) { return false; }
bool softmax_f32(const float*, float*, int64_t, int64_t, bool) { return false; }
bool dot_f32(const float*, const float*, int64_t, float*) { return false; }
bool axpy_f32(float, const float*, float*, int64_t) { return false; }
bool transpose_pack_f32(const float*, int64_t, int, int64_t, float*, int64_t) { return false; }
// No direct convolution: the op's im2col + GEMM path is the reference.
bool conv2d_f32(const Conv2dShape&, const float*, const float*, float*) { return false; }
bool conv2d_wgrad_f32(const Conv2dShape&, int64_t, const float*, int64_t, const float*, int64_t, float*) { return false; }

constexpr int kMR = 4, kNR = 8;

void gemm_micro_f32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
  float acc[kMR][kNR] = {};
  for (int64_t p = 0; p < k; ++p)
    for (int i = 0; i < kMR; ++i)
      for (int j = 0; j < kNR; ++j) acc[i][j] += a[p * kMR + i] * b[p * kNR + j];
  for (int i = 0; i < kMR; ++i)
    for (int j = 0; j < kNR; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace

extern const KernelTable kTable = {"scalar", unary_f32, binary_f32, reduce_f32, softmax_f32,
                                   kMR, kNR, gemm_micro_f32, dot_f32, axpy_f32, transpose_pack_f32,
                                   conv2d_f32, conv2d_wgrad_f32, 0, nullptr, nullptr};

}  // namespace ndgrad::kernels::scalar
