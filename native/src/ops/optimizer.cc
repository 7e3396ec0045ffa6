// The optimizers' fused multi-tensor updates (MXNet's multi_sgd_update / multi_adamw_update idea):
// one call updates every parameter of a step in place. Inputs are MXNet's interleaved groups, one
// per weight: (weight, grad, state...), `num_weights` of them, with per-weight `lrs` and `wds`.
// These are in-place ops (kInPlace): infer validates every group and lists the arrays forward will
// write (weights and states), invoke refuses arrays of a recorded graph and aliased arrays, then
// forward writes and invoke bumps each written array's version. Never recorded, no outputs.
#include <algorithm>
#include <string>
#include <vector>

#include "../core/threadpool.h"
#include "../kernels/optimizer.h"
#include "ops.h"

namespace ndgrad {
namespace ops {
namespace {

using kernels::UpdateScalars;

// Fields every update op has (MXNet's names): the per-weight lists and the gradient preprocessing.
struct MultiUpdateBase {
  int64_t num_weights = 1;
  Floats lrs, wds;
  double rescale_grad = 1.0;
  double clip_gradient = -1.0;  // < 0: no clipping
};
#define NDG_MULTI_FIELDS                                                                      \
  v("num_weights", num_weights, kArgument), v("lrs", lrs), v("wds", wds), v("rescale_grad", rescale_grad), \
      v("clip_gradient", clip_gradient)

struct MultiSgdOptions : MultiUpdateBase {
  NDGRAD_FIELDS(NDG_MULTI_FIELDS)
};
struct MultiSgdMomOptions : MultiUpdateBase {
  double momentum = 0.0;
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("momentum", momentum))
};
struct MultiAdamOptions : MultiUpdateBase {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("beta1", beta1), v("beta2", beta2), v("epsilon", epsilon))
};
struct MultiAdamWOptions : MultiUpdateBase {
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  Floats etas;  // per-weight schedule multipliers (MXNet's etas; empty: 1)
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("beta1", beta1), v("beta2", beta2), v("epsilon", epsilon), v("etas", etas))
};
struct MultiRmspropOptions : MultiUpdateBase {
  double gamma1 = 0.9, gamma2 = 0.9, epsilon = 1e-8, clip_weights = -1.0;  // gamma2: centered only
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("gamma1", gamma1), v("epsilon", epsilon), v("clip_weights", clip_weights))
};
struct MultiRmspropAlexOptions : MultiRmspropOptions {
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("gamma1", gamma1), v("gamma2", gamma2), v("epsilon", epsilon),
                v("clip_weights", clip_weights))
};
struct MultiAdagradOptions : MultiUpdateBase {
  double epsilon = 1e-7;
  NDGRAD_FIELDS(NDG_MULTI_FIELDS, v("epsilon", epsilon))
};

// Which optimizer a row is (OpDef::param), and how many arrays each weight's group holds.
enum Kind { kSgd, kSgdMom, kNag, kAdam, kAdamW, kRmsprop, kRmspropAlex, kAdagrad };
constexpr int kStride[] = {2, 3, 3, 4, 4, 3, 5, 3};
const char* const kStateNames[][3] = {{}, {"mom"}, {"mom"}, {"mean", "var"}, {"mean", "var"}, {"n"}, {"n", "g", "delta"},
                                      {"history"}};

const MultiUpdateBase& base_of(const OpCall& c) {
  switch (c.op->param) {
    case kSgd: return c.opts<MultiSgdOptions>();
    case kSgdMom:
    case kNag: return c.opts<MultiSgdMomOptions>();
    case kAdam: return c.opts<MultiAdamOptions>();
    case kAdamW: return c.opts<MultiAdamWOptions>();
    case kRmsprop: return c.opts<MultiRmspropOptions>();
    case kRmspropAlex: return c.opts<MultiRmspropAlexOptions>();
    default: return c.opts<MultiAdagradOptions>();
  }
}

void check_list(const char* op, const char* key, const Floats& v, int64_t n, bool optional) {
  if (optional && v.empty()) return;
  if (static_cast<int64_t>(v.size()) != n)
    fail(code::BAD_ARGUMENT, op, ": '", key, "' has ", v.size(), " entries for ", n, " weights");
}

void update_infer(OpCall& c) {
  const char* op = c.name();
  const int kind = c.op->param, stride = kStride[kind];
  const MultiUpdateBase& o = base_of(c);
  const int64_t nw = o.num_weights;
  if (nw < 1) fail(code::BAD_ARGUMENT, op, ": num_weights must be at least 1, got ", nw);
  if (static_cast<int64_t>(c.inputs.size()) != nw * stride)
    fail(code::BAD_ARGUMENT, op, ": expects ", stride, " arrays per weight (weight, grad",
         stride > 2 ? ", states" : "", ") for ", nw, " weights, got ", c.inputs.size(), " arrays");
  check_list(op, "lrs", o.lrs, nw, false);
  check_list(op, "wds", o.wds, nw, false);
  if (kind == kAdamW) check_list(op, "etas", c.opts<MultiAdamWOptions>().etas, nw, true);
  for (int64_t k = 0; k < nw; ++k) {
    const NDArray& w = c.inputs[k * stride];
    if (!is_float(w.dtype))
      fail(code::DTYPE_MISMATCH, op, ": weight ", k, " has dtype ", dtype_name(w.dtype), "; expects float32 or float64");
    for (int j = 1; j < stride; ++j) {
      const NDArray& a = c.inputs[k * stride + j];
      std::string what = j == 1 ? std::string("grad") : std::string(kStateNames[kind][j - 2]);
      if (a.shape != w.shape)
        fail(code::SHAPE_MISMATCH, op, ": weight ", k, " has shape ", shape_str(w.shape), ", its ", what, " has shape ",
             shape_str(a.shape));
      if (a.dtype != w.dtype)
        fail(code::DTYPE_MISMATCH, op, ": weight ", k, " has dtype ", dtype_name(w.dtype), ", its ", what, " has dtype ",
             dtype_name(a.dtype));
    }
    c.written.push_back(static_cast<uint32_t>(k * stride));
    for (int j = 2; j < stride; ++j) c.written.push_back(static_cast<uint32_t>(k * stride + j));
  }
}

UpdateScalars scalars_of(const OpCall& c, int64_t k) {
  const MultiUpdateBase& o = base_of(c);
  UpdateScalars s;
  s.lr = o.lrs[k];
  s.wd = o.wds[k];
  s.rescale = o.rescale_grad;
  s.clip = o.clip_gradient;
  switch (c.op->param) {
    case kSgdMom:
    case kNag:
      s.momentum = c.opts<MultiSgdMomOptions>().momentum;
      break;
    case kAdam: {
      const auto& a = c.opts<MultiAdamOptions>();
      s.beta1 = a.beta1, s.beta2 = a.beta2, s.eps = a.epsilon;
      break;
    }
    case kAdamW: {
      const auto& a = c.opts<MultiAdamWOptions>();
      s.beta1 = a.beta1, s.beta2 = a.beta2, s.eps = a.epsilon, s.eta = a.etas.empty() ? 1.0 : a.etas[k];
      break;
    }
    case kRmsprop:
    case kRmspropAlex: {
      const MultiRmspropOptions& r = c.op->param == kRmsprop ? c.opts<MultiRmspropOptions>()
                                                              : c.opts<MultiRmspropAlexOptions>();
      s.gamma1 = r.gamma1, s.gamma2 = r.gamma2, s.eps = r.epsilon, s.clip_weights = r.clip_weights;
      break;
    }
    case kAdagrad:
      s.eps = c.opts<MultiAdagradOptions>().epsilon;
      break;
  }
  return s;
}

// Elements [b, e) of weight k's group.
template <class T>
void update_range(const OpCall& c, int64_t k, const UpdateScalars& s, int64_t b, int64_t e) {
  const int kind = c.op->param, stride = kStride[kind];
  auto arr = [&](int j) { return c.inputs[k * stride + j].data<T>() + b; };
  int64_t n = e - b;
  switch (kind) {
    case kSgd: kernels::sgd_update<T>(arr(0), arr(1), nullptr, n, s); break;
    case kSgdMom: kernels::sgd_update<T>(arr(0), arr(1), arr(2), n, s); break;
    case kNag: kernels::nag_update<T>(arr(0), arr(1), arr(2), n, s); break;
    case kAdam: kernels::adam_update<T, false>(arr(0), arr(1), arr(2), arr(3), n, s); break;
    case kAdamW: kernels::adam_update<T, true>(arr(0), arr(1), arr(2), arr(3), n, s); break;
    case kRmsprop: kernels::rmsprop_update<T>(arr(0), arr(1), arr(2), n, s); break;
    case kRmspropAlex: kernels::rmspropalex_update<T>(arr(0), arr(1), arr(2), arr(3), arr(4), n, s); break;
    case kAdagrad: kernels::adagrad_update<T>(arr(0), arr(1), arr(2), n, s); break;
  }
}

// Work is cut into pieces of at most kPiece elements of one weight, so many small parameters and
// one large one both spread over the pool; a step under a few pieces runs on the calling thread.
constexpr int64_t kPiece = 1 << 15;

struct Piece {
  int64_t k, b, e;
};

void update_forward(OpCall& c) {
  const int stride = kStride[c.op->param];
  const int64_t nw = base_of(c).num_weights;
  std::vector<UpdateScalars> sc(nw);
  std::vector<Piece> pieces;
  for (int64_t k = 0; k < nw; ++k) {
    sc[k] = scalars_of(c, k);
    int64_t n = c.inputs[k * stride].size();
    for (int64_t b = 0; b < n; b += kPiece) pieces.push_back({k, b, std::min(n, b + kPiece)});
  }
  // the weights may mix float32 and float64 groups
  parallel_for(static_cast<int64_t>(pieces.size()), 2, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const Piece& p = pieces[i];
      NDGRAD_DISPATCH_FLOAT(c.inputs[p.k * stride].dtype, T, update_range<T>(c, p.k, sc[p.k], p.b, p.e));
    }
  });
}

template <class P>
constexpr OpDef update_op(const char* name, Kind kind) {
  return OpDef::named(name).arity(-1).rules(update_infer, update_forward).with_flags(kInPlace).row(kind).with_options<P>();
}

const OpDef kMultiSgd = update_op<MultiSgdOptions>("multi_sgd_update", kSgd);
const OpDef kMultiSgdMom = update_op<MultiSgdMomOptions>("multi_sgd_mom_update", kSgdMom);
const OpDef kMultiNag = update_op<MultiSgdMomOptions>("multi_nag_mom_update", kNag);
const OpDef kMultiAdam = update_op<MultiAdamOptions>("multi_adam_update", kAdam);
const OpDef kMultiAdamW = update_op<MultiAdamWOptions>("multi_adamw_update", kAdamW);
const OpDef kMultiRmsprop = update_op<MultiRmspropOptions>("multi_rmsprop_update", kRmsprop);
const OpDef kMultiRmspropAlex = update_op<MultiRmspropAlexOptions>("multi_rmspropalex_update", kRmspropAlex);
const OpDef kMultiAdagrad = update_op<MultiAdagradOptions>("multi_adagrad_update", kAdagrad);
OpRegistrar r1(kMultiSgd), r2(kMultiSgdMom), r3(kMultiNag), r4(kMultiAdam), r5(kMultiAdamW), r6(kMultiRmsprop),
    r7(kMultiRmspropAlex), r8(kMultiAdagrad);

}  // namespace
}  // namespace ops
}  // namespace ndgrad
