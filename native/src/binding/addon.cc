// N-API glue only: argument checks, the handle table, and turning C++ errors into NDArrayError.
// The binding knows no math: every op goes through ops::invoke by op id.
// While an environment is torn down, node-addon-api's Napi::Error for a failed call must not itself
// abort (it wraps the pending termination in an object, which fails): see the boundary below. This
// is the only file that includes napi.h.
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "../autograd/tape.h"
#include "../core/allocator.h"
#include "../core/rng.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"
#include "../ops/op.h"

namespace ndgrad {
namespace binding {
namespace {

std::atomic<int64_t> g_live_arrays{0};

// Handles are slot indices tagged with a generation, so a stale handle (disposed, then its slot
// reused) is recognised instead of touching someone else's array.
constexpr uint32_t kIndexBits = 22;
constexpr uint32_t kIndexMask = (1u << kIndexBits) - 1;
constexpr uint32_t kGenMask = (1u << (31 - kIndexBits)) - 1;
constexpr int64_t kReportChunk = 1 << 20;  // report native bytes to V8 in 1 MiB steps
constexpr uint32_t kMaxAttrList = 1 << 16;  // entries of a list-valued option

struct Slot {
  NDArray array;
  uint32_t gen = 0;
  bool live = false;
};

struct EnvData {
  std::vector<Slot> slots;
  std::vector<uint32_t> free_ids;
  Napi::FunctionReference error_class;
  Napi::Reference<Napi::Float64Array> meta;  // [dtype, ndim, dims...] of the last result
  double* meta_data = nullptr;
  size_t meta_len = 0;
  int64_t held_bytes = 0, reported_bytes = 0;
  ~EnvData() {
    for (auto& s : slots)
      if (s.live) g_live_arrays.fetch_sub(1);
  }
};

EnvData& data(Napi::Env env) { return *env.GetInstanceData<EnvData>(); }

// Never throws: it runs after a slot was filled or freed, where an exception would lose the handle.
void report_memory(Napi::Env env, EnvData& d) noexcept {
  int64_t diff = d.held_bytes - d.reported_bytes;
  if (diff >= kReportChunk || diff <= -kReportChunk) {
    int64_t total;
    if (napi_adjust_external_memory(env, diff, &total) == napi_ok) d.reported_bytes = d.held_bytes;
  }
}

int32_t put(Napi::Env env, NDArray a) {
  EnvData& d = data(env);
  uint32_t idx;
  if (!d.free_ids.empty()) {
    idx = d.free_ids.back();
    d.free_ids.pop_back();
  } else {
    if (d.slots.size() >= kIndexMask) fail(code::OUT_OF_MEMORY, "too many live arrays (", d.slots.size(), ")");
    idx = static_cast<uint32_t>(d.slots.size());
    d.slots.emplace_back();
  }
  Slot& s = d.slots[idx];
  d.held_bytes += static_cast<int64_t>(a.nbytes());
  s.array = std::move(a);
  s.live = true;
  g_live_arrays.fetch_add(1, std::memory_order_relaxed);
  report_memory(env, d);
  return static_cast<int32_t>((s.gen << kIndexBits) | idx);
}

Slot* find(Napi::Env env, int32_t h) {
  EnvData& d = data(env);
  uint32_t u = static_cast<uint32_t>(h), idx = u & kIndexMask, gen = (u >> kIndexBits) & kGenMask;
  if (h < 0 || idx >= d.slots.size()) return nullptr;
  Slot& s = d.slots[idx];
  if (!s.live || s.gen != gen) return nullptr;
  return &s;
}

// Argument accessors: a JS value of the wrong type is BAD_ARGUMENT naming the entry point, never a
// Napi type error or a crash (Napi's As<T>() does not check).
int32_t int_arg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) fail(code::BAD_ARGUMENT, what, ": expected a number");
  return v.As<Napi::Number>().Int32Value();
}
double number_arg(const Napi::Value& v, const char* what) {
  if (!v.IsNumber()) fail(code::BAD_ARGUMENT, what, ": expected a number");
  return v.As<Napi::Number>().DoubleValue();
}
Napi::Array array_arg(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) fail(code::BAD_ARGUMENT, what, ": expected a list");
  return v.As<Napi::Array>();
}
std::string string_arg(const Napi::Value& v, const char* what) {
  if (!v.IsString()) fail(code::BAD_ARGUMENT, what, ": expected a string");
  return v.As<Napi::String>().Utf8Value();
}

NDArray& get(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) fail(code::BAD_ARGUMENT, "expected an NDArray");
  Slot* s = find(env, v.As<Napi::Number>().Int32Value());
  if (!s) fail(code::DISPOSED, "the NDArray was disposed");
  return s->array;
}

void release(Napi::Env env, int32_t h) {
  Slot* s = find(env, h);
  if (!s) return;  // already released: disposing twice is harmless
  EnvData& d = data(env);
  d.held_bytes -= static_cast<int64_t>(s->array.nbytes());
  s->array = NDArray();
  s->live = false;
  s->gen = (s->gen + 1) & kGenMask;
  d.free_ids.push_back(static_cast<uint32_t>(h) & kIndexMask);
  g_live_arrays.fetch_sub(1, std::memory_order_relaxed);
  report_memory(env, d);
}

void write_meta(Napi::Env env, const NDArray& a) {
  EnvData& d = data(env);
  if (!d.meta_data || d.meta_len < 2 + a.ndim()) return;
  d.meta_data[0] = static_cast<double>(a.dtype);
  d.meta_data[1] = static_cast<double>(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i) d.meta_data[2 + i] = static_cast<double>(a.shape[i]);
}

// A result handed to JS; `op` names the op in the error for a rank JS cannot describe.
int32_t put_result(Napi::Env env, NDArray a, const char* op = "array") {
  if (a.ndim() > kMaxDims)
    fail(code::BAD_ARGUMENT, op, ": the result of shape ", shape_str(a.shape), " has ", a.ndim(),
         " dimensions; at most ", kMaxDims, " are supported");
  write_meta(env, a);
  return put(env, std::move(a));
}

// ---- the JS/C++ boundary ----
// No C++ exception may leave a napi_callback: it would unwind through V8's frames (std::terminate).
// node-addon-api turns every failed N-API call into a C++ Napi::Error, and while an environment is
// torn down (worker.terminate(), process.exit() with busy workers, a worker at its heap limit) every
// call that may run JS fails with napi_pending_exception. So errors are thrown into JS with raw N-API
// calls whose failure is ignored: when JS cannot run any more, returning to it unwinds quietly.

// Throws NDArrayError(msg, code) into JS, or nothing when an exception is already pending or JS
// cannot run.
void throw_error(napi_env env, const char* c, const char* msg, size_t len) noexcept {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_value m, cv, err = nullptr, cls = nullptr;
  if (napi_create_string_utf8(env, msg, len, &m) != napi_ok || napi_create_string_utf8(env, c, NAPI_AUTO_LENGTH, &cv) != napi_ok)
    return;
  void* raw = nullptr;
  EnvData* d = napi_get_instance_data(env, &raw) == napi_ok ? static_cast<EnvData*>(raw) : nullptr;
  if (d && !d->error_class.IsEmpty() && napi_get_reference_value(env, d->error_class, &cls) == napi_ok && cls) {
    napi_value args[2] = {m, cv};
    if (napi_new_instance(env, cls, 2, args, &err) != napi_ok) err = nullptr;
  }
  if (!err && (napi_is_exception_pending(env, &pending) != napi_ok || pending)) return;
  if (!err && napi_create_error(env, cv, m, &err) != napi_ok) return;  // before init(): Error with .code
  napi_throw(env, err);
}

// Called inside a catch block: hands the exception in flight to JS. Never throws.
void throw_current(napi_env env) noexcept {
  try {
    throw;
  } catch (const Napi::Error& e) {
    // A JS exception raised inside (a getter, a Function.backward callback) goes back as it was; an
    // N-API call that failed because JS cannot run leaves nothing to throw.
    try {
      napi_value v = e.Value();
      if (v) napi_throw(env, v);
    } catch (...) {
    }
  } catch (const Error& e) {
    throw_error(env, e.code().c_str(), e.message().data(), e.message().size());
  } catch (const std::bad_alloc&) {
    throw_error(env, code::OUT_OF_MEMORY, "out of memory", NAPI_AUTO_LENGTH);
  } catch (const std::exception& e) {
    throw_error(env, code::BAD_ARGUMENT, e.what(), NAPI_AUTO_LENGTH);
  } catch (...) {
    throw_error(env, code::BAD_ARGUMENT, "unexpected native exception", NAPI_AUTO_LENGTH);
  }
}

// Every entry point runs inside this: ndgrad::Error becomes NDArrayError; JS exceptions pass through.
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& f) noexcept {
  Napi::Env env = info.Env();
  try {
    return f(env);
  } catch (...) {
    throw_current(env);
    return Napi::Value();
  }
}

using EntryFn = Napi::Value (*)(const Napi::CallbackInfo&);

// The napi_callback of every export (instead of node-addon-api's wrapper, whose rethrow of a
// Napi::Error can itself throw while the environment is torn down).
template <EntryFn F>
napi_value boundary(napi_env env, napi_callback_info cbinfo) noexcept {
  try {
    Napi::CallbackInfo info(env, cbinfo);
    return F(info);
  } catch (...) {
    throw_current(env);
    return nullptr;
  }
}

#define ENTRY(name) Napi::Value name(const Napi::CallbackInfo& info) { return guarded(info, [&](Napi::Env env) -> Napi::Value
#define END_ENTRY ); }

const ops::OpDef& op_by_id(const Napi::Value& v) {
  const auto& all = ops::all_ops();
  if (!v.IsNumber()) fail(code::BAD_ARGUMENT, "bad op id");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < static_cast<double>(all.size())) || d != std::floor(d)) fail(code::BAD_ARGUMENT, "bad op id ", d);
  int64_t id = static_cast<int64_t>(d);
  return *all[static_cast<size_t>(id)];
}

ops::AttrValue to_attr(const Napi::Value& v, const std::string& key) {
  ops::AttrValue a;
  if (v.IsNull() || v.IsUndefined()) return a;
  if (v.IsNumber()) {
    a.kind = ops::AttrValue::Number;
    a.num = v.As<Napi::Number>().DoubleValue();
  } else if (v.IsBoolean()) {
    a.kind = ops::AttrValue::Bool;
    a.num = v.As<Napi::Boolean>().Value() ? 1 : 0;
  } else if (v.IsString()) {
    a.kind = ops::AttrValue::String;
    a.str = v.As<Napi::String>().Utf8Value();
  } else if (v.IsArray()) {
    Napi::Array arr = v.As<Napi::Array>();
    a.kind = ops::AttrValue::Numbers;
    // List options hold one entry per axis; the bound keeps a Proxy claiming 2^32 - 1 entries from
    // costing that many reads.
    const uint32_t n = arr.Length();
    if (n > kMaxAttrList)
      fail(code::BAD_ARGUMENT, "option '", key, "' is a list of ", n, " entries; at most ", kMaxAttrList, " are accepted");
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value e = arr.Get(i);
      if (!e.IsNumber()) fail(code::BAD_ARGUMENT, "option '", key, "' must be a list of numbers");
      a.nums.push_back(e.As<Napi::Number>().DoubleValue());
    }
  } else {
    fail(code::BAD_ARGUMENT, "option '", key, "' has an unsupported type");
  }
  return a;
}

ops::Attrs to_attrs(const Napi::Value& v) {
  ops::Attrs at;
  if (!v.IsObject()) return at;
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    Napi::Value kv = keys.Get(i);
    if (!kv.IsString()) continue;
    std::string k = kv.As<Napi::String>().Utf8Value();
    at.set(k, to_attr(o.Get(k), k));
  }
  return at;
}

// `handles` (optional) receives the handle read for each element, so callers never read the list twice.
std::vector<NDArray> arrays_of(Napi::Env env, const Napi::Value& v, bool allow_missing = false,
                               std::vector<int32_t>* handles = nullptr) {
  std::vector<NDArray> r;
  if (!v.IsArray()) fail(code::BAD_ARGUMENT, "expected a list of NDArrays");
  if (v.As<Napi::Array>().Length() > kIndexMask) fail(code::BAD_ARGUMENT, "too many arrays in a list");
  Napi::Array arr = v.As<Napi::Array>();
  r.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (allow_missing && (e.IsNull() || e.IsUndefined() || (e.IsNumber() && e.As<Napi::Number>().Int32Value() < 0)))
      r.emplace_back();
    else
      r.push_back(get(env, e));
    if (handles) handles->push_back(e.IsNumber() ? e.As<Napi::Number>().Int32Value() : -1);
  }
  return r;
}

Napi::Value handles_of(Napi::Env env, std::vector<NDArray>& arrays) {
  Napi::Array out = Napi::Array::New(env, arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) out.Set(i, Napi::Number::New(env, put(env, std::move(arrays[i]))));
  return out;
}

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

ENTRY(SetRecording) { return Napi::Boolean::New(env, autograd::set_recording(info[0].ToBoolean().Value())); }
END_ENTRY
ENTRY(SetTraining) { return Napi::Boolean::New(env, autograd::set_training(info[0].ToBoolean().Value())); }
END_ENTRY
ENTRY(IsRecording) { return Napi::Boolean::New(env, autograd::is_recording()); }
END_ENTRY
ENTRY(IsTraining) { return Napi::Boolean::New(env, autograd::is_training()); }
END_ENTRY

autograd::GradReq req_of(const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  autograd::GradReq r;
  if (!autograd::parse_grad_req(s, &r))
    fail(code::BAD_ARGUMENT, "markVariables: gradReq must be 'write', 'add' or 'null', got '", s, "'");
  return r;
}

// markVariables(vars[], grads[], reqs[]): all validated before any is marked.
ENTRY(MarkVariables) {
  Napi::Array vs = array_arg(info[0], "markVariables: variables"), gs = array_arg(info[1], "markVariables: gradients"),
              rs = array_arg(info[2], "markVariables: gradReqs");
  if (vs.Length() != gs.Length() || vs.Length() != rs.Length())
    fail(code::BAD_ARGUMENT, "markVariables: ", vs.Length(), " variables, ", gs.Length(), " gradients and ",
         rs.Length(), " gradReqs must have the same length");
  if (vs.Length() > kIndexMask) fail(code::BAD_ARGUMENT, "markVariables: too many variables (", vs.Length(), ")");
  // Handles, not NDArray pointers: reading a list element can run JS (a getter) that creates
  // arrays, and put() may then reallocate the slot table under any reference taken from get().
  std::vector<int32_t> var_handles;
  std::vector<NDArray> grads;
  std::vector<autograd::GradReq> reqs;
  const uint32_t count = vs.Length();
  for (uint32_t i = 0; i < count; ++i) {
    Napi::Value vh = vs.Get(i), gh = gs.Get(i), rh = rs.Get(i);
    reqs.push_back(req_of(rh));
    grads.push_back(get(env, gh));
    NDArray v = get(env, vh);  // copy: validated with no JS running in between
    var_handles.push_back(vh.As<Napi::Number>().Int32Value());
    const NDArray& g = grads.back();
    if (!is_float(v.dtype))
      fail(code::DTYPE_MISMATCH, "markVariables: integer arrays (", dtype_name(v.dtype), " ", shape_str(v.shape),
           ") cannot have gradients; convert with astype('float32')");
    if (g.shape != v.shape)
      fail(code::SHAPE_MISMATCH, "markVariables: gradient ", i, " has shape ", shape_str(g.shape), ", variable ", i,
           " has shape ", shape_str(v.shape));
    if (g.dtype != v.dtype)
      fail(code::DTYPE_MISMATCH, "markVariables: gradient ", i, " has dtype ", dtype_name(g.dtype), ", variable ", i,
           " has dtype ", dtype_name(v.dtype));
  }
  // No JS runs from here on, so the slot table cannot move under these pointers.
  std::vector<Slot*> slots;
  for (size_t i = 0; i < var_handles.size(); ++i) {
    slots.push_back(find(env, var_handles[i]));
    if (!slots.back()) fail(code::DISPOSED, "markVariables: variable ", i, " was disposed");
  }
  for (size_t i = 0; i < slots.size(); ++i) autograd::mark_variable(slots[i]->array, grads[i], reqs[i]);
  return env.Undefined();
}
END_ENTRY

ENTRY(DropGrad) {
  autograd::drop_grad(get(env, info[0]));
  return env.Undefined();
}
END_ENTRY

ENTRY(FreshGrad) {
  NDArray& a = get(env, info[0]);
  if (info.Length() > 1 && info[1].IsBoolean()) autograd::set_fresh_grad(a, info[1].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(env, autograd::fresh_grad(a));
}
END_ENTRY

ENTRY(InGraph) { return Napi::Boolean::New(env, autograd::in_graph(get(env, info[0]))); }
END_ENTRY

ENTRY(Detach) { return Napi::Number::New(env, put_result(env, get(env, info[0]).plain())); }
END_ENTRY

// backward(heads[], headGrads[] (-1 or null for ones), retainGraph, trainMode)
// An allocation failure outside any op (head gradients, zero results) names the call.
template <class F>
auto naming_allocations(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const AllocationError& e) {
    throw Error(e.code(), std::string(what) + ": " + e.message());
  }
}

ENTRY(Backward) {
  std::vector<NDArray> heads = arrays_of(env, info[0]);
  std::vector<NDArray> hg = arrays_of(env, info[1], true);
  naming_allocations("backward", [&] {
    autograd::backward(heads, hg, info[2].ToBoolean().Value(), info[3].ToBoolean().Value());
  });
  return env.Undefined();
}
END_ENTRY

// grad(heads[], variables[], headGrads[], retainGraph, createGraph, trainMode) -> handles[]
ENTRY(Grad) {
  std::vector<NDArray> heads = arrays_of(env, info[0]);
  std::vector<NDArray> vars = arrays_of(env, info[1]);
  std::vector<NDArray> hg = arrays_of(env, info[2], true);
  std::vector<NDArray> r = naming_allocations("grad", [&] {
    return autograd::grad(heads, vars, hg, info[3].ToBoolean().Value(), info[4].ToBoolean().Value(),
                          info[5].ToBoolean().Value());
  });
  return handles_of(env, r);
}
END_ENTRY

ENTRY(Symbol) {
  NDArray& a = get(env, info[0]);
  std::string fmt = string_arg(info[1], "getSymbol: format");
  return Napi::String::New(env, fmt == "dot" ? autograd::symbol_dot(a) : autograd::symbol_json(a));
}
END_ENTRY

// A Function's backward: calls the JS callback with handles of the output gradients and of the saved
// arrays (new handles, which the JS side frees after the pass); it returns one handle (or -1 for
// none) per input, borrowed: the arrays are copied out by reference, never released here.
class JsBackward : public autograd::CustomBackward {
 public:
  JsBackward(Napi::Env env, Napi::Function fn) : env_(env), fn_(Napi::Persistent(fn)) {}
  std::vector<NDArray> backward(const std::vector<NDArray>& out_grads, const std::vector<NDArray>& saved) override {
    Napi::HandleScope scope(env_);
    std::vector<NDArray> og = out_grads, sv = saved;
    Napi::Value grad_handles = handles_of(env_, og);
    Napi::Value saved_handles = handles_of(env_, sv);
    Napi::Value r = fn_.Call({grad_handles, saved_handles});
    std::vector<NDArray> grads;
    if (!r.IsArray()) fail(code::BAD_CUSTOM_GRAD, "Function.backward must return NDArrays");
    Napi::Array arr = r.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      Napi::Value e = arr.Get(i);
      if (e.IsNumber() && e.As<Napi::Number>().Int32Value() < 0) grads.emplace_back();
      else grads.push_back(get(env_, e));
    }
    return grads;
  }

 private:
  Napi::Env env_;
  Napi::FunctionReference fn_;
};

// customRecord(inputs[], outputs[], saved[], backwardFn): records a Function call as one node.
ENTRY(CustomRecord) {
  std::vector<NDArray> inputs = arrays_of(env, info[0]);
  std::vector<int32_t> out_handles;  // the list is read once (a getter could answer differently later)
  std::vector<NDArray> outputs = arrays_of(env, info[1], false, &out_handles);
  std::vector<NDArray> saved = arrays_of(env, info[2]);
  if (outputs.empty()) fail(code::BAD_ARGUMENT, "Function: forward must return at least one NDArray");
  if (!info[3].IsFunction()) fail(code::BAD_ARGUMENT, "Function: expected a backward callback");
  auto fn = std::make_shared<JsBackward>(env, info[3].As<Napi::Function>());
  autograd::record_custom(inputs, outputs, saved, fn);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Slot* s = find(env, out_handles[i]);
    if (s) s->array = outputs[i];
  }
  return env.Undefined();
}
END_ENTRY

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
#undef EXPORT
  return exports;
}

}  // namespace
}  // namespace binding
}  // namespace ndgrad

static Napi::Object ndgrad_init(Napi::Env env, Napi::Object exports) { return ndgrad::binding::InitModule(env, exports); }
NODE_API_MODULE(ndgrad_addon, ndgrad_init)
