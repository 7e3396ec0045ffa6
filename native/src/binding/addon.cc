// The module: registers every export. Entry points of arrays, ops, memory and the machine are here;
// autograd's are in autograd_entries.cc; the handle table, argument readers and the JS/C++ boundary
// in common.{h,cc}. The binding knows no math: every op goes through ops::invoke by op id.
#include "common.h"

#include <cmath>
#include <cstring>
#include <memory>

#include "../autograd/tape.h"
#include "../core/allocator.h"
#include "../core/rng.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"

namespace ndgrad {
namespace binding {
namespace {

// ---- entry points ----

ENTRY(Init) {
  EnvData& d = data(env);
  if (!info[0].IsFunction() || !info[1].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    fail(code::BAD_ARGUMENT, "init: expected (errorClass, Float64Array)");
  d.error_class = Napi::Persistent(info[0].As<Napi::Function>());
  Napi::Float64Array meta = info[1].As<Napi::Float64Array>();
  d.meta = Napi::Persistent(meta);
  d.meta_data = meta.Data();
  d.meta_len = meta.ElementLength();
  init_memory_limit_from_env();  // a malformed NDGRAD_MEMORY_LIMIT fails the load
  return env.Undefined();
}
END_ENTRY

ENTRY(OpTable) {
  const auto& all = ops::all_ops();
  Napi::Array out = Napi::Array::New(env, all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", all[i]->name);
    o.Set("aliases", all[i]->aliases ? all[i]->aliases : "");
    o.Set("kind", all[i]->kind);
    o.Set("numInputs", all[i]->num_inputs);
    o.Set("differentiable", all[i]->backward != nullptr || (all[i]->flags & ops::kNoGrad));
    std::vector<ops::AttrSpec> specs = ops::parse_attrs(all[i]->attrs);
    Napi::Array attrs = Napi::Array::New(env, specs.size());
    for (size_t j = 0; j < specs.size(); ++j) {
      Napi::Object a = Napi::Object::New(env);
      a.Set("name", specs[j].name);
      a.Set("type", specs[j].type);
      a.Set("default", specs[j].def);
      a.Set("option", specs[j].option);
      attrs.Set(j, a);
    }
    o.Set("attrs", attrs);
    out.Set(i, o);
  }
  return out;
}
END_ENTRY

// fromTyped(typedArray, shape: number[], dtype code): the view may be over an ArrayBuffer or a
// SharedArrayBuffer (read through napi_get_typedarray_info's data pointer, which serves both); its
// elements convert to dtype as astype converts them.
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
  if (code_ < 0 || code_ > 3) fail(code::BAD_ARGUMENT, "bad dtype code");
  DType t = static_cast<DType>(code_);
  if (static_cast<uint64_t>(numel(shape)) != len)
    fail(code::SHAPE_MISMATCH, "array: ", len, " values do not fill shape ", shape_str(shape));
  // Reading the shape list above could run JS (a getter) that detached or shrank the buffer: the
  // view is read again, with no JS in between from here to the copy.
  if (napi_get_typedarray_info(env, info[0], &tt, &len, &src, &buffer, &byte_offset) != napi_ok ||
      static_cast<uint64_t>(numel(shape)) != len)
    fail(code::BAD_ARGUMENT, "array: the typed array changed while it was read");
  // An allocation refused (memory limit) names the entry point.
  auto alloc = [&](DType dt) {
    try {
      return empty(shape, dt);
    } catch (const AllocationError& e) {
      throw Error(e.code(), "array: " + e.message());
    }
  };
  NDArray a = alloc(st);
  if (len) std::memcpy(a.raw(), src, len * dtype_size(st));
  if (t != st) {
    NDArray c = alloc(t);
    copy_into(a, c);
    a = std::move(c);
  }
  return Napi::Number::New(env, put_result(env, std::move(a)));
}
END_ENTRY

ENTRY(ToTyped) {
  const NDArray& a = get(env, info[0]);
  size_t n = static_cast<size_t>(a.size()), bytes = a.nbytes();
  napi_typedarray_type tt = a.dtype == DType::Float32   ? napi_float32_array
                            : a.dtype == DType::Float64 ? napi_float64_array
                            : a.dtype == DType::Int32   ? napi_int32_array
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
  if (bytes) std::memcpy(dst, a.raw(), bytes);
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
  return Napi::Number::New(env, read_scalar(a, 0));
}
END_ENTRY

ENTRY(Meta) {
  write_meta(env, get(env, info[0]));
  return env.Undefined();
}
END_ENTRY

ENTRY(Release) {
  release(env, int_arg(info[0], "dispose"));
  return env.Undefined();
}
END_ENTRY

ENTRY(Op1) {
  const ops::OpDef& op = op_by_id(info[0]);
  static const ops::Attrs kNone;
  return Napi::Number::New(env, put_result(env, ops::invoke1(op, {get(env, info[1])}, kNone), op.name));
}
END_ENTRY

ENTRY(Op2) {
  const ops::OpDef& op = op_by_id(info[0]);
  static const ops::Attrs kNone;
  return Napi::Number::New(env, put_result(env, ops::invoke1(op, {get(env, info[1]), get(env, info[2])}, kNone), op.name));
}
END_ENTRY

// opScalar(op, h, number, reverse)
ENTRY(OpScalar) {
  const ops::OpDef& op = op_by_id(info[0]);
  if (!info[2].IsNumber()) fail(code::BAD_ARGUMENT, op.name, ": expected a number operand");
  ops::Attrs at;
  at.set_number("scalar", info[2].As<Napi::Number>().DoubleValue());
  if (info[3].ToBoolean().Value()) at.set_flag("reverse", true);
  return Napi::Number::New(env, put_result(env, ops::invoke1(op, {get(env, info[1])}, at), op.name));
}
END_ENTRY

// opN(op, handles[], attrs | null, outHandle (-1 for none)) -> handle or handles[] (multi-output)
Napi::Value OpNImpl(const Napi::CallbackInfo& info, Napi::Env env);

// An allocation failure anywhere in an op (std::bad_alloc) names the op.
ENTRY(OpN) {
  try {
    return OpNImpl(info, env);
  } catch (const std::bad_alloc&) {
    fail(code::OUT_OF_MEMORY, op_by_id(info[0]).name, ": out of memory");
  }
}
END_ENTRY

Napi::Value OpNImpl(const Napi::CallbackInfo& info, Napi::Env env) {
  const ops::OpDef& op = op_by_id(info[0]);
  std::vector<NDArray> inputs = arrays_of(env, info[1]);
  ops::Attrs at;
  try {
    at = to_attrs(info[2]);
  } catch (const Error& e) {  // name the op in option errors
    throw Error(e.code(), std::string(op.name) + ": " + e.message());
  }
  int32_t out_h = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
  if (!info[3].IsNumber() && !info[3].IsUndefined() && !info[3].IsNull())
    fail(code::BAD_ARGUMENT, op.name, ": 'out' must be an NDArray");
  if (out_h >= 0) {
    NDArray& out = get(env, info[3]);
    std::vector<NDArray> r = ops::invoke(op, std::move(inputs), at, &out);
    out = r[0];  // keeps the data; carries the history if the write was recorded
    write_meta(env, out);
    return Napi::Number::New(env, out_h);
  }
  std::vector<NDArray> r = ops::invoke(op, std::move(inputs), at);
  if (r.size() == 1) return Napi::Number::New(env, put_result(env, std::move(r[0]), op.name));
  for (auto& a : r)
    if (a.ndim() > kMaxDims) fail(code::BAD_ARGUMENT, op.name, ": a result has more than ", kMaxDims, " dimensions");
  return handles_of(env, r);
}

ENTRY(Memory) {
  AllocatorStats s = allocator_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("numArrays", Napi::Number::New(env, static_cast<double>(g_live_arrays.load())));
  o.Set("numBytes", Napi::Number::New(env, static_cast<double>(s.live_bytes)));
  o.Set("numBlocks", Napi::Number::New(env, static_cast<double>(s.live_blocks)));
  o.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(s.cached_bytes)));
  o.Set("systemAllocs", Napi::Number::New(env, static_cast<double>(s.system_allocs)));
  o.Set("cacheHits", Napi::Number::New(env, static_cast<double>(s.cache_hits)));
  int64_t lim = memory_limit();
  o.Set("limitBytes", lim < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(lim)));
  return o;
}
END_ENTRY

ENTRY(TrimCache) {
  allocator_trim();
  return env.Undefined();
}
END_ENTRY

// setMemoryLimit(bytes | null) -> the previous limit (null: none)
ENTRY(SetMemoryLimit) {
  int64_t v = -1;
  if (!info[0].IsNull() && !info[0].IsUndefined()) {
    double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!info[0].IsNumber() || !(d >= 0) || d != std::floor(d) || d > 9.0e15)
      fail(code::BAD_ARGUMENT, "setMemoryLimit: expected a non-negative integer number of bytes or null");
    v = static_cast<int64_t>(d);
  }
  int64_t prev = set_memory_limit(v);
  return prev < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(prev));
}
END_ENTRY

ENTRY(ErrorCodes) {
  constexpr size_t n = sizeof(code::kAll) / sizeof(code::kAll[0]);
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) out.Set(i, code::kAll[i]);
  return out;
}
END_ENTRY

// unknownOptionMessage(op, key, validKeys[]): the ops' wording, for options checked in TypeScript
ENTRY(UnknownOptionMessage) {
  std::string op = string_arg(info[0], "unknownOptionMessage"), key = string_arg(info[1], "unknownOptionMessage");
  Napi::Array arr = array_arg(info[2], "unknownOptionMessage");
  std::vector<std::string> valid;
  for (uint32_t i = 0; i < arr.Length(); ++i) valid.push_back(string_arg(arr.Get(i), "unknownOptionMessage"));
  return Napi::String::New(env, ops::unknown_option_message(op, key, valid));
}
END_ENTRY

ENTRY(Backend) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", kernels::table().isa);
  o.Set("threads", num_threads());
  return o;
}
END_ENTRY

ENTRY(AvailableIsas) {
  const kernels::KernelTable* t[8];
  int n = kernels::available_isas(t, 8);
  Napi::Array out = Napi::Array::New(env, n);
  for (int i = 0; i < n; ++i) out.Set(i, t[i]->isa);
  return out;
}
END_ENTRY

ENTRY(SelectIsa) {
  std::string name = string_arg(info[0], "selectIsa");
  return Napi::Boolean::New(env, kernels::select_isa(name.c_str()));
}
END_ENTRY

ENTRY(SetNumThreads) {
  double n = number_arg(info[0], "setNumThreads");
  if (!(n >= 1 && n <= 1024) || n != std::floor(n))
    fail(code::BAD_ARGUMENT, "setNumThreads: the thread count must be an integer in [1, 1024], got ", n);
  return Napi::Number::New(env, set_num_threads(static_cast<int>(n)));
}
END_ENTRY

ENTRY(Seed) {
  double s = number_arg(info[0], "random.seed");
  if (!std::isfinite(s)) fail(code::BAD_ARGUMENT, "random.seed: the seed must be a finite number, got ", s);
  // any finite double: the integer part modulo 2^64 (no out-of-range float-to-integer conversion)
  double t = std::fmod(std::trunc(s), 18446744073709551616.0);
  if (t < 0) t += 18446744073709551616.0;
  rng::seed(t >= 18446744073709551615.0 ? 0 : static_cast<uint64_t>(t));
  return env.Undefined();
}
END_ENTRY

}  // namespace

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new EnvData());
#define EXPORT(name, fn)                                                                   \
  do {                                                                                     \
    napi_value f;                                                                          \
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, boundary<fn>, nullptr, &f) != napi_ok) \
      throw Napi::Error::New(env);                                                         \
    exports.Set(name, Napi::Value(env, f));                                                \
  } while (0)
  EXPORT("init", Init);
  EXPORT("opTable", OpTable);
  EXPORT("fromTyped", FromTyped);
  EXPORT("toTyped", ToTyped);
  EXPORT("item", Item);
  EXPORT("meta", Meta);
  EXPORT("release", Release);
  EXPORT("op1", Op1);
  EXPORT("op2", Op2);
  EXPORT("opScalar", OpScalar);
  EXPORT("opN", OpN);
  EXPORT("memory", Memory);
  EXPORT("trimCache", TrimCache);
  EXPORT("setMemoryLimit", SetMemoryLimit);
  EXPORT("errorCodes", ErrorCodes);
  EXPORT("unknownOptionMessage", UnknownOptionMessage);
  EXPORT("backend", Backend);
  EXPORT("availableIsas", AvailableIsas);
  EXPORT("selectIsa", SelectIsa);
  EXPORT("setNumThreads", SetNumThreads);
  EXPORT("seed", Seed);
  EXPORT("setRecording", SetRecording);
  EXPORT("setTraining", SetTraining);
  EXPORT("isRecording", IsRecording);
  EXPORT("isTraining", IsTraining);
  EXPORT("markVariables", MarkVariables);
  EXPORT("dropGrad", DropGrad);
  EXPORT("freshGrad", FreshGrad);
  EXPORT("inGraph", InGraph);
  EXPORT("detach", Detach);
  EXPORT("backward", Backward);
  EXPORT("grad", Grad);
  EXPORT("symbol", Symbol);
  EXPORT("customRecord", CustomRecord);
  EXPORT("setGradReadyHook", SetGradReadyHook);
#undef EXPORT
  return exports;
}

}  // namespace binding
}  // namespace ndgrad

static Napi::Object ndgrad_init(Napi::Env env, Napi::Object exports) { return ndgrad::binding::InitModule(env, exports); }
NODE_API_MODULE(ndgrad_addon, ndgrad_init)
