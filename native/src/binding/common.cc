// The binding's shared parts (see common.h): the handle table, argument readers, the boundary's
// error hand-off, and option/array-list conversion.
#include "common.h"

#include <cmath>
#include <cstring>

namespace ndgrad {
namespace binding {

// Never throws: it runs after a slot was filled or freed, where an exception would lose the handle.
void report_memory(Napi::Env env, EnvData& d) noexcept {
  int64_t diff = d.held_bytes - d.reported_bytes;
  if (diff >= kReportChunk || diff <= -kReportChunk) {
    int64_t total;
    if (napi_adjust_external_memory(env, diff, &total) == napi_ok) d.reported_bytes = d.held_bytes;
  }
}

namespace {
int32_t put(Napi::Env env, EnvData& d, NDArray a) {
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
  ++d.live_arrays;
  report_memory(env, d);
  return static_cast<int32_t>((s.gen << kIndexBits) | idx);
}
}  // namespace

int32_t put(Napi::Env env, NDArray a) { return put(env, data(env), std::move(a)); }

Slot* find(EnvData& d, int32_t h) {
  uint32_t u = static_cast<uint32_t>(h), idx = u & kIndexMask, gen = (u >> kIndexBits) & kGenMask;
  if (h < 0 || idx >= d.slots.size()) return nullptr;
  Slot& s = d.slots[idx];
  if (!s.live || s.gen != gen) return nullptr;
  return &s;
}

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

NDArray& get(Napi::Env env, const Napi::Value& v) { return get(env, data(env), v); }

NDArray& get(napi_env env, EnvData& d, napi_value v) {
  int32_t h;
  if (napi_get_value_int32(env, v, &h) != napi_ok) fail(code::BAD_ARGUMENT, "expected an NDArray");
  Slot* s = find(d, h);
  if (!s) fail(code::DISPOSED, "the NDArray was disposed");
  return s->array;
}

void release(Napi::Env env, int32_t h) { release(env, data(env), h); }

void release(Napi::Env env, EnvData& d, int32_t h) {
  Slot* s = find(d, h);
  if (!s) return;  // already released: disposing twice is harmless
  d.held_bytes -= static_cast<int64_t>(s->array.nbytes());
  s->array.storage.reset();  // the rest of a dead slot's array is overwritten by the next put
  s->array.node.reset();
  s->live = false;
  s->gen = (s->gen + 1) & kGenMask;
  d.free_ids.push_back(static_cast<uint32_t>(h) & kIndexMask);
  --d.live_arrays;
  report_memory(env, d);
}

void write_meta(Napi::Env env, const NDArray& a) { write_meta(data(env), a); }

void write_meta(EnvData& d, const NDArray& a) {
  if (!d.meta_data || d.meta_len < 2 + a.ndim()) return;
  d.meta_data[0] = static_cast<double>(a.dtype);
  d.meta_data[1] = static_cast<double>(a.ndim());
  for (size_t i = 0; i < a.ndim(); ++i) d.meta_data[2 + i] = static_cast<double>(a.shape[i]);
}

int32_t put_result(Napi::Env env, NDArray a, const char* op) { return put_result(env, data(env), std::move(a), op); }

int32_t put_result(Napi::Env env, EnvData& d, NDArray a, const char* op) {
  if (a.ndim() > kMaxDims)
    fail(code::BAD_ARGUMENT, op, ": the result of shape ", shape_str(a.shape), " has ", a.ndim(),
         " dimensions; at most ", kMaxDims, " are supported");
  write_meta(d, a);
  return put(env, d, std::move(a));
}

// ---- the JS/C++ boundary ----
// No C++ exception may leave a napi_callback: it would unwind through V8's frames (std::terminate).
// node-addon-api turns every failed N-API call into a C++ Napi::Error, and while an environment is
// torn down (worker.terminate(), process.exit() with busy workers, a worker at its heap limit) every
// call that may run JS fails with napi_pending_exception. So errors are thrown into JS with raw N-API
// calls whose failure is ignored: when JS cannot run any more, returning to it unwinds quietly.

// Throws NDArrayError(msg, code) into JS, or nothing when an exception is already pending or JS
// cannot run.
namespace {
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
}  // namespace

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

const ops::OpDef& op_by_id(const Napi::Value& v) {
  const auto& all = ops::all_ops();
  double d;
  if (napi_get_value_double(v.Env(), v, &d) != napi_ok) fail(code::BAD_ARGUMENT, "bad op id");
  if (!(d >= 0 && d < static_cast<double>(all.size()))) fail(code::BAD_ARGUMENT, "bad op id ", d);
  size_t id = static_cast<size_t>(d);  // in range: the conversion is exact for whole numbers
  if (static_cast<double>(id) != d) fail(code::BAD_ARGUMENT, "bad op id ", d);
  return *all[id];
}

namespace {
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
}  // namespace

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

std::vector<NDArray> arrays_of(Napi::Env env, const Napi::Value& v, bool allow_missing, std::vector<int32_t>* handles) {
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

}  // namespace binding
}  // namespace ndgrad
