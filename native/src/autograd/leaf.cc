// Gradient accumulators: marking variables (attachGrad / markVariables), their gradient buffers and
// freshGrad flag, the gradient-ready hook, and writing a pass's total into a buffer per its grad_req.
#include "pass.h"

#include "../core/pool_alloc.h"
#include "../ops/ops.h"

namespace ndgrad {
namespace autograd {

void check_variable(const NDArray& var, const NDArray& grad, size_t i) {
  if (!is_float(var.dtype))
    fail(code::DTYPE_MISMATCH, "markVariables: integer arrays (", dtype_name(var.dtype), " ", shape_str(var.shape),
         ") cannot have gradients; convert with astype('float32')");
  if (grad.shape != var.shape)
    fail(code::SHAPE_MISMATCH, "markVariables: gradient ", i, " has shape ", shape_str(grad.shape), ", variable ", i,
         " has shape ", shape_str(var.shape));
  if (grad.dtype != var.dtype)
    fail(code::DTYPE_MISMATCH, "markVariables: gradient ", i, " has dtype ", dtype_name(grad.dtype), ", variable ",
         i, " has dtype ", dtype_name(var.dtype));
}

void mark_variable(NDArray& var, const NDArray& grad, GradReq req) {
  check_variable(var, grad, 0);
  if (in_graph(var) && !var.node->is_variable()) {
    // Retain-grad on a recorded result: keep its history and also store the gradient through it.
    Node& n = *var.node;
    if (!n.acc) n.acc.reset(new GradAccumulator());
    n.acc->buffers.resize(n.num_outputs());
    n.acc->reqs.resize(n.num_outputs(), GradReq::Null);
    n.acc->buffers[var.out_index] = grad.plain();
    n.acc->reqs[var.out_index] = req;
    return;
  }
  auto node = std::allocate_shared<Node>(PoolAlloc<Node>());
  node->seq = next_seq();
  node->out_shapes = {var.shape};
  node->out_dtypes = {var.dtype};
  node->acc.reset(new GradAccumulator());
  node->acc->buffers = {grad.plain()};
  node->acc->reqs = {req};
  // The hook is the parameter's, not the buffer's: a data-parallel trainer registers it once.
  if (var.node && var.node->is_variable() && var.node->acc) node->acc->on_ready = var.node->acc->on_ready;
  var.node = node;
  var.out_index = 0;
}

void drop_grad(NDArray& var) {
  if (!var.node || !var.node->acc) return;
  GradAccumulator& acc = *var.node->acc;
  if (var.out_index < acc.buffers.size()) {
    acc.buffers[var.out_index] = NDArray();
    acc.reqs[var.out_index] = GradReq::Null;
  }
}

NDArray grad_of(const NDArray& a) {
  if (!a.node || !a.node->marked(a.out_index)) return NDArray();
  return a.node->acc->buffers[a.out_index];
}

bool fresh_grad(const NDArray& a) { return a.node && a.node->acc && a.node->acc->fresh; }

void set_fresh_grad(const NDArray& a, bool v) {
  if (!a.node)
    fail(code::NOT_A_VARIABLE, "freshGrad: NDArray of shape ", shape_str(a.shape),
         " has not been marked as a variable and does not have gradient state");
  if (!a.node->acc) a.node->acc.reset(new GradAccumulator());
  a.node->acc->fresh = v;
}

void set_grad_ready_hook(const NDArray& var, std::shared_ptr<GradReadyHook> hook) {
  if (!in_graph(var) || !var.node->is_variable())
    fail(code::NOT_A_VARIABLE, "onGradReady: NDArray of shape ", shape_str(var.shape),
         " is not a variable (call attachGrad first)");
  var.node->acc->on_ready = std::move(hook);
}

void write_grads(Pass& p, size_t i) {
  Node& n = *p.order[i];
  for (uint32_t k = 0; k < n.num_outputs(); ++k) {
    if (!n.marked(k)) continue;
    const NDArray& buf = n.acc->buffers[k];
    const NDArray& total = p.grads[i][k].g;
    if (n.acc->reqs[k] == GradReq::Write) {
      if (total.defined()) ops::assign(buf, total);
      else ops::zero_fill(buf);
    } else if (total.defined()) {
      ops::add_into(buf, total);
    }
    n.acc->fresh = true;
  }
}

void finish_leaf(Pass& p, size_t i) {
  const NodePtr& np = p.order[i];
  if (!np->acc || !np->acc->on_ready || !np->marked(0) || !p.grads[i][0].g.defined()) return;
  write_grads(p, i);
  p.written[i] = 1;
  // Our own references: the hook may drop the gradient, attach a new one or remove itself.
  std::shared_ptr<GradReadyHook> hook = np->acc->on_ready;
  NDArray buf = np->acc->buffers[0];
  hook->ready(buf);
}

}  // namespace autograd
}  // namespace ndgrad
