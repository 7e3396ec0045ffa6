// An op's options: declared once as a typed struct (names, types, defaults), parsed once from the
// JS values at the call, and kept with the call and the graph node (as MXNet's parameter structs).
//
//   struct ConcatOptions {
//     int64_t dim = 1;                  // the default is the member's initialiser
//     NDGRAD_FIELDS(v("dim", dim))      // name and member, in the order the op table lists them
//   };
//
// NDGRAD_FIELDS defines `fields(v)`, the one declaration: parsing, the unknown-key check, the op
// table the TS face reads and the graph export all walk it. A field passed with kArgument is one
// the TS wrapper fills from a positional parameter or ndgrad sets internally; the others are the
// user's options (camelCase in TS: pool_type -> poolType). Maybe<T> is a field with no default
// (absent unless given); std::optional's emptiness is how an op tells "not given".
#pragma once
#include <cstdint>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../core/dtype.h"
#include "../core/error.h"
#include "../core/small_vec.h"

namespace ndgrad {
namespace ops {

// An attribute value from JS: number, bool, string, list of numbers, or null.
struct AttrValue {
  enum Kind { None, Number, Bool, String, Numbers } kind = None;
  double num = 0;
  std::string str;
  std::vector<double> nums;
};

// The untyped key/value pairs the binding reads from a JS options object; parse_options turns them
// into the op's typed struct (the readers below give the errors a wrong type gets).
class Attrs {
 public:
  bool has(const char* key) const;
  const AttrValue* get(const char* key) const;
  double number(const char* op, const char* key, double def) const;
  // An integer-valued number; throws BAD_ARGUMENT naming op and key otherwise.
  int64_t integer(const char* op, const char* key, int64_t def) const;
  bool flag(const char* op, const char* key, bool def) const;
  std::string string(const char* op, const char* key, const std::string& def) const;
  // A number or a list of integers; `present` tells whether the key was given (and not null).
  std::vector<int64_t> ints(const char* op, const char* key, bool* present = nullptr) const;
  void set(const std::string& key, AttrValue v);
  void set_number(const std::string& key, double v);
  void set_flag(const std::string& key, bool v);
  using Items = SmallVec<std::pair<std::string, AttrValue>, 2>;
  const Items& items() const { return items_; }

 private:
  Items items_;
};

// The fields of an options struct: v(name, member[, kArgument]) for each, separated by commas.
#define NDGRAD_FIELDS(...) \
  template <class V>       \
  void fields(V& v) {      \
    (__VA_ARGS__);         \
  }

using Ints = std::vector<int64_t>;
using Floats = std::vector<double>;  // a number or a list of numbers (per-parameter learning rates)
template <class T>
using Maybe = std::optional<T>;  // absent unless given (no default)

enum FieldRole { kOption, kArgument };

// One declared field, as the op table exports it: type num | int | bool | str | ints | nums; `def` is the
// default as text ('' when absent).
struct OptionField {
  std::string name, type, def;
  bool option;
};

class Options;

// The type-erased face of one options struct (one per struct type, compared by address).
struct OptionType {
  const Options& (*defaults)();  // made once
  size_t size;
  void (*construct)(void* p);
  void (*copy)(void* dst, const void* src);
  void (*destroy)(void* p);
  void (*parse)(void* p, const Attrs& raw, const char* op);
  bool (*declares)(const std::string& key);
  void (*list)(std::vector<OptionField>* out);
  std::string (*json)(const void* p);  // the fields that differ from their default, as a JSON object
};

namespace detail {

inline const char* type_name(const double*) { return "num"; }
inline const char* type_name(const int64_t*) { return "int"; }
inline const char* type_name(const bool*) { return "bool"; }
inline const char* type_name(const std::string*) { return "str"; }
inline const char* type_name(const Ints*) { return "ints"; }
inline const char* type_name(const Floats*) { return "nums"; }
inline const char* type_name(const DType*) { return "str"; }  // a dtype travels by name
template <class T>
const char* type_name(const Maybe<T>*) {
  return type_name(static_cast<const T*>(nullptr));
}

inline void read(const Attrs& a, const char* op, const char* k, double& v) { v = a.number(op, k, v); }
inline void read(const Attrs& a, const char* op, const char* k, int64_t& v) { v = a.integer(op, k, v); }
inline void read(const Attrs& a, const char* op, const char* k, bool& v) { v = a.flag(op, k, v); }
inline void read(const Attrs& a, const char* op, const char* k, std::string& v) {
  if (a.has(k)) v = a.string(op, k, v);
}
inline void read(const Attrs& a, const char* op, const char* k, Ints& v) {
  bool present = false;
  Ints r = a.ints(op, k, &present);
  if (present) v = std::move(r);
}
void read(const Attrs& a, const char* op, const char* k, Floats& v);
void read(const Attrs& a, const char* op, const char* k, DType& v);
template <class T>
void read(const Attrs& a, const char* op, const char* k, Maybe<T>& v) {
  if (!a.has(k)) return;
  T t{};
  read(a, op, k, t);
  v = std::move(t);
}

// JSON text of a value (numbers as an ostream prints them).
std::string to_json(double v);
inline std::string to_json(int64_t v) { return std::to_string(v); }
inline std::string to_json(bool v) { return v ? "true" : "false"; }
std::string to_json(const std::string& v);
std::string to_json(const Ints& v);
std::string to_json(const Floats& v);
inline std::string to_json(DType v) { return to_json(std::string(dtype_name(v))); }
template <class T>
std::string to_json(const Maybe<T>& v) {
  return v ? to_json(*v) : "";
}

struct Parser {
  const Attrs& raw;
  const char* op;
  template <class T>
  void operator()(const char* key, T& v, FieldRole = kOption) {
    read(raw, op, key, v);
  }
};
struct Finder {
  const std::string& key;
  bool found = false;
  template <class T>
  void operator()(const char* name, T&, FieldRole = kOption) {
    found = found || key == name;
  }
};
struct Lister {
  std::vector<OptionField>* out;
  template <class T>
  void operator()(const char* name, T& v, FieldRole role = kOption) {
    std::string def = to_json(v);
    if (def.size() >= 2 && def.front() == '"') def = def.substr(1, def.size() - 2);
    out->push_back(OptionField{name, type_name(&v), def, role == kOption});
  }
};
// Walks a value and its default together; emits the fields that differ.
struct JsonWriter {
  std::vector<std::pair<const char*, std::string>> defaults;
  std::string out = "{";
  size_t i = 0;
  template <class T>
  void operator()(const char* name, T& v, FieldRole = kOption) {
    std::string s = to_json(v);
    if (s != defaults[i++].second && !s.empty()) out += (out.size() > 1 ? ",\"" : "\"") + std::string(name) + "\":" + s;
  }
};
struct DefaultCollector {
  std::vector<std::pair<const char*, std::string>>* out;
  template <class T>
  void operator()(const char* name, T& v, FieldRole = kOption) {
    out->emplace_back(name, to_json(v));
  }
};

template <class P>
struct Erased {
  static const Options& defaults();
  static void construct(void* p) { new (p) P(); }
  static void copy(void* d, const void* s) { new (d) P(*static_cast<const P*>(s)); }
  static void destroy(void* p) { static_cast<P*>(p)->~P(); }
  static void parse(void* p, const Attrs& raw, const char* op) {
    Parser v{raw, op};
    static_cast<P*>(p)->fields(v);
  }
  static bool declares(const std::string& key) {
    P p;
    Finder f{key};
    p.fields(f);
    return f.found;
  }
  static void list(std::vector<OptionField>* out) {
    P p;
    Lister l{out};
    p.fields(l);
  }
  static std::string json(const void* value) {
    P def, v = *static_cast<const P*>(value);
    JsonWriter w;
    DefaultCollector c{&w.defaults};
    def.fields(c);
    v.fields(w);
    return w.out + "}";
  }
};

}  // namespace detail

template <class P>
inline constexpr OptionType kOptionType = {
    detail::Erased<P>::defaults, sizeof(P),
    detail::Erased<P>::construct, detail::Erased<P>::copy,
    detail::Erased<P>::destroy,  detail::Erased<P>::parse,
    detail::Erased<P>::declares, detail::Erased<P>::list,
    detail::Erased<P>::json,
};

// One typed options value of any op (empty for an op without options). Small structs (the
// elementwise ops' number operand, a reduction's axes) live inline, so an op call and a graph node
// keep them without a heap allocation.
class Options {
 public:
  static constexpr size_t kInline = 48;
  Options() {}  // user-provided, so `static const Options` needs no initialiser
  template <class P,
            class = std::enable_if_t<std::is_class<P>::value && !std::is_same<std::decay_t<P>, Options>::value>>
  Options(P p) : type_(&kOptionType<P>) {  // NOLINT: a typed struct converts implicitly
    static_assert(alignof(P) <= alignof(std::max_align_t), "options struct over-aligned");
    new (alloc()) P(std::move(p));
  }
  explicit Options(const OptionType& t) : type_(&t) { t.construct(alloc()); }  // the defaults
  Options(const Options& o) : type_(o.type_) {
    if (type_) type_->copy(alloc(), o.data());
  }
  Options& operator=(const Options& o) {
    if (this != &o) {
      reset();
      type_ = o.type_;
      if (type_) type_->copy(alloc(), o.data());
    }
    return *this;
  }
  ~Options() { reset(); }

  const OptionType* type() const { return type_; }
  const void* data() const { return heap_ ? heap_ : static_cast<const void*>(buf_); }
  void* data() { return heap_ ? heap_ : static_cast<void*>(buf_); }
  // The struct, which must be the op's declared type (a mismatch is a bug in ndgrad, not the user's).
  template <class P>
  const P& as() const {
    if (type_ != &kOptionType<P>) fail(code::BAD_ARGUMENT, "internal error: an op read options of another type");
    return *static_cast<const P*>(data());
  }

 private:
  void* alloc() {
    if (type_->size > kInline) heap_ = ::operator new(type_->size);
    return data();
  }
  void reset() {
    if (!type_) return;
    type_->destroy(data());
    if (heap_) ::operator delete(heap_);
    heap_ = nullptr;
    type_ = nullptr;
  }
  const OptionType* type_ = nullptr;
  void* heap_ = nullptr;
  alignas(std::max_align_t) unsigned char buf_[kInline];
};

template <class P>
const Options& detail::Erased<P>::defaults() {
  static const Options d{P()};
  return d;
}

// "op: unknown option 'key' (did you mean 'x'?)", or the valid keys when none is close (edit
// distance over lowercase names without '_', so keepDims ~ keepdims and pool_type ~ poolType).
std::string unknown_option_message(const std::string& op, const std::string& key, const std::vector<std::string>& valid);

}  // namespace ops
}  // namespace ndgrad
