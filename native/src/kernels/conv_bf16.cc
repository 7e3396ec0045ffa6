// Chooses the bfloat16 blocked convolution kernel (kernels.h: conv2d_blocked_bf16): bf16_avx512.cc's
// on vdpbf16ps where the CPU has AVX512_BF16 and the avx512 table is in use. There is no portable
// kernel of this layout: without the instruction, Convolution computes on float32 copies with the
// float32 kernels (faster than emulated pair products, and the numbers bfloat16 always gave).
#include <cstring>

#include "kernels.h"

namespace ndgrad {
namespace kernels {

#if defined(NDGRAD_HAVE_AVX512)
namespace avx512bf16 {
void conv_blocked(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
                  int64_t fb0, int64_t fb1);
}
#endif

bool conv2d_blocked_bf16(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
                         int64_t fb0, int64_t fb1) {
#if defined(NDGRAD_HAVE_AVX512)
  if (s.block == 16 && (s.sw == 1 || s.sw == 2) && std::strcmp(table().isa, "avx512") == 0 && cpu_has_avx512_bf16()) {
    if (s.OH > 0) avx512bf16::conv_blocked(s, xp, wb, bias, y, fb0, fb1);  // no rows: a probe
    return true;
  }
#endif
  (void)s, (void)xp, (void)wb, (void)bias, (void)y, (void)fb0, (void)fb1;
  return false;
}

}  // namespace kernels
}  // namespace ndgrad
