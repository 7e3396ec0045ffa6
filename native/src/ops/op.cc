#include "op.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "../autograd/tape.h"

namespace ndgrad {
namespace ops {

// ---- Attrs ----

const AttrValue* Attrs::get(const char* key) const {
  for (auto& kv : items_)
    if (kv.first == key) return kv.second.kind == AttrValue::None ? nullptr : &kv.second;
  return nullptr;
}

bool Attrs::has(const char* key) const { return get(key) != nullptr; }

double Attrs::number(const char* op, const char* key, double def) const {
  const AttrValue* v = get(key);
  if (!v) return def;
  if (v->kind == AttrValue::Bool) return v->num;
  if (v->kind != AttrValue::Number) fail(code::BAD_ARGUMENT, op, ": option '", key, "' must be a number");
  return v->num;
}

int64_t Attrs::integer(const char* op, const char* key, int64_t def) const {
  const AttrValue* v = get(key);
  if (!v) return def;
  double d = v->kind == AttrValue::Numbers && v->nums.size() == 1 ? v->nums[0] : v->num;
  if ((v->kind != AttrValue::Number && !(v->kind == AttrValue::Numbers && v->nums.size() == 1)) ||
      std::floor(d) != d || std::fabs(d) > 9.0e15)
    fail(code::BAD_ARGUMENT, op, ": option '", key, "' must be an integer");
  return static_cast<int64_t>(d);
}

bool Attrs::flag(const char* op, const char* key, bool def) const {
  const AttrValue* v = get(key);
  if (!v) return def;
  if (v->kind != AttrValue::Bool && v->kind != AttrValue::Number)
    fail(code::BAD_ARGUMENT, op, ": option '", key, "' must be a boolean");
  return v->num != 0;
}

std::string Attrs::string(const char* op, const char* key, const std::string& def) const {
  const AttrValue* v = get(key);
  if (!v) return def;
  if (v->kind != AttrValue::String) fail(code::BAD_ARGUMENT, op, ": option '", key, "' must be a string");
  return v->str;
}

std::vector<int64_t> Attrs::ints(const char* op, const char* key, bool* present) const {
  const AttrValue* v = get(key);
  if (present) *present = v != nullptr;
  std::vector<int64_t> r;
  if (!v) return r;
  auto check = [&](double d) {
    if (std::floor(d) != d || std::fabs(d) > 9.0e15)
      fail(code::BAD_ARGUMENT, op, ": option '", key, "' must hold integers");
    return static_cast<int64_t>(d);
  };
  if (v->kind == AttrValue::Number) r.push_back(check(v->num));
  else if (v->kind == AttrValue::Numbers)
    for (double d : v->nums) r.push_back(check(d));
  else
    fail(code::BAD_ARGUMENT, op, ": option '", key, "' must be an integer or a list of integers");
  return r;
}

std::vector<int64_t> Attrs::tuple(const char* op, const char* key, int nd, int64_t def, int64_t min) const {
  bool present = false;
  std::vector<int64_t> v = ints(op, key, &present);
  if (!present || v.empty()) return std::vector<int64_t>(nd, def);
  if (v.size() == 1 && nd == 2) v.push_back(v[0]);
  if (static_cast<int>(v.size()) != nd)
    fail(code::BAD_ARGUMENT, op, ": ", key, " must have ", nd, " entries (one per spatial axis), got ", v.size());
  for (int64_t d : v)
    if (d < min) fail(code::BAD_ARGUMENT, op, ": ", key, " entries must be >= ", min, ", got ", d);
  return v;
}

void Attrs::set(const std::string& key, AttrValue v) {
  for (auto& kv : items_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  items_.emplace_back(key, std::move(v));
}
void Attrs::set_number(const std::string& key, double v) {
  AttrValue a;
  a.kind = AttrValue::Number;
  a.num = v;
  set(key, std::move(a));
}
void Attrs::set_flag(const std::string& key, bool v) {
  AttrValue a;
  a.kind = AttrValue::Bool;
  a.num = v ? 1 : 0;
  set(key, std::move(a));
}
void Attrs::set_ints(const std::string& key, const std::vector<int64_t>& v) {
  AttrValue a;
  a.kind = AttrValue::Numbers;
  for (int64_t x : v) a.nums.push_back(static_cast<double>(x));
  set(key, std::move(a));
}
void Attrs::set_string(const std::string& key, const std::string& v) {
  AttrValue a;
  a.kind = AttrValue::String;
  a.str = v;
  set(key, std::move(a));
}

// ---- attribute schemas ----

std::vector<AttrSpec> parse_attrs(const char* spec) {
  std::vector<AttrSpec> r;
  const char* s = spec ? spec : "";
  while (*s) {
    while (*s == ' ') ++s;
    if (!*s) break;
    AttrSpec a;
    a.option = *s != '*';
    if (!a.option) ++s;
    const char* b = s;
    while (*s && *s != ' ') ++s;
    std::string tok(b, s);
    size_t colon = tok.find(':'), eq = tok.find('=');
    a.name = tok.substr(0, std::min(colon, eq));
    if (colon != std::string::npos) a.type = tok.substr(colon + 1, eq == std::string::npos ? std::string::npos : eq - colon - 1);
    if (eq != std::string::npos) a.def = tok.substr(eq + 1);
    r.push_back(std::move(a));
  }
  return r;
}

namespace {

// Whether `spec` declares `key` (scans the string: no parsing or allocation on the op path).
bool spec_has(const char* s, const std::string& key) {
  if (!s) return false;
  while (*s) {
    while (*s == ' ' || *s == '*') ++s;
    const char* b = s;
    while (*s && *s != ':' && *s != '=' && *s != ' ') ++s;
    if (static_cast<size_t>(s - b) == key.size() && std::memcmp(b, key.data(), key.size()) == 0) return true;
    while (*s && *s != ' ') ++s;
  }
  return false;
}

std::string fold(const std::string& s) {
  std::string r;
  for (char ch : s)
    if (ch != '_' && ch != '-') r += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
size_t edit_distance(const std::string& a, const std::string& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<size_t> d((n + 1) * (m + 1));
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * (m + 1) + j]; };
  for (size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  return at(n, m);
}

}  // namespace

std::string unknown_option_message(const std::string& op, const std::string& key, const std::vector<std::string>& valid) {
  std::string k = fold(key.size() > 64 ? key.substr(0, 64) : key);
  const std::string* best = nullptr;
  size_t best_d = 0;
  for (const std::string& v : valid) {
    std::string f = fold(v);
    size_t d = edit_distance(k, f);
    // close: a few edits for its length, and not a rewrite of a short key ('x' is not 'p')
    size_t allowed = f.size() <= 4 ? 1 : f.size() <= 8 ? 2 : 3;
    if (d <= allowed && d < k.size() && (!best || d < best_d)) {
      best = &v;
      best_d = d;
    }
  }
  std::string shown = key.size() > 64 ? key.substr(0, 64) + "..." : key;
  std::string msg = op + ": unknown option '" + shown + "'";
  if (best) return msg + " (did you mean '" + *best + "'?)";
  if (valid.empty()) return msg + " (" + op + " takes no options)";
  msg += " (valid options: ";
  for (size_t i = 0; i < valid.size(); ++i) msg += (i ? ", " : "") + valid[i];
  return msg + ")";
}

void check_attrs(const OpDef& op, const Attrs& attrs) {
  for (const auto& kv : attrs.items()) {
    if (spec_has(op.attrs, kv.first)) continue;
    std::vector<std::string> names;
    for (const AttrSpec& a : parse_attrs(op.attrs)) names.push_back(a.name);
    fail(code::BAD_ARGUMENT, unknown_option_message(op.name, kv.first, names));
  }
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

std::string shapes_of(const OpCall& c) {
  std::string s;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (i) s += ", ";
    s += shape_str(c.inputs[i].shape);
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
// Allocates the outputs (or takes `out`) and runs forward. Throws before `out` is written, or
// (ops that compute aside) without writing it at all.
void compute(const OpDef& op, OpCall& c, const NDArray* out, bool aside, bool recording) {
  size_t nout = c.out_shapes.size();
  for (size_t i = 0; i < nout; ++i)
    c.outputs[i] = out && !aside ? out->plain() : empty(c.out_shapes[i], c.out_dtypes[i]);
  // Empty results are complete once allocated: skipping forward keeps an op on a huge-but-empty
  // shape O(1) (a kernel would still loop over the non-zero dims, e.g. every batch entry).
  bool all_empty = nout > 0;
  for (size_t i = 0; i < nout; ++i) all_empty = all_empty && c.outputs[i].size() == 0;
  if (all_empty) {
    // nothing to compute
  } else if (c.view_of >= 0) {
    copy_into(view(c.inputs[c.view_of], c.out_shapes[0], c.view_offset), c.outputs[0]);
  } else if (recording) {
    // Ops a forward calls internally are implementation detail, never recorded.
    autograd::set_recording(false);
    try {
      op.forward(c);
    } catch (...) {
      autograd::set_recording(true);
      throw;
    }
    autograd::set_recording(true);
  } else {
    op.forward(c);
  }
  if (out && c.outputs[0].storage != out->storage) {  // computed aside: written only now
    copy_into(c.outputs[0], *out);
    c.outputs[0] = out->plain();
  }
}
}  // namespace

ArrayList invoke(const OpDef& op, ArrayList inputs, const Attrs& attrs, const NDArray* out) {
  OpCall c;
  c.op = &op;
  c.inputs = std::move(inputs);
  c.attrs = &attrs;
  c.training = autograd::is_training();
  if (op.num_inputs >= 0 && static_cast<int>(c.inputs.size()) != op.num_inputs)
    fail(code::BAD_ARGUMENT, op.name, ": expects ", op.num_inputs, " array inputs, got ", c.inputs.size());
  for (auto& a : c.inputs)
    if (!a.defined()) fail(code::BAD_ARGUMENT, op.name, ": an input array is missing");
  check_attrs(op, attrs);
  op.infer(c);
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
  bool recording = autograd::is_recording();

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

  c.outputs.resize(nout);
  if (c.view_of >= 0 && !out) {
    for (size_t i = 0; i < nout; ++i) c.outputs[i] = view(c.inputs[c.view_of], c.out_shapes[i], c.view_offset);
  } else {
    try {
      compute(op, c, out, aside, recording);
    } catch (const AllocationError& e) {  // the allocator and kernels do not know the op: name it
      std::string in = c.inputs.empty() ? "" : " (inputs " + shapes_of(c) + ")";
      throw Error(e.code(), std::string(op.name) + in + ": " + e.message());
    } catch (const std::bad_alloc&) {
      throw Error(code::OUT_OF_MEMORY, std::string(op.name) + ": out of memory (the system refused an allocation)");
    }
  }
  if (out) out->bump_version();
  if (recording && autograd::should_record(c.inputs)) {
    autograd::record(c);
  } else if (out) {
    // An unrecorded write (outside record, or from constants) keeps the target's autograd entry:
    // a variable updated in place (an optimizer step) stays a variable, and a recorded result
    // written in place keeps its history, so backward can report INPLACE_MODIFIED.
    c.outputs[0].node = out->node;
    c.outputs[0].out_index = out->out_index;
  }
  return std::move(c.outputs);
}

NDArray invoke1(const OpDef& op, ArrayList inputs, const Attrs& attrs, const NDArray* out) {
  ArrayList r = invoke(op, std::move(inputs), attrs, out);
  return std::move(r[0]);
}

NDArray invoke1(const char* name, ArrayList inputs, const Attrs& attrs) {
  return invoke1(op_ref(name), std::move(inputs), attrs);
}

}  // namespace ops
}  // namespace ndgrad
