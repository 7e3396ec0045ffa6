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
