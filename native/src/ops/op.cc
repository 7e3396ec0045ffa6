#include "op.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "../autograd/tape.h"
#include "../engine/engine.h"
#include "bf16.h"

namespace ndgrad {
namespace ops {

// ---- options ----

Options parse_options(const OpDef& op, const Attrs& raw) {
  for (const auto& kv : raw.items()) {
    if (op.options && op.options->declares(kv.first)) continue;
    std::vector<std::string> names;
    for (const OptionField& f : option_fields(op)) names.push_back(f.name);
    fail(code::BAD_ARGUMENT, unknown_option_message(op.name, kv.first, names));
  }
  Options o = op.options ? Options(*op.options) : Options();  // one object, returned in place
  if (op.options) op.options->parse(o.data(), raw, op.name);
  return o;
}

std::vector<OptionField> option_fields(const OpDef& op) {
  std::vector<OptionField> r;
  if (op.options) op.options->list(&r);
  return r;
}

// ---- registry ----

namespace {
struct Registry {
  std::vector<const OpDef*> ops;
  std::unordered_map<std::string, const OpDef*> by_name;
};
Registry& registry() {
  static Registry* r = new Registry();
  return *r;
}
}  // namespace

int register_op(const OpDef& def) {
  Registry& r = registry();
  r.ops.push_back(&def);
  r.by_name[def.name] = &def;
  std::string al = def.aliases ? def.aliases : "";
  size_t pos = 0;
  while (pos < al.size()) {
    size_t sp = al.find(' ', pos);
    if (sp == std::string::npos) sp = al.size();
    if (sp > pos) r.by_name[al.substr(pos, sp - pos)] = &def;
    pos = sp + 1;
  }
  return static_cast<int>(r.ops.size() - 1);
}

const OpDef* find_op(const std::string& name) {
  auto& m = registry().by_name;
  auto it = m.find(name);
  return it == m.end() ? nullptr : it->second;
}

const std::vector<const OpDef*>& all_ops() { return registry().ops; }

const OpDef& op_ref(const char* name) {
  const OpDef* d = find_op(name);
  if (!d) fail(code::BAD_ARGUMENT, "unknown op '", name, "'");
  return *d;
}

const char* OpCall::name() const { return op ? op->name : "?"; }
const char* GradCall::name() const { return op ? op->name : "?"; }

NDArray GradCall::out_grad(size_t i) const {
  if (out_grads[i].defined()) return out_grads[i];
  try {
    return zeros(out_shapes[i], out_dtypes[i]);
  } catch (const AllocationError& e) {  // outside invoke: name the op whose gradient needed it
    throw Error(e.code(), std::string("backward of ") + name() + ": " + e.message());
  }
}

void expect_float(const OpCall& c, size_t i) {
  if (!is_float(c.inputs[i].dtype))
    fail(code::DTYPE_MISMATCH, c.name(), ": expects a float32 or float64 array, got ", dtype_name(c.inputs[i].dtype));
}

std::string shapes_of(const OpCall& c) { return shapes_of(c.inputs); }

std::string shapes_of(InputList inputs) {
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) s += ", ";
    s += shape_str(inputs[i].shape);
  }
  return s;
}

void expect_same_dtype(const OpCall& c) {
  for (size_t i = 1; i < c.inputs.size(); ++i)
    if (c.inputs[i].dtype != c.inputs[0].dtype)
      fail(code::DTYPE_MISMATCH, c.name(), ": operands have different dtypes ", dtype_name(c.inputs[0].dtype), " ",
           shape_str(c.inputs[0].shape), " and ", dtype_name(c.inputs[i].dtype), " ", shape_str(c.inputs[i].shape),
           " (convert one with astype)");
}

// ---- invoke ----

namespace {
bool overlaps(const NDArray& a, const NDArray& b) { return a.defined() && b.defined() && a.storage == b.storage; }
// kAliasSafe covers an output that IS an input (same elements in the same order); a shifted or
// broadcast view of the same storage would be read after it was overwritten.
bool exact_alias(const NDArray& a, const NDArray& b) {
  return a.offset == b.offset && a.dtype == b.dtype && a.shape == b.shape;
}
}  // namespace

namespace {
// op.forward, with recording paused while it runs if it is on (a forward's internal op calls are
// implementation detail, never recorded); not touching the flag otherwise keeps tiny ops cheap.
void run_forward(const OpDef& op, OpCall& c, bool recording) {
  if (!recording) return op.forward(c);
  autograd::RecordingPaused paused;
  op.forward(c);
}

// Runs f, naming the op in allocation failures (the allocator and kernels do not know it).
template <class F>
void naming_allocation_errors(const OpDef& op, InputList inputs, F f) {
  try {
    f();
  } catch (const AllocationError& e) {
    std::string in = inputs.empty() ? "" : " (inputs " + shapes_of(inputs) + ")";
    throw Error(e.code(), std::string(op.name) + in + ": " + e.message());
  } catch (const std::bad_alloc&) {
    throw Error(code::OUT_OF_MEMORY, std::string(op.name) + ": out of memory (the system refused an allocation)");
  }
}
template <class F>
void naming_allocation_errors(const OpDef& op, const OpCall& c, F f) {
  naming_allocation_errors(op, c.inputs, f);
}

// The outputs (or `out`, unless computed aside) and forward's state arrays, at the call.
void allocate(OpCall& c, const NDArray* out, bool aside) {
  size_t nout = c.out_shapes.size();
  c.outputs.clear();  // made in place (no default arrays to overwrite); a retry starts again
  for (size_t i = 0; i < nout; ++i)
    c.outputs.push_back(out && !aside ? out->plain() : empty(c.out_shapes[i], c.out_dtypes[i]));
  c.state.resize(c.state_shapes.size());
  for (size_t i = 0; i < c.state_shapes.size(); ++i) c.state[i] = empty(c.state_shapes[i], c.state_dtypes[i]);
}

// The kernel work of a call whose outputs are allocated: forward (or a view's copy), then the copy
// into `aside_target` for results computed aside. Runs at the call or on the engine thread.
void compute(const OpDef& op, OpCall& c, const NDArray* aside_target, bool recording) {
  if (c.view_of >= 0) {
    copy_into(view(c.inputs[c.view_of], c.out_shapes[0], c.view_offset), c.outputs[0]);
  } else {
    run_forward(op, c, recording);
  }
  if (aside_target) copy_into(c.outputs[0], *aside_target);
}

// Empty results are complete once allocated: skipping forward keeps an op on a huge-but-empty
// shape O(1) (a kernel would still loop over the non-zero dims, e.g. every batch entry).
bool nothing_to_compute(const OpCall& c) {
  bool all_empty = !c.outputs.empty();
  for (const NDArray& o : c.outputs) all_empty = all_empty && o.size() == 0;
  return all_empty;
}

// Lists in `t` the storages a call reads and writes: what stops it when one carries an error, and
// what carries the call's own error (engine.h); returns how many bytes it touches (the engine's
// inline rule).
size_t note_touched(const OpCall& c, const NDArray* aside_target, engine::Task& t) {
  size_t work_bytes = 0;
  for (const NDArray& a : c.inputs) {
    t.reads.push_back(a.storage.get());
    work_bytes += a.nbytes();
  }
  for (const NDArray& o : c.outputs) {
    t.writes.push_back(o.storage.get());
    work_bytes += o.nbytes();
  }
  for (const NDArray& st : c.state) t.writes.push_back(st.storage.get());
  for (uint32_t i : c.written) t.writes.push_back(c.inputs[i].storage.get());
  if (aside_target) t.writes.push_back(aside_target->storage.get());
  return work_bytes;
}

// A call queued on the engine: owns plain copies of everything its work touches (an input disposed
// meanwhile stays alive until the work has run).
struct QueuedCall final : engine::Task {
  ArrayList inputs;
  Options options;
  OpCall c;
  NDArray aside_target;
  QueuedCall(const OpCall& src, const NDArray* aside, const engine::Task& t) : options(*src.options) {
    for (const NDArray& a : src.inputs) inputs.push_back(a.plain());
    c.op = src.op;
    c.inputs = InputList(inputs);
    c.options = &options;
    c.training = src.training;
    c.out_shapes = src.out_shapes;
    c.out_dtypes = src.out_dtypes;
    for (const NDArray& o : src.outputs) c.outputs.push_back(o.plain());
    for (const NDArray& s : src.state) c.state.push_back(s.plain());
    c.written = src.written;
    c.view_of = src.view_of;
    c.view_offset = src.view_offset;
    if (aside) aside_target = aside->plain();
    reads = t.reads;
    writes = t.writes;
    for (const NDArray& o : c.outputs) pending_bytes += o.nbytes();
  }
  void run() override {
    // Nested op calls of a forward see the call's training flag (this thread's is its own).
    struct Training {
      bool prev;
      explicit Training(bool on) : prev(autograd::set_training(on)) {}
      ~Training() { autograd::set_training(prev); }
    } training(c.training);
    const NDArray* aside = aside_target.defined() ? &aside_target : nullptr;
    naming_allocation_errors(*c.op, c, [&] { compute(*c.op, c, aside, false); });
  }
};

// A call's work run at the call: borrows the call (nothing copied, nothing allocated).
struct CallNow final : engine::Task {
  const OpDef& op;
  OpCall& c;
  const NDArray* aside_target;
  bool recording;
  CallNow(const OpDef& o, OpCall& call, const NDArray* aside, bool rec)
      : op(o), c(call), aside_target(aside), recording(rec) {}
  void run() override { naming_allocation_errors(op, c, [&] { compute(op, c, aside_target, recording); }); }
};

// Runs the call's work now (naive engine, nested call, or a small op on an idle engine) or queues it.
void run_or_queue(const OpDef& op, OpCall& c, const NDArray* aside_target, bool recording) {
  CallNow now(op, c, aside_target, recording);
  if (!engine::run_if_now(now, note_touched(c, aside_target, now))) engine::submit(std::make_unique<QueuedCall>(c, aside_target, now));
}
}  // namespace

namespace {
// An in-place op (kInPlace) after infer: every check, then forward (now or queued), then the
// version bumps.
ArrayList run_in_place(const OpDef& op, OpCall& c, const NDArray* out) {
  if (out) fail(code::BAD_ARGUMENT, op.name, ": updates its arrays in place; 'out' is not taken");
  for (uint32_t i : c.written) autograd::check_in_place_target(c, c.inputs[i]);
  // A written array sharing storage with another input would be read after it was overwritten.
  std::vector<std::pair<const void*, size_t>> st;
  st.reserve(c.inputs.size());
  for (size_t i = 0; i < c.inputs.size(); ++i)
    if (c.inputs[i].storage) st.emplace_back(c.inputs[i].storage.get(), i);
  std::sort(st.begin(), st.end());
  std::vector<bool> written(c.inputs.size(), false);
  for (uint32_t i : c.written) written[i] = true;
  for (size_t j = 1; j < st.size(); ++j)
    if (st[j].first == st[j - 1].first && (written[st[j].second] || written[st[j - 1].second]))
      fail(code::BAD_ARGUMENT, op.name, ": arrays ", st[j - 1].second, " and ", st[j].second,
           " share memory, and one of them is updated in place");
  run_or_queue(op, c, nullptr, autograd::is_recording());
  for (uint32_t i : c.written) c.inputs[i].bump_version();
  return {};
}
}  // namespace

namespace {
// ---- the fast path of elementwise calls (OpDef::flat) ----
// A call on arrays of one shape and dtype, without options or `out`, that gives one result of that
// shape and dtype and is not recorded: the op's flat kernel, run (now or queued) with the engine's
// rules as any call, but without infer, the call record and forward's generic checks. The result
// is the one forward would give: flat makes forward's own kernel call for such inputs.
constexpr size_t kFlatMaxInputs = 4;

// The number operand of a call with one (invoke_scalar), carried to the kernel.
struct Number {
  double value;
  bool reverse;
};

bool takes_fast_path(const OpDef& op, InputList inputs, bool scalar, bool recording) {
  if (!op.flat_ok || inputs.empty() || inputs.size() > kFlatMaxInputs) return false;
  const NDArray& a = inputs[0];
  if (!a.defined() || a.dtype == DType::BFloat16) return false;  // bfloat16 is computed in float32 (bf16.cc)
  for (size_t i = 1; i < inputs.size(); ++i) {
    const NDArray& b = inputs[i];
    if (!b.defined() || b.dtype != a.dtype || b.shape != a.shape) return false;
  }
  if (recording && autograd::should_record(inputs)) return false;
  return op.flat_ok(op, a.dtype, inputs.size(), scalar);
}
bool takes_fast_path(const OpDef& op, InputList inputs, const Options& options, const NDArray* out, bool recording) {
  return !out && !options.type() && takes_fast_path(op, inputs, false, recording);
}

void flat_compute(const OpDef& op, InputList inputs, const Number* number, const NDArray& y) {
  const void* in[kFlatMaxInputs];
  for (size_t i = 0; i < inputs.size(); ++i) in[i] = inputs[i].raw();
  op.flat(op, y.dtype, in, number ? &number->value : nullptr, number && number->reverse, y.raw(), y.size());
}

size_t note_flat(InputList inputs, const NDArray& y, engine::Task& t) {
  size_t work_bytes = y.nbytes();
  for (const NDArray& a : inputs) {
    t.reads.push_back(a.storage.get());
    work_bytes += a.nbytes();
  }
  t.writes.push_back(y.storage.get());
  return work_bytes;
}

// Run at the call: borrows the inputs and the result.
struct FlatNow final : engine::Task {
  const OpDef& op;
  InputList inputs;
  const Number* number;
  const NDArray& y;
  FlatNow(const OpDef& o, InputList in, const Number* num, const NDArray& out) : op(o), inputs(in), number(num), y(out) {}
  void run() override { naming_allocation_errors(op, inputs, [&] { flat_compute(op, inputs, number, y); }); }
};

// Queued: owns plain copies (an input disposed meanwhile stays alive until the work has run).
struct FlatQueued final : engine::Task {
  const OpDef& op;
  SmallVec<NDArray, kFlatMaxInputs> inputs;
  Number number;
  bool has_number;
  NDArray y;
  explicit FlatQueued(const FlatNow& now)
      : op(now.op), number(now.number ? *now.number : Number{0, false}), has_number(now.number), y(now.y.plain()) {
    for (const NDArray& a : now.inputs) inputs.push_back(a.plain());
    reads = now.reads;
    writes = now.writes;
    pending_bytes = y.nbytes();
  }
  void run() override {
    InputList in(inputs);
    naming_allocation_errors(op, in, [&] { flat_compute(op, in, has_number ? &number : nullptr, y); });
  }
};

NDArray run_flat(const OpDef& op, InputList inputs, const Number* number = nullptr) {
  const NDArray& a = inputs[0];
  NDArray y;
  naming_allocation_errors(op, inputs, [&] {
    try {
      y = empty(a.shape, a.dtype);
    } catch (const AllocationError&) {
      if (!engine::drained_for_memory()) throw;
      y = empty(a.shape, a.dtype);  // queued work has released what it held
    }
  });
  if (y.size() == 0) return y;  // nothing to compute (as invoke skips forward)
  FlatNow now(op, inputs, number, y);
  if (!engine::run_if_now(now, note_flat(inputs, y, now))) engine::submit(std::make_unique<FlatQueued>(now));
  return y;
}

// The whole of invoke, into `c` (made by the caller): the results are left in c.outputs, so invoke1
// takes its one result from there without moving the list.
void run_call(const OpDef& op, InputList inputs, const Options& options, const NDArray* out, OpCall& c) {
  if (!(op.flags & kBF16Storage) && has_bf16(inputs) && !((op.flags & kBF16Native) && all_bf16(inputs))) {
    c.outputs = invoke_in_float32(op, inputs, options, out);
    return;
  }
  c.op = &op;
  c.inputs = inputs;
  // No options given: the op's defaults (made once per op).
  c.options = options.type() || !op.options ? &options : &op.options->defaults();
  const autograd::Mode mode = autograd::mode();
  c.training = mode.training;
  if (op.num_inputs >= 0 && static_cast<int>(c.inputs.size()) != op.num_inputs)
    fail(code::BAD_ARGUMENT, op.name, ": expects ", op.num_inputs, " array inputs, got ", c.inputs.size());
  for (auto& a : c.inputs)
    if (!a.defined()) fail(code::BAD_ARGUMENT, op.name, ": an input array is missing");
  if (c.options->type() != op.options)
    fail(code::BAD_ARGUMENT, op.name, ": internal error: called with options of another op");
  op.infer(c);
  if (!(op.flags & (kBF16Storage | kBF16Native))) check_bf16_results(c);
  if (op.flags & kInPlace) {
    c.outputs = run_in_place(op, c, out);
    return;
  }
  size_t nout = c.out_shapes.size();
  for (const Shape& s : c.out_shapes) {
    if (s.size() > kMaxDims)
      fail(code::BAD_ARGUMENT, op.name, ": the result shape ", shape_str(s), " of inputs ", shapes_of(c), " has ",
           s.size(), " dimensions; at most ", kMaxDims, " are supported");
    // Views are never allocated (empty() checks sizes), so check here that no dim is negative and
    // the element count does not overflow: a wrapped count would make a view larger than its storage.
    for (int64_t d : s)
      if (d < 0) fail(code::SHAPE_MISMATCH, op.name, ": invalid result shape ", shape_str(s), " for inputs ", shapes_of(c));
    if (numel(s) < 0)
      fail(code::OUT_OF_MEMORY, op.name, ": the result shape ", shape_str(s), " of inputs ", shapes_of(c),
           " has too many elements");
  }
  if (c.view_of >= 0) {
    const NDArray& src = c.inputs[c.view_of];
    for (const Shape& s : c.out_shapes)
      if (c.view_offset < 0 || c.view_offset > src.size() || numel(s) > src.size() - c.view_offset)
        fail(code::SHAPE_MISMATCH, op.name, ": a view of shape ", shape_str(s), " at offset ", c.view_offset,
             " does not fit in the input of shape ", shape_str(src.shape), " (internal error)");
  }
  const bool recording = mode.recording;

  if (out) {
    if (nout != 1) fail(code::BAD_ARGUMENT, op.name, ": 'out' needs an op with one output");
    if (out->shape != c.out_shapes[0])
      fail(code::SHAPE_MISMATCH, op.name, ": out array has shape ", shape_str(out->shape), ", the result has shape ",
           shape_str(c.out_shapes[0]));
    if (out->dtype != c.out_dtypes[0])
      fail(code::DTYPE_MISMATCH, op.name, ": out array has dtype ", dtype_name(out->dtype), ", the result has dtype ",
           dtype_name(c.out_dtypes[0]));
    if (recording) autograd::check_out_target(c, *out);
  }

  bool aside = false;  // compute into a fresh array, then copy into out
  if (out)
    for (auto& a : c.inputs)
      if (overlaps(a, *out) && !((op.flags & kAliasSafe) && exact_alias(a, *out))) aside = true;
  if (out && (op.flags & kScratch)) aside = true;  // computed aside (see kScratch)

  if (c.view_of >= 0 && !out) {
    for (size_t i = 0; i < nout; ++i) c.outputs.push_back(view(c.inputs[c.view_of], c.out_shapes[i], c.view_offset));
  } else {
    naming_allocation_errors(op, c, [&] {
      try {
        allocate(c, out, aside);
      } catch (const AllocationError&) {
        if (!engine::drained_for_memory()) throw;
        allocate(c, out, aside);  // queued work has released what it held
      }
    });
    if (!nothing_to_compute(c)) run_or_queue(op, c, aside ? out : nullptr, recording);
    if (aside) c.outputs[0] = out->plain();
  }
  if (out) out->bump_version();
  for (uint32_t i : c.written) c.inputs[i].bump_version();  // inputs forward updates (running statistics)
  if (recording && autograd::should_record(c.inputs)) {
    autograd::record(c);
  } else if (out) {
    // An unrecorded write (outside record, or from constants) keeps the target's autograd entry:
    // a variable updated in place (an optimizer step) stays a variable, and a recorded result
    // written in place keeps its history, so backward can report INPLACE_MODIFIED.
    c.outputs[0].node = out->node;
    c.outputs[0].out_index = out->out_index;
  }
}
}  // namespace

ArrayList invoke(const OpDef& op, InputList inputs, const Options& options, const NDArray* out) {
  if (takes_fast_path(op, inputs, options, out, autograd::is_recording())) {
    ArrayList r;
    r.push_back(run_flat(op, inputs));
    return r;
  }
  OpCall c;
  run_call(op, inputs, options, out, c);
  return std::move(c.outputs);
}

NDArray invoke1(const OpDef& op, InputList inputs, const Options& options, const NDArray* out) {
  if (takes_fast_path(op, inputs, options, out, autograd::is_recording())) return run_flat(op, inputs);
  OpCall c;
  run_call(op, inputs, options, out, c);
  return std::move(c.outputs[0]);
}

NDArray invoke_scalar(const OpDef& op, const NDArray& x, double v, bool reverse) {
  if (takes_fast_path(op, {&x}, true, autograd::is_recording())) {
    const Number number{v, reverse};
    return run_flat(op, {&x}, &number);
  }
  Attrs at;
  at.set_number("scalar", v);
  if (reverse) at.set_flag("reverse", true);
  return invoke1(op, {&x}, parse_options(op, at));
}

NDArray invoke1(const char* name, InputList inputs, const Options& options) {
  return invoke1(op_ref(name), inputs, options);
}

}  // namespace ops
}  // namespace ndgrad
