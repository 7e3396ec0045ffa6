// Every N-API entry point, by the file that holds it; addon.cc registers them.
#pragma once
#include "common.h"

namespace ndgrad {
namespace binding {

// process_entries.cc
Napi::Value Init(const Napi::CallbackInfo& info);
Napi::Value ErrorCodes(const Napi::CallbackInfo& info);
Napi::Value Backend(const Napi::CallbackInfo& info);
Napi::Value AvailableIsas(const Napi::CallbackInfo& info);
Napi::Value SelectIsa(const Napi::CallbackInfo& info);
Napi::Value SetNumThreads(const Napi::CallbackInfo& info);
Napi::Value Seed(const Napi::CallbackInfo& info);

// array_entries.cc
Napi::Value FromTyped(const Napi::CallbackInfo& info);
Napi::Value ToTyped(const Napi::CallbackInfo& info);
Napi::Value Item(const Napi::CallbackInfo& info);
Napi::Value Meta(const Napi::CallbackInfo& info);
Napi::Value Release(const Napi::CallbackInfo& info);
Napi::Value ReleaseList(const Napi::CallbackInfo& info);

// engine_entries.cc
void InitEngine(Napi::Env env);
Napi::Value WaitAll(const Napi::CallbackInfo& info);
Napi::Value WaitToRead(const Napi::CallbackInfo& info);
Napi::Value WhenReady(const Napi::CallbackInfo& info);
Napi::Value CheckReady(const Napi::CallbackInfo& info);
Napi::Value EngineQueue(const Napi::CallbackInfo& info);
Napi::Value EngineCall(const Napi::CallbackInfo& info);

// op_entries.cc
Napi::Value OpTable(const Napi::CallbackInfo& info);
Napi::Value Op1(const Napi::CallbackInfo& info);
Napi::Value Op2(const Napi::CallbackInfo& info);
Napi::Value OpScalar(const Napi::CallbackInfo& info);
Napi::Value OpN(const Napi::CallbackInfo& info);
Napi::Value UnknownOptionMessage(const Napi::CallbackInfo& info);

// memory_entries.cc
Napi::Value Memory(const Napi::CallbackInfo& info);
Napi::Value TrimCache(const Napi::CallbackInfo& info);
Napi::Value SetMemoryLimit(const Napi::CallbackInfo& info);

// autograd_entries.cc
Napi::Value SetRecording(const Napi::CallbackInfo& info);
Napi::Value SetTraining(const Napi::CallbackInfo& info);
Napi::Value IsRecording(const Napi::CallbackInfo& info);
Napi::Value IsTraining(const Napi::CallbackInfo& info);
Napi::Value MarkVariables(const Napi::CallbackInfo& info);
Napi::Value DropGrad(const Napi::CallbackInfo& info);
Napi::Value FreshGrad(const Napi::CallbackInfo& info);
Napi::Value InGraph(const Napi::CallbackInfo& info);
Napi::Value Detach(const Napi::CallbackInfo& info);
Napi::Value Backward(const Napi::CallbackInfo& info);
Napi::Value Grad(const Napi::CallbackInfo& info);
Napi::Value Symbol(const Napi::CallbackInfo& info);
Napi::Value CustomRecord(const Napi::CallbackInfo& info);
Napi::Value SetGradReadyHook(const Napi::CallbackInfo& info);

}  // namespace binding
}  // namespace ndgrad
