// The module: creates the environment's instance data and registers every export. The entry points
// are in <area>_entries.cc (listed in entries.h); the handle table, argument readers and the JS/C++
// boundary in common.{h,cc}. The binding knows no math: every op goes through ops::invoke by op id.
#include "entries.h"

namespace ndgrad {
namespace binding {

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  EnvData* d = new EnvData();
  env.SetInstanceData(d);
#define EXPORT(name, fn)                                                                   \
  do {                                                                                     \
    napi_value f;                                                                          \
    if (napi_create_function(env, name, NAPI_AUTO_LENGTH, boundary<fn>, d, &f) != napi_ok) \
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
  EXPORT("releaseList", ReleaseList);
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
  EXPORT("waitAll", WaitAll);
  EXPORT("waitToRead", WaitToRead);
  EXPORT("whenReady", WhenReady);
  EXPORT("checkReady", CheckReady);
  EXPORT("engineQueue", EngineQueue);
  EXPORT("engineCall", EngineCall);
#undef EXPORT
  return exports;
}

}  // namespace binding
}  // namespace ndgrad

static Napi::Object ndgrad_init(Napi::Env env, Napi::Object exports) { return ndgrad::binding::InitModule(env, exports); }
NODE_API_MODULE(ndgrad_addon, ndgrad_init)
