// The autograd API: per-thread recording/training flags, recording op calls (tape.cc), variables and
// their gradient buffers (leaf.cc), backward and grad (backward.cc), getSymbol (export.cc).
// It records op calls (ops::OpCall) and replays backward rules through ops::invoke, so a backward
// pass run while recording is itself recorded (higher-order gradients).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "node.h"

namespace ndgrad {
namespace autograd {

struct Mode {
  bool recording = false;
  bool training = false;
};
Mode mode();  // both flags at once (ops::invoke reads both per call)
bool is_recording();
bool is_training();
bool set_recording(bool on);  // returns the previous value
bool set_training(bool on);   // returns the previous value

// Recording off for a scope, the previous flag restored on every exit path: ops that a forward,
// a backward rule or an accumulation calls internally are never recorded.
struct RecordingPaused {
  bool prev = set_recording(false);
  RecordingPaused() = default;
  RecordingPaused(const RecordingPaused&) = delete;
  RecordingPaused& operator=(const RecordingPaused&) = delete;
  ~RecordingPaused() { set_recording(prev); }
};

// Called by ops::invoke.
bool should_record(const ops::InputList& inputs);
// MXNet's in-place rules, checked before anything is written: writing into an array in the
// graph, or into an input of an op that needs a gradient, is INPLACE_IN_GRAPH.
void check_out_target(const ops::OpCall& c, const NDArray& out);
// An in-place op's (ops::kInPlace) target: a recorded op's result is INPLACE_IN_GRAPH at any time,
// a variable while recording (its update would change what the graph saved).
void check_in_place_target(const ops::OpCall& c, const NDArray& a);
void record(ops::OpCall& c);
// Records a Function call as one node; `saved` (what forward saved) is held by the node, plain.
void record_custom(const std::vector<NDArray>& inputs, std::vector<NDArray>& outputs,
                   const std::vector<NDArray>& saved, std::shared_ptr<CustomBackward> fn);

// What markVariables accepts as the i-th variable and its gradient buffer (a float array, a buffer of
// the same shape and dtype). A list is checked whole before any of it is marked.
void check_variable(const NDArray& var, const NDArray& grad, size_t i);
// Marks an array as a variable with the given gradient buffer (attachGrad / markVariables); checks it
// first. Marking a recorded result retains its gradient and keeps its history. A variable marked
// again keeps its gradient-ready hook.
void mark_variable(NDArray& var, const NDArray& grad, GradReq req);
void drop_grad(NDArray& var);
// The gradient buffer of a marked array (undefined if none).
NDArray grad_of(const NDArray& a);
bool fresh_grad(const NDArray& a);
void set_fresh_grad(const NDArray& a, bool v);
// The per-parameter hook backward() calls when the variable's gradient for the pass is final (see
// GradReadyHook); null removes it. NOT_A_VARIABLE unless `var` is a variable.
void set_grad_ready_hook(const NDArray& var, std::shared_ptr<GradReadyHook> hook);

void backward(const std::vector<NDArray>& heads, const std::vector<NDArray>& head_grads, bool retain_graph,
              bool train_mode);
std::vector<NDArray> grad(const std::vector<NDArray>& heads, const std::vector<NDArray>& variables,
                          const std::vector<NDArray>& head_grads, bool retain_graph, bool create_graph,
                          bool train_mode);

// The recorded history of `a`: JSON ({nodes:[{id, op, attrs, inputs, shape}]}) or Graphviz source.
std::string symbol_json(const NDArray& a);
std::string symbol_dot(const NDArray& a);

}  // namespace autograd
}  // namespace ndgrad
