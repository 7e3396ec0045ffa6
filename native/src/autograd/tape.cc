#include "tape.h"

#include "../core/pool_alloc.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <unordered_set>

#include "../ops/ops.h"

namespace ndgrad {
namespace autograd {
namespace {

thread_local bool t_recording = false;
thread_local bool t_training = false;
std::atomic<uint64_t> g_seq{0};

bool save_bit(unsigned mask, size_t i) { return i >= 32 ? mask == ~0u : ((mask >> i) & 1u) != 0; }

// Restores both flags on every exit path.
struct StateGuard {
  bool rec, train;
  StateGuard(bool r, bool t) : rec(set_recording(r)), train(set_training(t)) {}
  ~StateGuard() {
    set_recording(rec);
    set_training(train);
  }
};

// Nodes whose last reference is being dropped while another node is already tearing down.
thread_local std::vector<std::shared_ptr<Node>>* t_teardown = nullptr;

void take_refs(Node& n, std::vector<std::shared_ptr<Node>>& out) {
  for (auto& e : n.inputs)
    if (e.node) out.push_back(std::move(e.node));
  for (auto& s : n.saved_inputs)
    if (s.array.node) out.push_back(std::move(s.array.node));
  n.inputs.clear();
  n.saved_inputs.clear();
}

}  // namespace

Node::~Node() {
  if (t_teardown) {  // an outer destructor is draining: hand our references to it
    take_refs(*this, *t_teardown);
    return;
  }
  std::vector<std::shared_ptr<Node>> queue;
  t_teardown = &queue;
  take_refs(*this, queue);
  while (!queue.empty()) {
    std::shared_ptr<Node> n = std::move(queue.back());
    queue.pop_back();
    n.reset();  // may run ~Node, which appends to `queue` instead of recursing
  }
  t_teardown = nullptr;
}

bool is_recording() { return t_recording; }
bool is_training() { return t_training; }
bool set_recording(bool on) {
  bool p = t_recording;
  t_recording = on;
  return p;
}
bool set_training(bool on) {
  bool p = t_training;
  t_training = on;
  return p;
}

bool parse_grad_req(const std::string& s, GradReq* out) {
  if (s == "write") *out = GradReq::Write;
  else if (s == "add") *out = GradReq::Add;
  else if (s == "null") *out = GradReq::Null;
  else return false;
  return true;
}

bool should_record(const ops::ArrayList& inputs) {
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

void record(ops::OpCall& c) {
  auto node = std::allocate_shared<Node>(PoolAlloc<Node>());
  const ops::OpDef* op = c.op;
  node->op = op;
  node->attrs = *c.attrs;
  node->training = c.training;
  node->seq = ++g_seq;
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
  static const ops::OpDef def = {"_CustomFunction", "", "other", -1, nullptr, nullptr, nullptr, 0, 0, 0, 0};
  return def;
}
// What a Function's backward returned, as recorded under createGraph: it has no backward of its own.
const ops::OpDef& custom_grad_op() {
  static const ops::OpDef def = {"Function.backward", "", "other", -1, nullptr, nullptr, nullptr, 0, 0, 0, 0};
  return def;
}
}  // namespace

void record_custom(const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   const std::vector<NDArray>& saved, std::shared_ptr<CustomBackward> fn) {
  if (outputs.empty()) fail(code::BAD_ARGUMENT, "Function: forward must return at least one NDArray");
  if (!should_record(inputs)) return;
  ops::OpCall c;
  c.op = &custom_op();
  static const ops::Attrs kNone;
  c.attrs = &kNone;
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

void mark_variable(NDArray& var, const NDArray& grad, GradReq req) {
  if (!is_float(var.dtype))
    fail(code::DTYPE_MISMATCH, "attachGrad: integer arrays (", dtype_name(var.dtype), " ", shape_str(var.shape),
         ") cannot have gradients; convert with astype('float32')");
  if (grad.shape != var.shape)
    fail(code::SHAPE_MISMATCH, "markVariables: gradient of shape ", shape_str(grad.shape),
         " does not match variable of shape ", shape_str(var.shape));
  if (grad.dtype != var.dtype)
    fail(code::DTYPE_MISMATCH, "markVariables: gradient of dtype ", dtype_name(grad.dtype),
         " does not match variable of dtype ", dtype_name(var.dtype));
  if (in_graph(var) && !var.node->is_variable) {
    // Retain-grad on a recorded result: keep its history and also store the gradient through it.
    Node& n = *var.node;
    n.grad_buffers.resize(n.num_outputs());
    n.grad_reqs.resize(n.num_outputs(), GradReq::Null);
    n.grad_buffers[var.out_index] = grad.plain();
    n.grad_reqs[var.out_index] = req;
    return;
  }
  auto node = std::allocate_shared<Node>(PoolAlloc<Node>());
  node->is_variable = true;
  node->seq = ++g_seq;
  node->out_shapes = {var.shape};
  node->out_dtypes = {var.dtype};
  node->grad_buffers = {grad.plain()};
  node->grad_reqs = {req};
  var.node = node;
  var.out_index = 0;
}

void drop_grad(NDArray& var) {
  if (!var.node) return;
  Node& n = *var.node;
  if (var.out_index < n.grad_buffers.size()) {
    n.grad_buffers[var.out_index] = NDArray();
    n.grad_reqs[var.out_index] = GradReq::Null;
  }
}

NDArray grad_of(const NDArray& a) {
  if (!a.node || !a.node->marked(a.out_index)) return NDArray();
  return a.node->grad_buffers[a.out_index];
}

bool fresh_grad(const NDArray& a) { return a.node && a.node->fresh; }

void set_fresh_grad(const NDArray& a, bool v) {
  if (!a.node)
    fail(code::NOT_A_VARIABLE, "freshGrad: NDArray of shape ", shape_str(a.shape),
         " has not been marked as a variable and does not have gradient state");
  a.node->fresh = v;
}

namespace {

using NodePtr = std::shared_ptr<Node>;

thread_local uint64_t t_epoch = 0;

}  // namespace

std::vector<std::shared_ptr<Node>> reachable_nodes(const std::vector<NDArray>& heads, std::vector<size_t>* prior) {
  std::vector<NodePtr> order;
  uint64_t epoch = ++t_epoch;
  std::vector<Node*> stack;
  for (auto& h : heads)
    if (h.node && h.node->visit != epoch) {
      h.node->visit = epoch;
      order.push_back(h.node);
      stack.push_back(h.node.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& e : n->inputs)
      if (e.node && e.node->visit != epoch) {
        e.node->visit = epoch;
        order.push_back(e.node);
        stack.push_back(e.node.get());
      }
  }
  std::sort(order.begin(), order.end(), [](const NodePtr& a, const NodePtr& b) { return a->seq > b->seq; });
  if (prior) {
    prior->resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) (*prior)[i] = order[i]->order_index;
  }
  for (size_t i = 0; i < order.size(); ++i) order[i]->order_index = i;
  return order;
}

namespace {


// A gradient being summed. `owned`: the array was allocated by the sum itself, so later
// contributions may be added in place (never under createGraph, where the sum is recorded).
struct GradSlot {
  NDArray g;
  bool owned = false;
};

void accumulate(GradSlot& slot, const NDArray& g, bool create_graph) {
  if (!g.defined()) return;
  if (!slot.g.defined()) {
    slot.g = g;
    slot.owned = false;
  } else if (slot.owned && !create_graph) {
    ops::add_into(slot.g, g);
  } else {
    slot.g = ops::add(slot.g, g);
    slot.owned = !create_graph;
  }
}

void validate_heads(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, const char* fn) {
  if (heads.empty()) fail(code::BAD_ARGUMENT, fn, ": no heads given");
  if (!head_grads.empty() && head_grads.size() != heads.size())
    fail(code::BAD_ARGUMENT, fn, ": heads and headGrads must be lists of the same length: ", heads.size(), " vs. ",
         head_grads.size());
  for (size_t i = 0; i < heads.size(); ++i) {
    const NDArray& h = heads[i];
    if (!h.node)
      fail(code::NOT_RECORDED, fn, ": cannot differentiate the array of shape ", shape_str(h.shape),
           " because it is not in a computational graph. Compute it inside autograd.record() from an array "
           "that has attachGrad() (or markVariables), or pass retainGraph: true to differentiate the same graph twice");
    if (h.node->freed)
      fail(code::GRAPH_FREED, fn, ": the graph of the array of shape ", shape_str(h.shape),
           " was freed by an earlier backward; pass retainGraph: true to differentiate the same graph twice");
    if (i < head_grads.size() && head_grads[i].defined()) {
      const NDArray& g = head_grads[i];
      if (g.shape != h.shape)
        fail(code::SHAPE_MISMATCH, fn, ": head gradient of shape ", shape_str(g.shape), " does not match head of shape ",
             shape_str(h.shape));
      if (g.dtype != h.dtype)
        fail(code::DTYPE_MISMATCH, fn, ": head gradient of dtype ", dtype_name(g.dtype), " does not match head of dtype ",
             dtype_name(h.dtype));
    }
  }
}

// Frees the history reachable from a backward pass: everything but variables and nodes that hold a
// retained gradient, which stay usable as leaves of new recordings.
void free_graph(const std::vector<NodePtr>& order) {
  for (auto& np : order) {
    Node& n = *np;
    if (n.is_variable) continue;
    bool keep = false;
    for (uint32_t k = 0; k < n.grad_reqs.size(); ++k) keep = keep || n.marked(k);
    n.inputs.clear();
    n.saved_inputs.clear();
    n.saved_outputs.clear();
    n.state.clear();
    n.custom.reset();
    if (!keep) n.freed = true;
  }
}

// True when a pass (a nested one, from user code) freed this node or moved its saved arrays out.
bool graph_gone(const Node& n) {
  if (n.freed || n.inputs.size() != n.in_shapes.size() || n.saved_inputs.size() != n.in_shapes.size() ||
      n.saved_outputs.size() != n.out_shapes.size())
    return true;
  if (!n.op) return false;
  for (size_t k = 0; k < n.saved_inputs.size(); ++k)
    if (save_bit(n.op->save_inputs, k) && !n.saved_inputs[k].array.defined()) return true;
  for (size_t k = 0; k < n.saved_outputs.size(); ++k)
    if (save_bit(n.op->save_outputs, k) && !n.saved_outputs[k].array.defined()) return true;
  return false;
}

// A pass that consumes its graph and fails halfway has already moved saved arrays out of some
// nodes: the whole graph is freed (GRAPH_FREED next time), never left half-usable.
struct FreeOnError {
  const std::vector<NodePtr>& order;
  bool active;
  ~FreeOnError() {
    if (active) free_graph(order);
  }
};

thread_local int t_pass_depth = 0;

// A pass started inside another (from Function.backward) shares at most variables with it, but
// `order_index` is per pass: the inner pass gives back the outer's values when it ends.
struct PassScope {
  const std::vector<NodePtr>* order = nullptr;
  std::vector<size_t> prior;
  PassScope() { ++t_pass_depth; }
  ~PassScope() {
    --t_pass_depth;
    if (order)
      for (size_t i = 0; i < order->size(); ++i) (*order)[i]->order_index = prior[i];
  }
};

// Marks the nodes of a running pass busy (variables aside: separate graphs share them) and unmarks
// them on every exit path.
struct BusyMark {
  const std::vector<NodePtr>& order;
  explicit BusyMark(const std::vector<NodePtr>& o) : order(o) {
    for (auto& n : order)
      if (!n->is_variable) ++n->busy;
  }
  ~BusyMark() {
    for (auto& n : order)
      if (!n->is_variable) --n->busy;
  }
};

// Runs the backward pass. `targets` empty: backward() mode (all marked arrays); otherwise grad()
// mode, returning the totals for those arrays.
std::vector<NDArray> run(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads,
                         const std::vector<NDArray>* targets, bool retain_graph, bool create_graph, bool train_mode) {
  const char* fn = targets ? "grad" : "backward";
  validate_heads(heads, head_grads, fn);
  std::vector<NodePtr> order;
  PassScope pass;  // declared after `order`, so it gives the indices back while the nodes are held
  const bool nested = t_pass_depth > 1;
  order = reachable_nodes(heads, nested ? &pass.prior : nullptr);
  if (nested) pass.order = &order;
  const uint64_t epoch = t_epoch;
  // A pass started inside Function.backward (the only user code a pass runs) that reaches the graph
  // of the pass running that backward would free what the outer pass still reads, or call the
  // running backward again: refused before anything changes.
  for (auto& n : order)
    if (n->busy && !n->is_variable)
      fail(code::BAD_ARGUMENT, fn, ": the graph of these heads is being differentiated by the backward pass that "
                               "called this Function.backward; a pass inside Function.backward can only differentiate "
                               "a separate graph (record one inside backward, or detach() what you reuse)");
  BusyMark busy{order};
  // Position of a node of this pass (a pass run by user code inside this one gives it back).
  auto idx = [](const std::shared_ptr<Node>& n) { return n->order_index; };

  // Which nodes lead to something that wants a gradient.
  std::vector<char> wants(order.size(), 0), needs(order.size(), 0);
  if (targets) {
    for (size_t i = 0; i < targets->size(); ++i) {
      const NDArray& v = (*targets)[i];
      if (!v.node || v.node->freed || !v.node->marked(v.out_index))
        fail(code::NOT_A_VARIABLE, "grad: cannot differentiate with respect to the ", i + 1,
             "-th variable (shape ", shape_str(v.shape), ") because it does not require gradient (use attachGrad)");
      if (v.node->visit != epoch)
        fail(code::NOT_REACHABLE, "grad: cannot differentiate with respect to the ", i + 1, "-th variable (shape ",
             shape_str(v.shape), ") because it is unreachable from the outputs");
      wants[idx(v.node)] = 1;
    }
  } else {
    bool any = false;
    for (size_t i = 0; i < order.size(); ++i) {
      Node& n = *order[i];
      for (uint32_t k = 0; k < n.grad_reqs.size(); ++k)
        if (n.marked(k)) wants[i] = 1;
      if (wants[i] && n.is_variable) any = true;
    }
    if (!any)
      fail(code::NO_GRAD_INPUTS, "backward: there are no inputs in the computation graph that require gradients "
                                 "(every reachable variable has gradReq 'null')");
  }
  for (size_t i = order.size(); i-- > 0;) {  // oldest first: inputs before their consumers
    Node& n = *order[i];
    needs[i] = wants[i];
    for (auto& e : n.inputs)
      if (e.node && needs[idx(e.node)]) needs[i] = 1;
  }

  StateGuard guard(create_graph, train_mode);
  const bool consume = !retain_graph;
  FreeOnError consumed{order, consume};
  std::vector<SmallVec<GradSlot, 1>> grads(order.size());
  // Storage of the arrays Function.backward returned: the user's (a constant, an input, a .grad),
  // never handed to user code or back by grad() as if it were ndgrad's. The head gradients too.
  std::unordered_set<const Storage*> users;
  for (auto& hg : head_grads)
    if (hg.defined()) users.insert(hg.storage.get());
  auto is_users = [&users](const NDArray& a) { return a.storage && users.count(a.storage.get()) != 0; };
  for (size_t i = 0; i < order.size(); ++i) grads[i].resize(order[i]->num_outputs());
  for (size_t h = 0; h < heads.size(); ++h) {
    const NDArray& head = heads[h];
    NDArray g = h < head_grads.size() && head_grads[h].defined() ? head_grads[h].plain()
                                                                 : full(head.shape, head.dtype, 1.0);
    accumulate(grads[idx(head.node)][head.out_index], g, create_graph);
  }

  for (size_t i = 0; i < order.size(); ++i) {
    Node& n = *order[i];
    if (!needs[i] || n.is_variable) continue;
    ops::ArrayList og(grads[i].size());
    bool any = false;
    for (size_t k = 0; k < og.size(); ++k) {
      og[k] = grads[i][k].g;
      any = any || og[k].defined();
    }
    if (!any) continue;
    const char* opname = n.op ? n.op->name : "?";

    ops::ArrayList in_grads;
    SmallVec<bool, 4> need(n.inputs.size());
    for (size_t k = 0; k < n.inputs.size(); ++k)
      need[k] = n.inputs[k].node && needs[idx(n.inputs[k].node)] && is_float(n.in_dtypes[k]);
    bool any_need = false;
    for (size_t k = 0; k < need.size(); ++k) any_need = any_need || need[k];
    if (graph_gone(n)) {
      // Freed by an earlier pass but kept for a retained gradient: a leaf now, nothing flows on.
      if (!any_need) continue;
      // A Function's backward (user code) ran another pass that freed or consumed part of this
      // graph: refuse instead of reading saved arrays that are gone.
      fail(code::GRAPH_FREED, fn, ": the graph through ", opname,
           " was freed during this pass (by a backward call inside Function.backward); pass retainGraph: true");
    }

    if (n.custom) {
      std::vector<NDArray> full_og(og.size());
      for (size_t k = 0; k < og.size(); ++k) {
        full_og[k] = og[k].defined() ? og[k] : zeros(n.out_shapes[k], n.out_dtypes[k]);
        // A gradient that is still the caller's head gradient, or an array an earlier Function
        // returned, is user memory: user code gets a copy (the check below guards ndgrad's own).
        if (is_users(full_og[k])) full_og[k] = ops::copy(full_og[k]);
      }
      bool prev = set_recording(false);
      struct Restore {
        bool p;
        ~Restore() { set_recording(p); }
      } restore{prev};
      // Our own reference: the saved arrays stay alive while user code runs, whatever it frees.
      std::shared_ptr<CustomBackward> cb = n.custom;
      std::vector<NDArray> saved;
      saved.reserve(cb->saved.size());
      for (size_t k = 0; k < cb->saved.size(); ++k) {
        const SavedArray& s = cb->saved[k];
        if (s.array.version() != s.version)
          fail(code::INPLACE_MODIFIED, "backward: saved tensor ", k, " (shape ", shape_str(s.array.shape),
               ") of a Function was modified in place after forward saved it; its gradient would be wrong");
        saved.push_back(s.array);
      }
      // The output gradients are read-only: they may share storage with other branches' gradients
      // or with the caller's head gradient, so an in-place change would corrupt those.
      SmallVec<uint64_t, 2> og_versions(full_og.size());
      for (size_t k = 0; k < full_og.size(); ++k) og_versions[k] = full_og[k].version();
      in_grads = cb->backward(full_og, saved);
      for (size_t k = 0; k < full_og.size(); ++k)
        if (full_og[k].version() != og_versions[k])
          fail(code::BAD_CUSTOM_GRAD, "Function.backward: output gradient ", k, " (shape ", shape_str(full_og[k].shape),
               ") was modified in place; it is read-only (it may share memory with other gradients), return a new array");
      if (any_need && graph_gone(n))
        fail(code::GRAPH_FREED, fn, ": the graph through Function was freed by a backward call inside its own "
                                    "Function.backward; pass retainGraph: true");
      if (in_grads.size() != n.inputs.size())
        fail(code::BAD_CUSTOM_GRAD, "Function.backward: returned ", in_grads.size(), " gradients for ",
             n.inputs.size(), " inputs");
      for (size_t k = 0; k < in_grads.size(); ++k) {
        if (!in_grads[k].defined()) continue;
        if (in_grads[k].shape != n.in_shapes[k] || in_grads[k].dtype != n.in_dtypes[k])
          fail(code::BAD_CUSTOM_GRAD, "Function.backward: gradient ", k, " has shape ", shape_str(in_grads[k].shape),
               " and dtype ", dtype_name(in_grads[k].dtype), ", input ", k, " has shape ", shape_str(n.in_shapes[k]),
               " and dtype ", dtype_name(n.in_dtypes[k]));
        in_grads[k] = in_grads[k].plain();
        users.insert(in_grads[k].storage.get());
      }
      // Function.backward runs unrecorded, so under createGraph its gradients would be constants whose
      // next order is silently zero. Each is recorded instead as the output of a node with no backward
      // that reads the Function's inputs: differentiating through it again is NOT_DIFFERENTIABLE.
      if (create_graph)
        for (size_t k = 0; k < in_grads.size(); ++k) {
          if (!in_grads[k].defined() || !need[k]) continue;
          static const ops::Attrs kNone;
          ops::OpCall c;
          c.op = &custom_grad_op();
          c.attrs = &kNone;
          c.training = train_mode;
          for (size_t j = 0; j < n.inputs.size(); ++j) {
            NDArray in;  // only the edge is recorded (the op saves nothing)
            in.shape = n.in_shapes[j];
            in.dtype = n.in_dtypes[j];
            in.node = n.inputs[j].node;
            in.out_index = n.inputs[j].index;
            c.inputs.push_back(std::move(in));
          }
          c.outputs.push_back(in_grads[k]);
          record(c);
          in_grads[k] = c.outputs[0];
        }
    } else {
      if (n.op->flags & ops::kNoGrad) continue;  // zero gradient: nothing flows on
      if (!n.op->backward)
        fail(code::NOT_DIFFERENTIABLE, "backward: operator ", opname,
             " is not differentiable (it has no gradient; it cannot be differentiated again)");
      ops::GradCall g;
      g.op = n.op;
      g.attrs = &n.attrs;
      g.training = train_mode;
      // Without retainGraph this node is visited once and freed after the pass, so its saved arrays
      // move into the call instead of being copied (no reference-count traffic).
      g.inputs.resize(n.inputs.size());
      for (size_t k = 0; k < n.saved_inputs.size(); ++k) {
        SavedArray& s = n.saved_inputs[k];
        if (!s.array.defined()) continue;
        if (s.array.version() != s.version)
          fail(code::INPLACE_MODIFIED, "backward: input ", k, " (shape ", shape_str(s.array.shape), ") of ", opname,
               " was modified in place after it was recorded; its gradient would be wrong");
        if (consume) g.inputs[k] = std::move(s.array);
        else g.inputs[k] = s.array;
      }
      g.outputs.resize(n.num_outputs());
      for (size_t k = 0; k < n.saved_outputs.size(); ++k) {
        SavedArray& s = n.saved_outputs[k];
        if (!s.array.defined()) continue;
        if (s.array.version() != s.version)
          fail(code::INPLACE_MODIFIED, "backward: output ", k, " (shape ", shape_str(s.array.shape), ") of ", opname,
               " was modified in place after it was recorded; its gradient would be wrong");
        if (consume) g.outputs[k] = std::move(s.array);
        else g.outputs[k] = s.array;
        g.outputs[k].node = order[i];
        g.outputs[k].out_index = static_cast<uint32_t>(k);
      }
      g.state = n.state;
      g.in_shapes = n.in_shapes;
      g.in_dtypes = n.in_dtypes;
      g.out_shapes = n.out_shapes;
      g.out_dtypes = n.out_dtypes;
      g.out_grads = std::move(og);
      g.need = need;
      g.in_grads.resize(n.inputs.size());
      n.op->backward(g);
      in_grads = std::move(g.in_grads);
      for (size_t k = 0; k < in_grads.size(); ++k)
        if (in_grads[k].defined() && in_grads[k].shape != n.in_shapes[k])
          fail(code::SHAPE_MISMATCH, "backward of ", opname, ": gradient ", k, " has shape ",
               shape_str(in_grads[k].shape), ", expected ", shape_str(n.in_shapes[k]), " (internal error)");
    }
    for (size_t k = 0; k < n.inputs.size() && k < in_grads.size(); ++k) {
      if (!need[k] || !in_grads[k].defined()) continue;
      const Edge& e = n.inputs[k];
      accumulate(grads[idx(e.node)][e.index], in_grads[k], create_graph);
    }
  }

  std::vector<NDArray> result;
  if (targets) {
    for (auto& v : *targets) {
      NDArray g = grads[idx(v.node)][v.out_index].g;
      if (!g.defined()) g = zeros(v.shape, v.dtype);
      else if (is_users(g))
        g = ops::copy(g);  // never hand back the caller's head gradient, or what a Function returned
      // Under createGraph the result is a function of v even where it is constant (square's second
      // derivative, relu's, zero): tie it to v so the next order is zeros, not NOT_RECORDED.
      if (create_graph && !in_graph(g)) g = ops::keep_connected(g, v);
      result.push_back(g);
    }
  } else {
    set_recording(false);
    for (size_t i = 0; i < order.size(); ++i) {
      Node& n = *order[i];
      for (uint32_t k = 0; k < n.grad_reqs.size(); ++k) {
        if (!n.marked(k)) continue;
        const NDArray& buf = n.grad_buffers[k];
        const NDArray& total = grads[i][k].g;
        if (n.grad_reqs[k] == GradReq::Write) {
          if (total.defined()) copy_into(total, buf);
          else fill(buf, 0.0);
          buf.bump_version();
        } else if (total.defined()) {
          ops::add_into(buf, total);
        }
        n.fresh = true;
      }
    }
  }

  if (!retain_graph) free_graph(order);
  consumed.active = false;
  return result;
}

}  // namespace

void backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, bool retain_graph,
              bool train_mode) {
  run(heads, head_grads, nullptr, retain_graph, false, train_mode);
}

std::vector<NDArray> grad(const std::vector<NDArray>& heads, const std::vector<NDArray>& variables,
                          const std::vector<NDArray>& head_grads, bool retain_graph, bool create_graph,
                          bool train_mode) {
  if (variables.empty()) fail(code::BAD_ARGUMENT, "grad: variables cannot be an empty list");
  return run(heads, head_grads, &variables, retain_graph, create_graph, train_mode);
}

}  // namespace autograd
}  // namespace ndgrad
