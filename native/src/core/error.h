// ndgrad::Error: every failure a user can cause is thrown as one of these, with a code of API.md.
#pragma once
#include <exception>
#include <sstream>
#include <string>

namespace ndgrad {

// Every error code of API.md ("Error codes"), in one list: ndgrad::code::X for C++, and the
// addon's errorCodes() for TypeScript (whose NDArrayError codes are checked against it by a test).
#define NDGRAD_ERROR_CODES(X)                                                                       \
  X(SHAPE_MISMATCH) X(DTYPE_MISMATCH) X(BAD_AXIS) X(OUT_OF_RANGE) X(BAD_ARGUMENT) X(DISPOSED)        \
  X(NOT_RECORDED) X(GRAPH_FREED) X(NO_GRAD_INPUTS) X(NOT_REACHABLE) X(NOT_A_VARIABLE)                \
  X(INPLACE_IN_GRAPH) X(INPLACE_MODIFIED) X(NOT_DIFFERENTIABLE) X(BAD_CUSTOM_GRAD) X(ASYNC_SCOPE)    \
  X(OUT_OF_MEMORY) X(NOT_INITIALIZED) X(STALE_GRAD) X(BAD_FILE) X(MISSING_PARAMETER)                 \
  X(UNEXPECTED_PARAMETER) X(NO_MPI) X(DIST_FAILURE) X(GRADIENT_MISMATCH)

namespace code {
#define NDGRAD_DEFINE_CODE(name) constexpr const char* name = #name;
NDGRAD_ERROR_CODES(NDGRAD_DEFINE_CODE)
#undef NDGRAD_DEFINE_CODE
inline constexpr const char* kAll[] = {
#define NDGRAD_LIST_CODE(name) #name,
    NDGRAD_ERROR_CODES(NDGRAD_LIST_CODE)
#undef NDGRAD_LIST_CODE
};
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

// An allocation refused (memory limit, system) where the op is unknown: the allocator, a kernel's
// scratch space. ops::invoke rethrows it as an Error whose message starts with the op's name.
class AllocationError : public Error {
 public:
  using Error::Error;
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
