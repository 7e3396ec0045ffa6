// N-API entry points of arrays: from and to typed arrays, item, shape/dtype metadata, dispose.
#include "entries.h"

#include <cmath>
#include <cstring>

namespace ndgrad {
namespace binding {

// fromTyped(typedArray, shape: number[], dtype code): the view may be over an ArrayBuffer or a
// SharedArrayBuffer (read through napi_get_typedarray_info's data pointer, which serves both); its
// elements convert to dtype as astype converts them. A Uint16Array holds bfloat16 bits (files), for
// dtype bfloat16 only.
ENTRY(FromTyped) {
  if (!info[0].IsTypedArray()) fail(code::BAD_ARGUMENT, "array: expected a typed array");
  napi_typedarray_type tt;
  size_t len = 0, byte_offset = 0;
  void* src = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, info[0], &tt, &len, &src, &buffer, &byte_offset) != napi_ok)
    fail(code::BAD_ARGUMENT, "array: cannot read the typed array");
  DType st;
  switch (tt) {
    case napi_float32_array: st = DType::Float32; break;
    case napi_float64_array: st = DType::Float64; break;
    case napi_int32_array: st = DType::Int32; break;
    case napi_uint8_array:
    case napi_uint8_clamped_array: st = DType::UInt8; break;
    case napi_uint16_array: st = DType::BFloat16; break;
    default: fail(code::BAD_ARGUMENT, "array: unsupported typed array");
  }
  Napi::Array sh = array_arg(info[1], "array: shape");
  if (sh.Length() > kMaxDims) fail(code::BAD_ARGUMENT, "array: too many dimensions (", sh.Length(), "), at most ", kMaxDims);
  Shape shape;
  for (uint32_t i = 0; i < sh.Length(); ++i) {
    double d = number_arg(sh.Get(i), "array: shape");
    if (!(d >= 0) || d != std::floor(d) || d > 9.0e15)
      fail(code::BAD_ARGUMENT, "array: shape entries must be non-negative integers, got ", d);
    shape.push_back(static_cast<int64_t>(d));
  }
  int code_ = int_arg(info[2], "array: dtype code");
  if (code_ < 0 || code_ >= kDTypeCount) fail(code::BAD_ARGUMENT, "bad dtype code");
  DType t = static_cast<DType>(code_);
  if (st == DType::BFloat16 && t != DType::BFloat16)
    fail(code::BAD_ARGUMENT, "array: a Uint16Array is read as bfloat16 bits, for dtype bfloat16 only");
  if (static_cast<uint64_t>(numel(shape)) != len)
    fail(code::SHAPE_MISMATCH, "array: ", len, " values do not fill shape ", shape_str(shape));
  // Reading the shape list above could run JS (a getter) that detached or shrank the buffer: the
  // view is read again, with no JS in between from here to the copy.
  if (napi_get_typedarray_info(env, info[0], &tt, &len, &src, &buffer, &byte_offset) != napi_ok ||
      static_cast<uint64_t>(numel(shape)) != len)
    fail(code::BAD_ARGUMENT, "array: the typed array changed while it was read");
  // An allocation refused (memory limit) names the entry point.
  NDArray a;
  try {
    a = from_data(src, st, shape, t);
  } catch (const AllocationError& e) {
    throw Error(e.code(), "array: " + e.message());
  }
  return Napi::Number::New(env, put_result(env, std::move(a)));
}
END_ENTRY

// toTyped(h, bits?): a copy of the elements; bfloat16 gives a Float32Array of the same values, or
// its raw bits as a Uint16Array when `bits` (files).
ENTRY(ToTyped) {
  const NDArray& a = get(env, info[0]);
  bool bits = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  engine::wait_to_read(a);
  bool widen = a.dtype == DType::BFloat16 && !bits;
  size_t n = static_cast<size_t>(a.size()), bytes = widen ? n * 4 : a.nbytes();
  napi_typedarray_type tt = a.dtype == DType::Float32    ? napi_float32_array
                            : a.dtype == DType::Float64  ? napi_float64_array
                            : a.dtype == DType::Int32    ? napi_int32_array
                            : a.dtype == DType::BFloat16 ? (bits ? napi_uint16_array : napi_float32_array)
                                                         : napi_uint8_array;
  // An ArrayBuffer V8 cannot allocate (too large, or out of memory) is OUT_OF_MEMORY naming the
  // array, not V8's RangeError.
  void* dst = nullptr;
  napi_value buffer, out;
  if (napi_create_arraybuffer(env, bytes, &dst, &buffer) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    fail(code::OUT_OF_MEMORY, "toTypedArray: cannot allocate a ", dtype_name(a.dtype), " typed array of ", n,
         " elements (", bytes, " bytes) for shape ", shape_str(a.shape));
  }
  if (widen) bf16_to_float_n(static_cast<const uint16_t*>(a.raw()), static_cast<float*>(dst), a.size());
  else if (bytes) std::memcpy(dst, a.raw(), bytes);
  if (napi_create_typedarray(env, tt, n, buffer, 0, &out) != napi_ok) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
    fail(code::OUT_OF_MEMORY, "toTypedArray: shape ", shape_str(a.shape), " has ", n,
         " elements, more than a typed array can hold");
  }
  return Napi::Value(env, out);
}
END_ENTRY

ENTRY(Item) {
  NDArray& a = get(env, info[0]);
  if (a.size() != 1)
    fail(code::BAD_ARGUMENT, "item: the array has ", a.size(), " elements (shape ", shape_str(a.shape), "), not 1");
  engine::wait_to_read(a);
  return Napi::Number::New(env, read_scalar(a, 0));
}
END_ENTRY

ENTRY(Meta) {
  write_meta(env, get(env, info[0]));
  return env.Undefined();
}
END_ENTRY

ENTRY(Release) {
  release(env, data(info), int_arg(info[0], "dispose"));
  return env.Undefined();
}
END_ENTRY

// releaseList(handles: Int32Array, n): releases handles[0..n) (a tidy scope's arrays in one call).
ENTRY(ReleaseList) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    fail(code::BAD_ARGUMENT, "releaseList: expected an Int32Array");
  Napi::Int32Array hs = info[0].As<Napi::Int32Array>();
  uint32_t n = static_cast<uint32_t>(int_arg(info[1], "releaseList"));
  if (n > hs.ElementLength()) fail(code::BAD_ARGUMENT, "releaseList: more handles than the list holds");
  EnvData& d = data(info);
  const int32_t* h = hs.Data();
  for (uint32_t i = 0; i < n; ++i) release(env, d, h[i]);
  return env.Undefined();
}
END_ENTRY

}  // namespace binding
}  // namespace ndgrad
