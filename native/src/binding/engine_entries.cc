// N-API entry points of the engine (ENGINE.md): blocking waits, and asynchronous ones that settle
// from the engine thread through a thread-safe function, always on a later turn of the event loop.
#include "entries.h"

namespace ndgrad {
namespace binding {

namespace {
// Runs on the JS thread for each settled wait: calls its JS callback once.
void settle_on_js_thread(napi_env env, napi_value, void* context, void* data) {
  if (!env) return;  // the environment is going away
  EnvData& d = *static_cast<EnvData*>(context);
  auto it = d.waiting.find(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data)));
  if (it == d.waiting.end()) return;
  Napi::FunctionReference fn = std::move(it->second);
  d.waiting.erase(it);
  if (d.waiting.empty()) napi_unref_threadsafe_function(env, d.settle);  // nothing keeps the loop alive
  napi_value undefined, ignored;
  napi_get_undefined(env, &undefined);
  // lib/engine.ts's callbacks catch everything; anything else thrown here is dropped, as a callback of
  // an internal entry point has no caller to take it
  if (napi_call_function(env, undefined, fn.Value(), 0, nullptr, &ignored) != napi_ok)
    napi_get_and_clear_last_exception(env, &ignored);
}

// Queued behind everything issued before the wait.
struct Settle final : engine::Task {
  napi_threadsafe_function fn;
  uint32_t id;
  Settle(napi_threadsafe_function f, uint32_t i) : fn(f), id(i) { announces = true; }
  void run() override {}
  void done() override { napi_call_threadsafe_function(fn, reinterpret_cast<void*>(uintptr_t(id)), napi_tsfn_nonblocking); }
};

// Drains and stops the engine before Node closes the thread-safe function (cleanup hooks run in
// reverse order of registration, and this one is added after the function is made).
void stop_engine(void* arg) {
  EnvData& d = *static_cast<EnvData*>(arg);
  engine::destroy(d.engine);
  d.engine = nullptr;
}
}  // namespace

EnvData::~EnvData() {
  if (engine) engine::destroy(engine);
}

void InitEngine(Napi::Env env) {
  EnvData& d = data(env);
  if (d.engine) return;
  bool threaded = engine::threaded_from_env();
  napi_value name;
  napi_create_string_utf8(env, "ndgrad.ready", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, &d, settle_on_js_thread,
                                      &d.settle) != napi_ok)
    fail(code::OUT_OF_MEMORY, "init: cannot create the engine's thread-safe function");
  napi_unref_threadsafe_function(env, d.settle);
  d.engine = engine::create(threaded);
  engine::bind_to_this_thread(d.engine);
  napi_add_env_cleanup_hook(env, stop_engine, &d);
}

ENTRY(WaitAll) {
  engine::throw_pending_error();
  return env.Undefined();
}
END_ENTRY

ENTRY(WaitToRead) {
  engine::wait_to_read(get(env, info[0]));
  return env.Undefined();
}
END_ENTRY

// whenReady(fn): fn() on a later turn, once everything issued so far has run.
ENTRY(WhenReady) {
  EnvData& d = data(env);
  if (!info[0].IsFunction()) fail(code::BAD_ARGUMENT, "ready: expected a callback");
  if (!d.settle) fail(code::BAD_ARGUMENT, "ready: the module was not initialised");
  uint32_t id = d.next_wait_id++;
  if (d.waiting.empty()) napi_ref_threadsafe_function(env, d.settle);  // pending work keeps the process up
  d.waiting.emplace(id, Napi::Persistent(info[0].As<Napi::Function>()));
  if (!engine::after_queued(std::make_unique<Settle>(d.settle, id)))
    napi_call_threadsafe_function(d.settle, reinterpret_cast<void*>(uintptr_t(id)), napi_tsfn_nonblocking);
  return env.Undefined();
}
END_ENTRY

// checkReady(handles): after a wait settled, throws the error one of the arrays carries; with no
// handles, the first pending error not thrown yet.
ENTRY(CheckReady) {
  Napi::Array hs = array_arg(info[0], "ready");
  if (hs.Length() == 0) engine::throw_pending_error(false);
  for (uint32_t i = 0; i < hs.Length(); ++i) engine::check_ready(get(env, hs.Get(i)));
  return env.Undefined();
}
END_ENTRY

namespace {
// Work of another native module (the MPI module: ndgrad_external_task in engine.h), queued in order
// like an op: it receives the arrays' data and fails by writing a message into `err`.
struct ExternalTask final : engine::Task {
  ndgrad_external_task fn;
  void* ctx;
  std::vector<NDArray> arrays;
  std::vector<void*> data;
  std::vector<size_t> bytes;
  std::vector<int> dtypes;
  std::string code;
  void run() override {
    for (const NDArray& a : arrays) {
      data.push_back(a.raw());
      bytes.push_back(a.nbytes());
      dtypes.push_back(static_cast<int>(a.dtype));
    }
    char err[512] = {0};
    fn(ctx, data.data(), bytes.data(), dtypes.data(), arrays.size(), err, sizeof err);
    if (err[0] == ndgrad_external_in_use) {
      new std::vector<NDArray>(arrays);  // deliberately never freed: see ndgrad_external_in_use
      throw Error(code, err + 1);
    }
    if (err[0]) throw Error(code, err);
  }
};
}  // namespace

// engineCall(fn, ctx, handles, written, code): runs fn (an External holding an ndgrad_external_task)
// with ctx (an External) over the arrays' data, after everything issued before; `written` (booleans)
// marks the arrays fn writes (they carry its error, coded `code`, and their versions are bumped).
ENTRY(EngineCall) {
  if (!info[0].IsExternal() || !info[1].IsExternal())
    fail(code::BAD_ARGUMENT, "engineCall: expected (External fn, External ctx, handles, written, code)");
  std::vector<int32_t> hs;
  std::vector<NDArray> arrays = arrays_of(env, info[2], false, &hs);
  Napi::Array written = array_arg(info[3], "engineCall: written");
  if (written.Length() != arrays.size()) fail(code::BAD_ARGUMENT, "engineCall: one 'written' flag per array");
  std::string err_code = string_arg(info[4], "engineCall: code");
  bool known = false;
  for (const char* c : code::kAll) known = known || err_code == c;
  if (!known) fail(code::BAD_ARGUMENT, "engineCall: unknown error code '", err_code, "'");
  auto t = std::make_unique<ExternalTask>();
  t->fn = reinterpret_cast<ndgrad_external_task>(info[0].As<Napi::External<void>>().Data());
  t->ctx = info[1].As<Napi::External<void>>().Data();
  t->code = err_code;
  size_t work = 0;
  for (uint32_t i = 0; i < arrays.size(); ++i) {
    t->arrays.push_back(arrays[i].plain());
    t->reads.push_back(arrays[i].storage.get());
    if (written.Get(i).ToBoolean().Value()) {
      t->writes.push_back(arrays[i].storage.get());
      arrays[i].bump_version();
    }
    work += arrays[i].nbytes();
  }
  if (!engine::run_if_now(*t, work)) engine::submit(std::move(t));
  return env.Undefined();
}
END_ENTRY

ENTRY(EngineQueue) {
  engine::QueueStats s = engine::queue_stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("tasks", Napi::Number::New(env, static_cast<double>(s.queued_tasks)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(s.queued_bytes)));
  o.Set("maxTasks", Napi::Number::New(env, static_cast<double>(s.max_tasks)));
  o.Set("maxBytes", Napi::Number::New(env, static_cast<double>(s.max_bytes)));
  return o;
}
END_ENTRY

}  // namespace binding
}  // namespace ndgrad
