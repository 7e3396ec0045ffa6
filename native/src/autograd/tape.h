// The autograd tape: per-thread recording/training flags, graph nodes, backward and grad.
// It records op calls (ops::OpCall) and replays backward rules through ops::invoke, so a backward
// pass run while recording is itself recorded (higher-order gradients).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../core/ndarray.h"
#include "../ops/op.h"

namespace ndgrad {
namespace autograd {

bool is_recording();
bool is_training();
bool set_recording(bool on);  // returns the previous value
bool set_training(bool on);   // returns the previous value

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

struct Edge {
  std::shared_ptr<Node> node;
  uint32_t index = 0;
};

struct Node {
  const ops::OpDef* op = nullptr;  // null for variables
  ops::Attrs attrs;
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
  // Variables (leaves) and retained non-leaf gradients, one slot per output.
  bool is_variable = false;
  SmallVec<NDArray, 1> grad_buffers;
  SmallVec<GradReq, 1> grad_reqs;
  bool fresh = false;
  // Scratch of the backward pass that visits this node (graphs are per thread).
  uint64_t visit = 0;
  size_t order_index = 0;
  // Passes running through this node: a pass started from user code inside one of them
  // (Function.backward) may not reach it, so it can neither free it nor re-enter a running backward.
  uint32_t busy = 0;
  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Releases long chains iteratively: a recorded loop of 1e5 ops must not recurse 1e5 deep.
  ~Node();
  size_t num_outputs() const { return out_shapes.size(); }
  bool marked(uint32_t i) const {
    return i < grad_reqs.size() && grad_reqs[i] != GradReq::Null && grad_buffers[i].defined();
  }
};

// True when the array has live autograd history (a variable or a recorded result).
inline bool in_graph(const NDArray& a) { return a.node && !a.node->freed; }

// Called by ops::invoke.
bool should_record(const ops::ArrayList& inputs);
// MXNet's in-place rules, checked before anything is written: writing into an array in the
// graph, or into an input of an op that needs a gradient, is INPLACE_IN_GRAPH.
void check_out_target(const ops::OpCall& c, const NDArray& out);
void record(ops::OpCall& c);
// Records a Function call as one node; `saved` (what forward saved) is held by the node, plain.
void record_custom(const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   const std::vector<NDArray>& saved, std::shared_ptr<CustomBackward> fn);

// Marks arrays as variables with the given gradient buffers (attachGrad / markVariables).
void mark_variable(NDArray& var, const NDArray& grad, GradReq req);
void drop_grad(NDArray& var);
// The gradient buffer of a marked array (undefined if none).
NDArray grad_of(const NDArray& a);
bool fresh_grad(const NDArray& a);
void set_fresh_grad(const NDArray& a, bool v);

void backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, bool retain_graph,
              bool train_mode);
std::vector<NDArray> grad(const std::vector<NDArray>& heads, const std::vector<NDArray>& variables,
                          const std::vector<NDArray>& head_grads, bool retain_graph, bool create_graph,
                          bool train_mode);

// The recorded history of `a`: JSON ({nodes:[{id, op, attrs, inputs, shape}]}) or Graphviz source.
// Every node reachable from the heads, latest first (a node is always newer than its inputs); marks
// them with a fresh epoch (`visit`) and their position (`order_index`). `prior` (optional) receives
// each node's previous `order_index`, for a pass that must give them back.
std::vector<std::shared_ptr<Node>> reachable_nodes(const std::vector<NDArray>& heads,
                                                   std::vector<size_t>* prior = nullptr);

// getSymbol (export.cc)
std::string symbol_json(const NDArray& a);
std::string symbol_dot(const NDArray& a);

}  // namespace autograd
}  // namespace ndgrad
