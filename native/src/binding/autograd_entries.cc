// N-API entry points of autograd: recording/training flags, variables, backward/grad, getSymbol and
// custom Functions (their JS backward is called through JsBackward).
#include "entries.h"

#include "../autograd/tape.h"

namespace ndgrad {
namespace binding {

ENTRY(SetRecording) { return Napi::Boolean::New(env, autograd::set_recording(info[0].ToBoolean().Value())); }
END_ENTRY
ENTRY(SetTraining) { return Napi::Boolean::New(env, autograd::set_training(info[0].ToBoolean().Value())); }
END_ENTRY
ENTRY(IsRecording) { return Napi::Boolean::New(env, autograd::is_recording()); }
END_ENTRY
ENTRY(IsTraining) { return Napi::Boolean::New(env, autograd::is_training()); }
END_ENTRY

namespace {
autograd::GradReq req_of(const Napi::Value& v) {
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  autograd::GradReq r;
  if (!autograd::parse_grad_req(s, &r))
    fail(code::BAD_ARGUMENT, "markVariables: gradReq must be 'write', 'add' or 'null', got '", s, "'");
  return r;
}
}  // namespace

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
    autograd::check_variable(v, grads.back(), i);
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
namespace {
template <class F>
auto naming_allocations(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const AllocationError& e) {
    throw Error(e.code(), std::string(what) + ": " + e.message());
  }
}
}  // namespace

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

// onGradReady(variable, fn | null): the variable's gradient-ready hook; fn is called with no
// arguments (the TS side knows the array), and an exception it throws stops the pass.
namespace {
class JsGradReady : public autograd::GradReadyHook {
 public:
  JsGradReady(Napi::Env env, Napi::Function fn) : env_(env), fn_(Napi::Persistent(fn)) {}
  void ready(const NDArray&) override {
    Napi::HandleScope scope(env_);
    fn_.Call({});
  }

 private:
  Napi::Env env_;
  Napi::FunctionReference fn_;
};
}  // namespace

ENTRY(SetGradReadyHook) {
  NDArray& a = get(env, info[0]);
  std::shared_ptr<autograd::GradReadyHook> hook;
  if (info[1].IsFunction()) hook = std::make_shared<JsGradReady>(env, info[1].As<Napi::Function>());
  else if (!info[1].IsNull()) fail(code::BAD_ARGUMENT, "onGradReady: expected a function or null");
  autograd::set_grad_ready_hook(a, std::move(hook));
  return env.Undefined();
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
namespace {
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
}  // namespace

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

}  // namespace binding
}  // namespace ndgrad
