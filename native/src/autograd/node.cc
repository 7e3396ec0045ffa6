// Graph housekeeping: tearing nodes down without recursion, the walk that finds what a pass reaches,
// and freeing a graph after backward.
#include "node.h"

#include <algorithm>
#include <atomic>

namespace ndgrad {
namespace autograd {
namespace {

// Nodes whose last reference is being dropped while another node is already tearing down (inline
// for the usual few, so freeing a tiny op's node allocates nothing).
using TeardownQueue = SmallVec<NodePtr, 8>;
thread_local TeardownQueue* t_teardown = nullptr;
thread_local uint64_t t_epoch = 0;
std::atomic<uint64_t> g_seq{0};

void take_refs(Node& n, TeardownQueue& out) {
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
  TeardownQueue queue;
  t_teardown = &queue;
  take_refs(*this, queue);
  while (!queue.empty()) {
    NodePtr n = std::move(queue.back());
    queue.pop_back();
    n.reset();  // may run ~Node, which appends to `queue` instead of recursing
  }
  t_teardown = nullptr;
}

bool parse_grad_req(const std::string& s, GradReq* out) {
  if (s == "write") *out = GradReq::Write;
  else if (s == "add") *out = GradReq::Add;
  else if (s == "null") *out = GradReq::Null;
  else return false;
  return true;
}

uint64_t current_epoch() { return t_epoch; }
uint64_t next_seq() { return ++g_seq; }

std::vector<NodePtr> reachable_nodes(const std::vector<NDArray>& heads, std::vector<size_t>* prior) {
  std::vector<NodePtr> order;
  uint64_t epoch = ++t_epoch;
  std::vector<Node*> stack;
  for (auto& h : heads)
    if (h.node && h.node->pass.visit != epoch) {
      h.node->pass.visit = epoch;
      order.push_back(h.node);
      stack.push_back(h.node.get());
    }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (auto& e : n->inputs)
      if (e.node && e.node->pass.visit != epoch) {
        e.node->pass.visit = epoch;
        order.push_back(e.node);
        stack.push_back(e.node.get());
      }
  }
  std::sort(order.begin(), order.end(), [](const NodePtr& a, const NodePtr& b) { return a->seq > b->seq; });
  if (prior) {
    prior->resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) (*prior)[i] = order[i]->pass.index;
  }
  for (size_t i = 0; i < order.size(); ++i) order[i]->pass.index = i;
  return order;
}

void free_graph(const std::vector<NodePtr>& order) {
  for (auto& np : order) {
    Node& n = *np;
    if (n.is_variable()) continue;
    n.inputs.clear();
    n.saved_inputs.clear();
    n.saved_outputs.clear();
    n.state.clear();
    n.custom.reset();
    if (!(n.acc && n.acc->any_marked())) n.freed = true;
  }
}

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

}  // namespace autograd
}  // namespace ndgrad
