// The state of one backward pass (internal to autograd): which nodes it visits in which order, which
// of them need a gradient, and the gradients being summed. Its steps are in backward.cc, one node's
// backward in node_backward.cc, writing into gradient buffers in leaf.cc.
#pragma once
#include <unordered_set>
#include <vector>

#include "tape.h"

namespace ndgrad {
namespace autograd {

// A gradient being summed. `owned`: the array was allocated by the sum itself, so later
// contributions may be added in place (never under createGraph, where the sum is recorded).
struct GradSlot {
  NDArray g;
  bool owned = false;
};

struct Pass {
  const char* fn;  // "backward" or "grad", for messages
  bool create_graph, train_mode;
  bool consume;                  // no retainGraph: saved arrays move out of the nodes
  std::vector<NodePtr> order;    // every reachable node, newest first (consumers before their inputs)
  std::vector<char> needs;       // order[i] leads to something that wants a gradient
  std::vector<SmallVec<GradSlot, 1>> grads;  // per node, per output
  std::vector<char> written;     // a leaf whose gradient buffers this pass already wrote
  // Storage of the arrays Function.backward returned: the user's (a constant, an input, a .grad),
  // never handed to user code or back by grad() as if it were ndgrad's. The head gradients too.
  std::unordered_set<const Storage*> users;

  Pass(const char* name, bool create, bool train, bool consume_graph)
      : fn(name), create_graph(create), train_mode(train), consume(consume_graph) {}
  size_t index(const Node& n) const { return n.pass.index; }
  GradSlot& slot(const Edge& e) { return grads[index(*e.node)][e.index]; }
  bool is_users(const NDArray& a) const { return a.storage && users.count(a.storage.get()) != 0; }
  bool needed(const Edge& e) const { return e.node && needs[index(*e.node)]; }
};

void accumulate(GradSlot& slot, const NDArray& g, bool create_graph);

// One node's backward (node_backward.cc): one gradient per input, undefined where none flows.
// `need[k]`: input k leads to something that wants a gradient.
ops::ArrayList op_backward(Pass& p, size_t i, ops::ArrayList out_grads, const SmallVec<bool, 4>& need);
ops::ArrayList function_backward(Pass& p, size_t i, const ops::ArrayList& out_grads, const SmallVec<bool, 4>& need);

// Leaves (leaf.cc). write_grads: node i's totals into its buffers per grad_req (sets freshGrad).
// finish_leaf: a variable with a gradient-ready hook whose gradient is final: written now, then the
// hook runs (variables without one are written after the pass, so a failed pass leaves them as they were).
void write_grads(Pass& p, size_t i);
void finish_leaf(Pass& p, size_t i);

}  // namespace autograd
}  // namespace ndgrad
