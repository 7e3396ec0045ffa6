// ndgrad::Error: every failure a user can cause is thrown as one of these, with a code of API.md.
#pragma once
#include <exception>
#include <sstream>
#include <string>

namespace ndgrad {

namespace code {
constexpr const char* SHAPE_MISMATCH = "SHAPE_MISMATCH";
constexpr const char* DTYPE_MISMATCH = "DTYPE_MISMATCH";
constexpr const char* BAD_AXIS = "BAD_AXIS";
constexpr const char* OUT_OF_RANGE = "OUT_OF_RANGE";
constexpr const char* BAD_ARGUMENT = "BAD_ARGUMENT";
constexpr const char* DISPOSED = "DISPOSED";
constexpr const char* NOT_RECORDED = "NOT_RECORDED";
constexpr const char* GRAPH_FREED = "GRAPH_FREED";
constexpr const char* NO_GRAD_INPUTS = "NO_GRAD_INPUTS";
constexpr const char* NOT_REACHABLE = "NOT_REACHABLE";
constexpr const char* NOT_A_VARIABLE = "NOT_A_VARIABLE";
constexpr const char* INPLACE_IN_GRAPH = "INPLACE_IN_GRAPH";
constexpr const char* INPLACE_MODIFIED = "INPLACE_MODIFIED";
constexpr const char* NOT_DIFFERENTIABLE = "NOT_DIFFERENTIABLE";
constexpr const char* BAD_CUSTOM_GRAD = "BAD_CUSTOM_GRAD";
constexpr const char* ASYNC_SCOPE = "ASYNC_SCOPE";
constexpr const char* OUT_OF_MEMORY = "OUT_OF_MEMORY";
}  // namespace code

class Error : public std::exception {
 public:
  Error(std::string c, std::string m) : code_(std::move(c)), message_(std::move(m)) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  std::string code_, message_;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class A, class... R>
void append(std::ostringstream& os, const A& a, const R&... r) {
  os << a;
  append(os, r...);
}
}  // namespace detail

// fail(code::SHAPE_MISMATCH, "add: ", shape_str(a), " vs ", shape_str(b))
template <class... Parts>
[[noreturn]] void fail(const char* code, const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(code, os.str());
}

}  // namespace ndgrad
