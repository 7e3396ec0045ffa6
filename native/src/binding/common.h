// The binding's shared parts: the per-environment handle table, argument readers, the JS/C++
// boundary every export goes through, and option/array-list conversion. Every binding file includes
// this header first, so all of them see napi.h with the same settings.
// While an environment is torn down, node-addon-api's Napi::Error for a failed call must not itself
// abort (it wraps the pending termination in an object, which fails): see the boundary below.
#pragma once
#define NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
#include <napi.h>

#include <string>
#include <vector>

#include <unordered_map>

#include "../core/ndarray.h"
#include "../engine/engine.h"
#include "../ops/op.h"

namespace ndgrad {
namespace binding {

// Handles are slot indices tagged with a generation, so a stale handle (disposed, then its slot
// reused) is recognised instead of touching someone else's array.
inline constexpr uint32_t kIndexBits = 22;
inline constexpr uint32_t kIndexMask = (1u << kIndexBits) - 1;
inline constexpr uint32_t kGenMask = (1u << (31 - kIndexBits)) - 1;
inline constexpr int64_t kReportChunk = 1 << 20;  // report native bytes to V8 in 1 MiB steps
inline constexpr uint32_t kMaxAttrList = 1 << 16;  // entries of a list-valued option

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
  int64_t live_arrays = 0;  // live handles of this environment (nd.memory().numArrays)
  // This JS thread's engine, and what settles asynchronous waits from the engine thread
  // (engine_entries.cc).
  engine::Engine* engine = nullptr;
  napi_threadsafe_function settle = nullptr;
  std::unordered_map<uint32_t, Napi::FunctionReference> waiting;  // by id, until settled
  uint32_t next_wait_id = 0;
  ~EnvData();
};

inline EnvData& data(Napi::Env env) { return *env.GetInstanceData<EnvData>(); }
// The same, from the data pointer every export is created with (addon.cc): no N-API call.
inline EnvData& data(const Napi::CallbackInfo& info) { return *static_cast<EnvData*>(info.Data()); }

// ---- the handle table ----
int32_t put(Napi::Env env, NDArray a);
Slot* find(EnvData& d, int32_t h);
inline Slot* find(Napi::Env env, int32_t h) { return find(data(env), h); }
NDArray& get(Napi::Env env, const Napi::Value& v);   // DISPOSED for a stale handle
// The per-op entry points' form: `d` from data(info), and a failed int32 read is the type check (one
// N-API call per handle, no napi_typeof first).
NDArray& get(napi_env env, EnvData& d, napi_value v);
void release(Napi::Env env, int32_t h);              // disposing twice is harmless
void release(Napi::Env env, EnvData& d, int32_t h);
void write_meta(Napi::Env env, const NDArray& a);
void write_meta(EnvData& d, const NDArray& a);
// A result handed to JS; `op` names the op in the error for a rank JS cannot describe.
int32_t put_result(Napi::Env env, NDArray a, const char* op = "array");
int32_t put_result(Napi::Env env, EnvData& d, NDArray a, const char* op);

// Argument accessors: a JS value of the wrong type is BAD_ARGUMENT naming the entry point, never a
// Napi type error or a crash (Napi's As<T>() does not check).
int32_t int_arg(const Napi::Value& v, const char* what);
double number_arg(const Napi::Value& v, const char* what);
Napi::Array array_arg(const Napi::Value& v, const char* what);
std::string string_arg(const Napi::Value& v, const char* what);

// ---- conversion ----
const ops::OpDef& op_by_id(const Napi::Value& v);
ops::Attrs to_attrs(const Napi::Value& v);
// `handles` (optional) receives the handle read for each element, so callers never read the list twice.
std::vector<NDArray> arrays_of(Napi::Env env, const Napi::Value& v, bool allow_missing = false,
                               std::vector<int32_t>* handles = nullptr);
Napi::Value handles_of(Napi::Env env, std::vector<NDArray>& arrays);

// ---- the JS/C++ boundary ----
// Called inside a catch block: hands the exception in flight to JS. Never throws.
void throw_current(napi_env env) noexcept;

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

}  // namespace binding
}  // namespace ndgrad
