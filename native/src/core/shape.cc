#include "shape.h"

#include "error.h"

namespace ndgrad {

std::string shape_str(const Shape& s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ",";
    r += std::to_string(s[i]);
  }
  return r + ")";
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size(), 1);
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = a.size() > b.size() ? a.size() : b.size();
  Shape out(n, 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else
      fail(code::SHAPE_MISMATCH, op, ": operands could not be broadcast together with shapes ", shape_str(a),
           " and ", shape_str(b));
  }
  return out;
}

Shape broadcast_strides(const Shape& in, const Shape& out) {
  Shape st(out.size(), 0);
  Shape cs = contiguous_strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[off + i] = in[i] == 1 ? 0 : cs[i];
  return st;
}

int normalize_axis(int64_t axis, size_t ndim, const char* op, const Shape& shape) {
  int64_t n = static_cast<int64_t>(ndim);
  if (axis < -n || axis >= n || n == 0)
    fail(code::BAD_AXIS, op, ": axis ", axis, " is out of bounds for an array of shape ", shape_str(shape));
  return static_cast<int>(axis < 0 ? axis + n : axis);
}

void outer_inner(const Shape& s, int axis, int64_t* outer, int64_t* inner) {
  *outer = 1;
  *inner = 1;
  for (int i = 0; i < axis; ++i) *outer = mul_dims(*outer, s[i]);
  for (size_t i = axis + 1; i < s.size(); ++i) *inner = mul_dims(*inner, s[i]);
}

}  // namespace ndgrad
