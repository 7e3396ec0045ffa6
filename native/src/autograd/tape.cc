// The tape: the per-thread recording and training flags, and recording op calls and Function calls
// as graph nodes.
#include "tape.h"

#include "../core/pool_alloc.h"
#include "../ops/ops.h"

namespace ndgrad {
namespace autograd {
namespace {

thread_local Mode t_mode;  // both flags in one thread-local: an op call looks them up once

}  // namespace

Mode mode() { return t_mode; }
bool is_recording() { return t_mode.recording; }
bool is_training() { return t_mode.training; }
bool set_recording(bool on) {
  Mode& m = t_mode;
  bool p = m.recording;
  m.recording = on;
  return p;
}
bool set_training(bool on) {
  Mode& m = t_mode;
  bool p = m.training;
  m.training = on;
  return p;
}

bool should_record(const ops::InputList& inputs) {
  for (auto& a : inputs)
    if (in_graph(a)) return true;
  return false;
}

void check_out_target(const ops::OpCall& c, const NDArray& out) {
  if (in_graph(out))
    fail(code::INPLACE_IN_GRAPH, c.name(), ": cannot write into an array of shape ", shape_str(out.shape),
         " that is part of a recorded graph (in-place ops and 'out' are refused under autograd.record(); "
         "call backward first, or do the update outside record() or inside autograd.pause())");
  if (should_record(c.inputs))
    for (auto& a : c.inputs)
      if (a.same_storage(out))
        fail(code::INPLACE_IN_GRAPH, c.name(), ": in-place operation on an array of shape ", shape_str(out.shape),
             " whose inputs need gradients is not supported while recording (+=, -=, set, out=)");
}

void check_in_place_target(const ops::OpCall& c, const NDArray& a) {
  if (!in_graph(a)) return;
  if (!a.node->is_variable())
    fail(code::INPLACE_IN_GRAPH, c.name(), ": cannot update an array of shape ", shape_str(a.shape),
         " in place: it is the result of a recorded op (update the variable itself)");
  if (is_recording())
    fail(code::INPLACE_IN_GRAPH, c.name(), ": cannot update the variable of shape ", shape_str(a.shape),
         " in place while recording (call backward first, or update outside record() or inside autograd.pause())");
}

void record(ops::OpCall& c) {
  auto node = std::allocate_shared<Node>(PoolAlloc<Node>());
  const ops::OpDef* op = c.op;
  node->op = op;
  node->options = *c.options;
  node->training = c.training;
  node->seq = next_seq();
  size_t nin = c.inputs.size(), nout = c.outputs.size();
  node->inputs.resize(nin);
  node->in_shapes.resize(nin);
  node->in_dtypes.resize(nin);
  node->saved_inputs.resize(nin);
  for (size_t i = 0; i < nin; ++i) {
    const NDArray& a = c.inputs[i];
    if (in_graph(a)) node->inputs[i] = Edge{a.node, a.out_index};
    node->in_shapes[i] = a.shape;
    node->in_dtypes[i] = a.dtype;
    if (save_bit(op->save_inputs, i)) {
      NDArray s = in_graph(a) ? a : a.plain();
      node->saved_inputs[i] = SavedArray{s, a.version()};
    }
  }
  node->out_shapes.resize(nout);
  node->out_dtypes.resize(nout);
  node->saved_outputs.resize(nout);
  for (size_t k = 0; k < nout; ++k) {
    NDArray& o = c.outputs[k];
    node->out_shapes[k] = o.shape;
    node->out_dtypes[k] = o.dtype;
    if (save_bit(op->save_outputs, k)) node->saved_outputs[k] = SavedArray{o.plain(), o.version()};
  }
  node->state = c.state;
  for (size_t k = 0; k < nout; ++k) {
    c.outputs[k].node = node;
    c.outputs[k].out_index = static_cast<uint32_t>(k);
  }
}

namespace {
const ops::OpDef& custom_op() {
  static const ops::OpDef def = ops::OpDef::named("_CustomFunction").arity(-1);
  return def;
}
}  // namespace

void record_custom(const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   const std::vector<NDArray>& saved, std::shared_ptr<CustomBackward> fn) {
  if (outputs.empty()) fail(code::BAD_ARGUMENT, "Function: forward must return at least one NDArray");
  if (!should_record(inputs)) return;
  ops::OpCall c;
  c.op = &custom_op();
  static const ops::Options kNone;
  c.options = &kNone;
  c.training = is_training();
  c.inputs = inputs;
  for (auto& o : outputs) {
    if (in_graph(o))
      fail(code::INPLACE_IN_GRAPH, "Function: forward returned an array of shape ", shape_str(o.shape),
           " that is already in the graph (return a new array, e.g. x.copy())");
    c.outputs.push_back(o.plain());
  }
  fn->saved.clear();
  for (auto& a : saved) fn->saved.push_back(SavedArray{a.plain(), a.version()});  // plain: no cycle via outputs
  record(c);
  c.outputs[0].node->custom = std::move(fn);
  for (size_t k = 0; k < outputs.size(); ++k) outputs[k] = c.outputs[k];
}
}  // namespace autograd
}  // namespace ndgrad
