// N-API entry points of the process and environment: init (the error class and metadata array),
// error codes, the kernel ISA, thread count and random seed.
#include "entries.h"

#include <cmath>

#include "../core/allocator.h"
#include "../core/rng.h"
#include "../core/threadpool.h"
#include "../kernels/kernels.h"

namespace ndgrad {
namespace binding {

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
  InitEngine(env);                // and a malformed NDGRAD_ENGINE or NDGRAD_ENGINE_QUEUE
  return env.Undefined();
}
END_ENTRY

ENTRY(ErrorCodes) {
  constexpr size_t n = sizeof(code::kAll) / sizeof(code::kAll[0]);
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) out.Set(i, code::kAll[i]);
  return out;
}
END_ENTRY

ENTRY(Backend) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", kernels::table().isa);
  o.Set("threads", num_threads());
  o.Set("engine", engine::name());
  o.Set("bf16Gemm", kernels::gemm_bf16_kernel());
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
  engine::wait_all();  // queued kernels run with the table they were issued under
  return Napi::Boolean::New(env, kernels::select_isa(name.c_str()));
}
END_ENTRY

ENTRY(SetNumThreads) {
  double n = number_arg(info[0], "setNumThreads");
  if (!(n >= 1 && n <= 1024) || n != std::floor(n))
    fail(code::BAD_ARGUMENT, "setNumThreads: the thread count must be an integer in [1, 1024], got ", n);
  engine::wait_all();
  return Napi::Number::New(env, set_num_threads(static_cast<int>(n)));
}
END_ENTRY

ENTRY(Seed) {
  double s = number_arg(info[0], "random.seed");
  engine::wait_all();  // queued random ops draw from this stream on the engine thread
  rng::seed_from_number(s);
  return env.Undefined();
}
END_ENTRY

}  // namespace binding
}  // namespace ndgrad
