// One node's backward in a pass: an op's backward rule (called with what forward saved), or a
// Function's user-written backward (through the binding's adapter, CustomBackward).
#include "pass.h"

#include "../ops/ops.h"

namespace ndgrad {
namespace autograd {
namespace {

// What a Function's backward returned, as recorded under createGraph: it has no backward of its own.
const ops::OpDef& custom_grad_op() {
  static const ops::OpDef def = ops::OpDef::named("Function.backward").arity(-1);
  return def;
}

// A saved array for a backward call, refused if it was modified in place since it was saved. Moved
// out when the pass consumes the graph (the node is visited once and freed after: no reference-count
// traffic).
NDArray unpack(SavedArray& s, bool move, const char* what, size_t k, const char* owner) {
  if (s.array.version() != s.version)
    fail(code::INPLACE_MODIFIED, "backward: ", what, " ", k, " (shape ", shape_str(s.array.shape), ") of ", owner,
         " was modified in place after it was saved; its gradient would be wrong");
  return move ? std::move(s.array) : s.array;
}


}  // namespace

ops::ArrayList op_backward(Pass& p, size_t i, ops::ArrayList out_grads, const SmallVec<bool, 4>& need) {
  Node& n = *p.order[i];
  const char* opname = n.op->name;
  if (!n.op->backward)
    fail(code::NOT_DIFFERENTIABLE, "backward: operator ", opname,
         " is not differentiable (it has no gradient; it cannot be differentiated again)");
  ops::GradCall g;
  g.op = n.op;
  g.options = &n.options;
  g.training = p.train_mode;
  g.inputs.resize(n.inputs.size());
  for (size_t k = 0; k < n.saved_inputs.size(); ++k)
    if (n.saved_inputs[k].array.defined()) g.inputs[k] = unpack(n.saved_inputs[k], p.consume, "input", k, opname);
  g.outputs.resize(n.num_outputs());
  for (size_t k = 0; k < n.saved_outputs.size(); ++k) {
    if (!n.saved_outputs[k].array.defined()) continue;
    g.outputs[k] = unpack(n.saved_outputs[k], p.consume, "output", k, opname);
    g.outputs[k].node = p.order[i];  // re-linked: stored plain so the node holds no cycle
    g.outputs[k].out_index = static_cast<uint32_t>(k);
  }
  g.state = n.state;
  g.in_shapes = n.in_shapes;
  g.in_dtypes = n.in_dtypes;
  g.out_shapes = n.out_shapes;
  g.out_dtypes = n.out_dtypes;
  g.out_grads = std::move(out_grads);
  g.need = need;
  g.in_grads.resize(n.inputs.size());
  // An unrecorded pass may take the op's fused rule (not differentiable itself, so never recorded).
  (!p.create_graph && n.op->backward_fused ? n.op->backward_fused : n.op->backward)(g);
  for (size_t k = 0; k < g.in_grads.size(); ++k)
    if (g.in_grads[k].defined() && g.in_grads[k].shape != n.in_shapes[k])
      fail(code::SHAPE_MISMATCH, "backward of ", opname, ": gradient ", k, " has shape ",
           shape_str(g.in_grads[k].shape), ", expected ", shape_str(n.in_shapes[k]), " (internal error)");
  return std::move(g.in_grads);
}

ops::ArrayList function_backward(Pass& p, size_t i, const ops::ArrayList& out_grads, const SmallVec<bool, 4>& need) {
  Node& n = *p.order[i];
  bool any_need = false;
  for (size_t k = 0; k < need.size(); ++k) any_need = any_need || need[k];
  std::vector<NDArray> full_og(out_grads.size());
  for (size_t k = 0; k < out_grads.size(); ++k) {
    full_og[k] = out_grads[k].defined() ? out_grads[k] : zeros(n.out_shapes[k], n.out_dtypes[k]);
    // A gradient that is still the caller's head gradient, or an array an earlier Function
    // returned, is user memory: user code gets a copy (the check below guards ndgrad's own).
    if (p.is_users(full_og[k])) full_og[k] = ops::copy(full_og[k]);
  }
  RecordingPaused paused;
  // Our own reference: the saved arrays stay alive while user code runs, whatever it frees.
  std::shared_ptr<CustomBackward> cb = n.custom;
  std::vector<NDArray> saved;
  saved.reserve(cb->saved.size());
  for (size_t k = 0; k < cb->saved.size(); ++k) saved.push_back(unpack(cb->saved[k], false, "saved tensor", k, "a Function"));
  // The output gradients are read-only: they may share storage with other branches' gradients
  // or with the caller's head gradient, so an in-place change would corrupt those.
  SmallVec<uint64_t, 2> og_versions(full_og.size());
  for (size_t k = 0; k < full_og.size(); ++k) og_versions[k] = full_og[k].version();
  std::vector<NDArray> returned = cb->backward(full_og, saved);
  for (size_t k = 0; k < full_og.size(); ++k)
    if (full_og[k].version() != og_versions[k])
      fail(code::BAD_CUSTOM_GRAD, "Function.backward: output gradient ", k, " (shape ", shape_str(full_og[k].shape),
           ") was modified in place; it is read-only (it may share memory with other gradients), return a new array");
  if (any_need && graph_gone(n))
    fail(code::GRAPH_FREED, p.fn, ": the graph through Function was freed by a backward call inside its own "
                                  "Function.backward; pass retainGraph: true");
  if (returned.size() != n.inputs.size())
    fail(code::BAD_CUSTOM_GRAD, "Function.backward: returned ", returned.size(), " gradients for ", n.inputs.size(),
         " inputs");
  ops::ArrayList in_grads(returned.size());
  for (size_t k = 0; k < returned.size(); ++k) {
    if (!returned[k].defined()) continue;
    if (returned[k].shape != n.in_shapes[k] || returned[k].dtype != n.in_dtypes[k])
      fail(code::BAD_CUSTOM_GRAD, "Function.backward: gradient ", k, " has shape ", shape_str(returned[k].shape),
           " and dtype ", dtype_name(returned[k].dtype), ", input ", k, " has shape ", shape_str(n.in_shapes[k]),
           " and dtype ", dtype_name(n.in_dtypes[k]));
    in_grads[k] = returned[k].plain();
    p.users.insert(in_grads[k].storage.get());
  }
  // Function.backward runs unrecorded, so under createGraph its gradients would be constants whose
  // next order is silently zero. Each is recorded instead as the output of a node with no backward
  // that reads the Function's inputs: differentiating through it again is NOT_DIFFERENTIABLE.
  if (p.create_graph) {
    for (size_t k = 0; k < in_grads.size(); ++k) {
      if (!in_grads[k].defined() || !need[k]) continue;
      static const ops::Options kNone;
      ops::OpCall c;
      c.op = &custom_grad_op();
      c.options = &kNone;
      c.training = p.train_mode;
      ops::ArrayList edges;
      for (size_t j = 0; j < n.inputs.size(); ++j) {
        NDArray in;  // only the edge is recorded (the op saves nothing)
        in.shape = n.in_shapes[j];
        in.dtype = n.in_dtypes[j];
        in.node = n.inputs[j].node;
        in.out_index = n.inputs[j].index;
        edges.push_back(std::move(in));
      }
      c.inputs = edges;
      c.outputs.push_back(in_grads[k]);
      record(c);
      in_grads[k] = c.outputs[0];
    }
  }
  return in_grads;
}

}  // namespace autograd
}  // namespace ndgrad
