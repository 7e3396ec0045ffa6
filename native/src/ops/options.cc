// Attrs (the JS values of an op's options), their typed readers, and the unknown-key message.
#include "options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ndgrad {
namespace ops {

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

namespace detail {

std::string to_json(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string to_json(const std::string& v) {
  std::string r = "\"";
  for (char ch : v) {
    if (ch == '"' || ch == '\\') r += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      r += buf;
      continue;
    }
    r += ch;
  }
  return r + "\"";
}

void read(const Attrs& a, const char* op, const char* k, DType& v) {
  if (!a.has(k)) return;
  std::string name = a.string(op, k, "");
  if (!parse_dtype(name, &v))
    fail(code::BAD_ARGUMENT, op, ": unknown dtype '", name, "' (float32, float64, int32, uint8, bfloat16)");
}

void read(const Attrs& a, const char* op, const char* k, Floats& v) {
  const AttrValue* x = a.get(k);
  if (!x) return;
  if (x->kind == AttrValue::Number) v = {x->num};
  else if (x->kind == AttrValue::Numbers) v = x->nums;
  else fail(code::BAD_ARGUMENT, op, ": option '", k, "' must be a number or a list of numbers");
}

std::string to_json(const Floats& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + to_json(v[i]);
  return r + "]";
}

std::string to_json(const Ints& v) {
  std::string r = "[";
  for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + std::to_string(v[i]);
  return r + "]";
}

}  // namespace detail

namespace {

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

}  // namespace ops
}  // namespace ndgrad
