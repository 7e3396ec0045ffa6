// The sliding-window geometry convolution and pooling share: 1-D (NCW) data is seen as 2-D (NCHW)
// with H = 1, so one set of loops serves both.
#pragma once
#include <vector>

#include "op.h"

namespace ndgrad {
namespace ops {

struct Window {
  int nd;  // 1 or 2 spatial dims
  int64_t N, C, H, W;
  int64_t kh, kw, sh, sw, ph, pw;
};

// A per-spatial-axis option (stride, pad, dilate): `nd` integers >= `min`; one value stands for
// every axis; none gives `def` on every axis.
inline Ints spatial(const char* op, const char* key, const Ints& given, int nd, int64_t def, int64_t min) {
  if (given.empty()) return Ints(nd, def);
  Ints v = given;
  if (v.size() == 1 && nd == 2) v.push_back(v[0]);
  if (static_cast<int>(v.size()) != nd)
    fail(code::BAD_ARGUMENT, op, ": ", key, " must have ", nd, " entries (one per spatial axis), got ", v.size());
  for (int64_t d : v)
    if (d < min) fail(code::BAD_ARGUMENT, op, ": ", key, " entries must be >= ", min, ", got ", d);
  return v;
}

// Data xs (N, C, [H,] W) with nd-entry kernel, stride and pad.
inline Window window_of(int nd, const Shape& xs, const Ints& k, const Ints& st, const Ints& pd) {
  Window g;
  g.nd = nd;
  g.N = xs[0];
  g.C = xs[1];
  g.H = nd == 1 ? 1 : xs[2];
  g.W = xs.back();
  g.kh = nd == 1 ? 1 : k[0];
  g.kw = k.back();
  g.sh = nd == 1 ? 1 : st[0];
  g.sw = st.back();
  g.ph = nd == 1 ? 0 : pd[0];
  g.pw = pd.back();
  return g;
}

}  // namespace ops
}  // namespace ndgrad
