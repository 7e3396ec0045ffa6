// N-API entry points of ops: the op table TypeScript builds its functions from, and the calls
// (one or two inputs, an array and a scalar, n inputs with options and an optional out).
#include "entries.h"

#include "../ops/ops.h"

namespace ndgrad {
namespace binding {

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
    std::vector<ops::OptionField> specs = ops::option_fields(*all[i]);
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

// The inputs are borrowed from the handle table (no NDArray copies); nothing adds a handle until
// the op has returned.
ENTRY(Op1) {
  EnvData& d = data(info);
  const ops::OpDef& op = op_by_id(info[0]);
  const NDArray* in[] = {&get(env, d, info[1])};
  return Napi::Number::New(env, put_result(env, d, ops::invoke1(op, ops::InputList(in, 1)), op.name));
}
END_ENTRY

ENTRY(Op2) {
  EnvData& d = data(info);
  const ops::OpDef& op = op_by_id(info[0]);
  const NDArray* in[] = {&get(env, d, info[1]), &get(env, d, info[2])};
  return Napi::Number::New(env, put_result(env, d, ops::invoke1(op, ops::InputList(in, 2)), op.name));
}
END_ENTRY

// opScalar(op, h, number, reverse)
ENTRY(OpScalar) {
  EnvData& d = data(info);
  const ops::OpDef& op = op_by_id(info[0]);
  double v;
  if (napi_get_value_double(env, info[2], &v) != napi_ok) fail(code::BAD_ARGUMENT, op.name, ": expected a number operand");
  bool reverse = info[3].ToBoolean().Value();
  const NDArray& x = get(env, d, info[1]);
  return Napi::Number::New(env, put_result(env, d, ops::invoke_scalar(op, x, v, reverse), op.name));
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

namespace {
// opN(op, handles[], attrs | null, outHandle (-1 for none)) -> handle or handles[] (multi-output)
Napi::Value OpNImpl(const Napi::CallbackInfo& info, Napi::Env env) {
  const ops::OpDef& op = op_by_id(info[0]);
  if (!info[1].IsArray()) fail(code::BAD_ARGUMENT, "expected a list of NDArrays");
  ops::Attrs at;
  try {
    at = to_attrs(info[2]);  // first: reading the options object may run JS (getters)
  } catch (const Error& e) {  // name the op in option errors
    throw Error(e.code(), std::string(op.name) + ": " + e.message());
  }
  ops::Options opts = ops::parse_options(op, at);
  // The inputs are borrowed from the handle table, as op1/op2 do (no NDArray copies): no JS runs
  // and no handle is added from the first get() until the op has returned.
  Napi::Array list = info[1].As<Napi::Array>();
  if (list.Length() > kIndexMask) fail(code::BAD_ARGUMENT, "too many arrays in a list");
  SmallVec<Napi::Value, 8> items;  // read first: an element getter may run JS
  for (uint32_t i = 0; i < list.Length(); ++i) items.push_back(list.Get(i));
  int32_t out_h = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
  if (!info[3].IsNumber() && !info[3].IsUndefined() && !info[3].IsNull())
    fail(code::BAD_ARGUMENT, op.name, ": 'out' must be an NDArray");
  SmallVec<const NDArray*, 8> ptrs;
  for (const Napi::Value& v : items) ptrs.push_back(&get(env, v));
  ops::InputList inputs(ptrs.data(), ptrs.size());
  if (out_h >= 0) {
    NDArray& out = get(env, info[3]);
    ops::ArrayList r = ops::invoke(op, inputs, opts, &out);
    out = r[0];  // keeps the data; carries the history if the write was recorded
    write_meta(env, out);
    return Napi::Number::New(env, out_h);
  }
  ops::ArrayList r = ops::invoke(op, inputs, opts);
  if (r.size() == 1) return Napi::Number::New(env, put_result(env, std::move(r[0]), op.name));
  std::vector<NDArray> results = std::move(r);
  for (auto& a : results)
    if (a.ndim() > kMaxDims) fail(code::BAD_ARGUMENT, op.name, ": a result has more than ", kMaxDims, " dimensions");
  return handles_of(env, results);
}
}  // namespace

// An allocation failure anywhere in an op (std::bad_alloc) names the op.
ENTRY(OpN) {
  try {
    return OpNImpl(info, env);
  } catch (const std::bad_alloc&) {
    fail(code::OUT_OF_MEMORY, op_by_id(info[0]).name, ": out of memory");
  }
}
END_ENTRY

}  // namespace binding
}  // namespace ndgrad
