// The backward pass, in named steps: check the heads, find what they reach, refuse a graph another
// pass is running, mark what needs a gradient, seed the heads, run each node's backward newest first,
// then hand back grad()'s results or write the gradient buffers, and free the graph.
#include "pass.h"

#include "../ops/ops.h"

namespace ndgrad {
namespace autograd {

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

namespace {

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

// Restores both flags on every exit path.
struct StateGuard {
  bool rec, train;
  StateGuard(bool r, bool t) : rec(set_recording(r)), train(set_training(t)) {}
  ~StateGuard() {
    set_recording(rec);
    set_training(train);
  }
};

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

// A pass started inside another (from user code) shares at most variables with it, but a node's
// pass index is per pass: the inner pass gives back the outer's values when it ends.
struct PassScope {
  const std::vector<NodePtr>* order = nullptr;
  std::vector<size_t> prior;
  PassScope() { ++t_pass_depth; }
  ~PassScope() {
    --t_pass_depth;
    if (order)
      for (size_t i = 0; i < order->size(); ++i) (*order)[i]->pass.index = prior[i];
  }
};

// Marks the nodes of a running pass busy (variables aside: separate graphs share them) and unmarks
// them on every exit path.
struct BusyMark {
  const std::vector<NodePtr>& order;
  explicit BusyMark(const std::vector<NodePtr>& o) : order(o) {
    for (auto& n : order)
      if (!n->is_variable()) ++n->pass.busy;
  }
  ~BusyMark() {
    for (auto& n : order)
      if (!n->is_variable()) --n->pass.busy;
  }
};

void find_reachable(Pass& p, const std::vector<NDArray>& heads, PassScope& scope) {
  const bool nested = t_pass_depth > 1;
  p.order = reachable_nodes(heads, nested ? &scope.prior : nullptr);
  if (nested) scope.order = &p.order;
}

// A pass started inside Function.backward or a gradient-ready hook (the only user code a pass runs)
// that reaches the graph of the pass running it would free what the outer pass still reads, or call
// the running backward again: refused before anything changes.
void refuse_running_graph(const Pass& p) {
  for (auto& n : p.order)
    if (n->pass.busy && !n->is_variable())
      fail(code::BAD_ARGUMENT, p.fn, ": the graph of these heads is being differentiated by the backward pass that "
                                     "called this Function.backward (or gradient-ready hook); a pass inside "
                                     "Function.backward can only differentiate a separate graph (record one inside "
                                     "backward, or detach() what you reuse)");
}

// Which nodes lead to something that wants a gradient: grad()'s targets, or every marked array.
void find_needs(Pass& p, const std::vector<NDArray>* targets) {
  const size_t count = p.order.size();
  std::vector<char> wants(count, 0);
  if (targets) {
    for (size_t i = 0; i < targets->size(); ++i) {
      const NDArray& v = (*targets)[i];
      if (!v.node || v.node->freed || !v.node->marked(v.out_index))
        fail(code::NOT_A_VARIABLE, "grad: cannot differentiate with respect to the ", i + 1,
             "-th variable (shape ", shape_str(v.shape), ") because it does not require gradient (use attachGrad)");
      if (v.node->pass.visit != current_epoch())
        fail(code::NOT_REACHABLE, "grad: cannot differentiate with respect to the ", i + 1, "-th variable (shape ",
             shape_str(v.shape), ") because it is unreachable from the outputs");
      wants[p.index(*v.node)] = 1;
    }
  } else {
    bool any = false;
    for (size_t i = 0; i < count; ++i) {
      const Node& n = *p.order[i];
      wants[i] = n.acc && n.acc->any_marked();
      if (wants[i] && n.is_variable()) any = true;
    }
    if (!any)
      fail(code::NO_GRAD_INPUTS, "backward: there are no inputs in the computation graph that require gradients "
                                 "(every reachable variable has gradReq 'null')");
  }
  p.needs.assign(count, 0);
  for (size_t i = count; i-- > 0;) {  // oldest first: inputs before their consumers
    p.needs[i] = wants[i];
    for (auto& e : p.order[i]->inputs)
      if (p.needed(e)) p.needs[i] = 1;
  }
}

// Each head's gradient: the caller's (user memory, never handed on as ndgrad's own) or ones.
void seed_heads(Pass& p, const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads) {
  p.grads.resize(p.order.size());
  for (size_t i = 0; i < p.order.size(); ++i) p.grads[i].resize(p.order[i]->num_outputs());
  p.written.assign(p.order.size(), 0);
  for (auto& hg : head_grads)
    if (hg.defined()) p.users.insert(hg.storage.get());
  for (size_t h = 0; h < heads.size(); ++h) {
    const NDArray& head = heads[h];
    NDArray g = h < head_grads.size() && head_grads[h].defined() ? head_grads[h].plain()
                                                                 : full(head.shape, head.dtype, 1.0);
    accumulate(p.grads[p.index(*head.node)][head.out_index], g, p.create_graph);
  }
}

// Runs node i's backward with the gradients its outputs received and passes the results on.
void run_node(Pass& p, size_t i) {
  Node& n = *p.order[i];
  ops::ArrayList og(p.grads[i].size());
  bool any = false;
  for (size_t k = 0; k < og.size(); ++k) {
    og[k] = p.grads[i][k].g;
    any = any || og[k].defined();
  }
  if (!any) return;
  SmallVec<bool, 4> need(n.inputs.size());
  bool any_need = false;
  for (size_t k = 0; k < n.inputs.size(); ++k) {
    need[k] = p.needed(n.inputs[k]) && is_float(n.in_dtypes[k]);
    any_need = any_need || need[k];
  }
  if (graph_gone(n)) {
    // Freed by an earlier pass but kept for a retained gradient: a leaf now, nothing flows on.
    if (!any_need) return;
    // User code run by this pass ran another pass that freed or consumed part of this graph:
    // refuse instead of reading saved arrays that are gone.
    fail(code::GRAPH_FREED, p.fn, ": the graph through ", n.op->name,
         " was freed during this pass (by a backward call inside Function.backward); pass retainGraph: true");
  }
  ops::ArrayList in_grads;
  if (n.custom) in_grads = function_backward(p, i, og, need);
  else if (n.op->flags & ops::kNoGrad) return;  // zero gradient: nothing flows on
  else in_grads = op_backward(p, i, std::move(og), need);
  for (size_t k = 0; k < n.inputs.size() && k < in_grads.size(); ++k)
    if (need[k] && in_grads[k].defined()) accumulate(p.slot(n.inputs[k]), in_grads[k], p.create_graph);
}

// grad()'s results: the totals for its targets, never the caller's own memory.
std::vector<NDArray> collect(Pass& p, const std::vector<NDArray>& targets) {
  std::vector<NDArray> result;
  for (auto& v : targets) {
    NDArray g = p.grads[p.index(*v.node)][v.out_index].g;
    if (!g.defined()) g = zeros(v.shape, v.dtype);
    else if (p.is_users(g))
      g = ops::copy(g);  // never hand back the caller's head gradient, or what a Function returned
    // Under createGraph the result is a function of v even where it is constant (square's second
    // derivative, relu's, zero): tie it to v so the next order is zeros, not NOT_RECORDED.
    if (p.create_graph && !in_graph(g)) g = ops::keep_connected(g, v);
    result.push_back(g);
  }
  return result;
}

// Runs the backward pass. `targets` null: backward() mode (all marked arrays); otherwise grad()
// mode, returning the totals for those arrays.
std::vector<NDArray> run(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads,
                         const std::vector<NDArray>* targets, bool retain_graph, bool create_graph, bool train_mode) {
  Pass p(targets ? "grad" : "backward", create_graph, train_mode, !retain_graph);
  validate_heads(heads, head_grads, p.fn);
  PassScope scope;  // declared after `p`, so it gives the indices back while the nodes are held
  find_reachable(p, heads, scope);
  refuse_running_graph(p);
  BusyMark busy{p.order};
  find_needs(p, targets);

  StateGuard guard(create_graph, train_mode);
  FreeOnError consumed{p.order, p.consume};
  seed_heads(p, heads, head_grads);
  for (size_t i = 0; i < p.order.size(); ++i) {
    if (!p.needs[i]) continue;
    if (!p.order[i]->is_variable()) run_node(p, i);
    else if (!targets) finish_leaf(p, i);
  }

  std::vector<NDArray> result;
  if (targets) {
    result = collect(p, *targets);
  } else {
    set_recording(false);
    for (size_t i = 0; i < p.order.size(); ++i)
      if (!p.written[i]) write_grads(p, i);
  }
  if (!retain_graph) free_graph(p.order);
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
