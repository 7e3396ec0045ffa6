// The recorded graph: op nodes, their edges and saved arrays, and the gradient accumulator of a leaf.
// Every NDArray with history points to a Node (its out_index says which output it is). A variable is
// a Node with no op whose only content is its accumulator; a recorded result whose gradient is
// retained keeps its op and gets an accumulator too. Graphs are per thread.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "../core/ndarray.h"
#include "../ops/op.h"

namespace ndgrad {
namespace autograd {

enum class GradReq : int { Null = 0, Write = 1, Add = 3 };
bool parse_grad_req(const std::string& s, GradReq* out);

struct SavedArray {
  NDArray array;  // inputs keep their history; outputs are stored plain (no cycle) and re-linked
  uint64_t version = 0;
};

// A user-defined backward (autograd.Function); implemented by the binding, which calls into JS.
// The node owns it, and through it the arrays forward saved: they live exactly as long as the graph.
struct CustomBackward {
  virtual ~CustomBackward() = default;
  // Receives one gradient per output and the saved arrays; returns one gradient per input
  // (undefined entries mean zero). The arrays it returns are borrowed: the tape keeps its own references.
  virtual std::vector<NDArray> backward(const std::vector<NDArray>& out_grads, const std::vector<NDArray>& saved) = 0;
  std::vector<SavedArray> saved;  // set by record_custom; checked against in-place changes before backward
};

// Called by backward() once per pass for a leaf whose gradient for that pass is final: every
// contribution is summed and written into its buffer per its grad_req. Data-parallel training starts
// reducing that gradient from here while the rest of backward runs. May throw: the pass stops.
struct GradReadyHook {
  virtual ~GradReadyHook() = default;
  virtual void ready(const NDArray& grad) = 0;
};

// Where backward() writes the total gradient of each output of a node, per its grad_req.
struct GradAccumulator {
  SmallVec<NDArray, 1> buffers;
  SmallVec<GradReq, 1> reqs;
  bool fresh = false;  // freshGrad: set when a pass wrote the buffers
  std::shared_ptr<GradReadyHook> on_ready;  // variables only
  bool marked(uint32_t i) const { return i < reqs.size() && reqs[i] != GradReq::Null && buffers[i].defined(); }
  bool any_marked() const {
    for (uint32_t k = 0; k < reqs.size(); ++k)
      if (marked(k)) return true;
    return false;
  }
};

struct Edge {
  std::shared_ptr<Node> node;
  uint32_t index = 0;
};

// A node's entry in the backward pass that visits it, so the pass state indexes its arrays in O(1).
struct PassMark {
  uint64_t visit = 0;  // epoch of the last walk that reached the node
  size_t index = 0;    // position in that walk's order
  // Passes running through this node: a pass started from user code inside one of them
  // (Function.backward, a gradient-ready hook) may not reach it, so it can neither free it nor
  // re-enter a running backward.
  uint32_t busy = 0;
};

struct Node {
  const ops::OpDef* op = nullptr;  // null for variables
  ops::Options options;  // the call's typed options, read again by backward
  SmallVec<Edge, 2> inputs;        // node null: a constant input
  SmallVec<Shape, 2> in_shapes;
  SmallVec<DType, 2> in_dtypes;
  SmallVec<SavedArray, 2> saved_inputs;   // one per input; undefined when not needed
  SmallVec<SavedArray, 1> saved_outputs;  // one per output; undefined when not needed
  SmallVec<NDArray, 1> state;
  SmallVec<Shape, 1> out_shapes;
  SmallVec<DType, 1> out_dtypes;
  bool training = true;
  uint64_t seq = 0;  // creation order: backward visits later nodes first
  bool freed = false;
  std::shared_ptr<CustomBackward> custom;
  std::unique_ptr<GradAccumulator> acc;  // variables, and results whose gradient is retained
  PassMark pass;
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases long chains iteratively: a recorded loop of 1e5 ops must not recurse 1e5 deep.
  ~Node();
  bool is_variable() const { return op == nullptr; }
  size_t num_outputs() const { return out_shapes.size(); }
  bool marked(uint32_t i) const { return acc && acc->marked(i); }
};

using NodePtr = std::shared_ptr<Node>;

// True when the array has live autograd history (a variable or a recorded result).
inline bool in_graph(const NDArray& a) { return a.node && !a.node->freed; }

// Every node reachable from the heads, latest first (a node is always newer than its inputs); marks
// them with a fresh epoch (`pass.visit`) and their position (`pass.index`). `prior` (optional)
// receives each node's previous index, for a pass that must give them back.
std::vector<NodePtr> reachable_nodes(const std::vector<NDArray>& heads, std::vector<size_t>* prior = nullptr);
// The next creation number (Node::seq), process-wide so nodes of any thread compare.
uint64_t next_seq();
// The epoch of the latest reachable_nodes walk on this thread.
uint64_t current_epoch();

// Frees the history reachable from a backward pass: everything but variables and nodes that hold a
// retained gradient, which stay usable as leaves of new recordings.
void free_graph(const std::vector<NodePtr>& order);
// True when a pass (a nested one, from user code) freed this node or moved its saved arrays out.
bool graph_gone(const Node& n);
// Whether bit i of an OpDef's save mask is set (bits past 31 follow an all-ones mask).
inline bool save_bit(unsigned mask, size_t i) { return i >= 32 ? mask == ~0u : ((mask >> i) & 1u) != 0; }

}  // namespace autograd
}  // namespace ndgrad
