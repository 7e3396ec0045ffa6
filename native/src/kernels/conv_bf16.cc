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
void conv_blocked_wgrad(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img, const uint16_t* dyq,
                        int64_t dy_img, float* dwb, int64_t c0, int64_t c1);
}
#endif

namespace {
bool have_kernel(const ConvBlockedShape& s) {
#if defined(NDGRAD_HAVE_AVX512)
  return s.block == 16 && (s.sw == 1 || s.sw == 2) && std::strcmp(table().isa, "avx512") == 0 && cpu_has_avx512_bf16();
#else
  (void)s;
  return false;
#endif
}
}  // namespace

bool conv2d_blocked_bf16(const ConvBlockedShape& s, const uint16_t* xp, const uint16_t* wb, const float* bias, float* y,
                         int64_t fb0, int64_t fb1) {
  if (!have_kernel(s)) return false;
#if defined(NDGRAD_HAVE_AVX512)
  if (s.OH > 0) avx512bf16::conv_blocked(s, xp, wb, bias, y, fb0, fb1);  // no rows: a probe
#endif
  (void)xp, (void)wb, (void)bias, (void)y, (void)fb0, (void)fb1;
  return true;
}

bool conv2d_blocked_wgrad_bf16(const ConvBlockedShape& s, int64_t nimg, const uint16_t* xq, int64_t x_img,
                               const uint16_t* dyq, int64_t dy_img, float* dwb, int64_t c0, int64_t c1) {
  if (!have_kernel(s) || s.kw < 1 || s.kw > 7) return false;
#if defined(NDGRAD_HAVE_AVX512)
  if (nimg > 0 && s.OH > 0) avx512bf16::conv_blocked_wgrad(s, nimg, xq, x_img, dyq, dy_img, dwb, c0, c1);
#endif
  (void)nimg, (void)xq, (void)x_img, (void)dyq, (void)dy_img, (void)dwb, (void)c0, (void)c1;
  return true;
}

}  // namespace kernels
}  // namespace ndgrad
