// Counts heap allocations on the op call path. After a warm-up (the caching allocator and the
// per-thread pools of Storage and graph nodes filled), a tiny op call must allocate nothing: not
// for its inputs (borrowed), its options (parsed into inline storage), its lists, its result's
// NDArray and Storage, nor, when recorded, its graph node. Built and run by opcall_alloc.sh.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>
#include <new>

#include "autograd/tape.h"
#include "core/allocator.h"
#include "engine/engine.h"
#include "ops/ops.h"

namespace {
// operator new calls of this thread (the op's caller; an engine thread runs the queued work)
thread_local long g_news = 0;
}

void* operator new(std::size_t n) {
  ++g_news;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace ndgrad;

namespace {
int g_failed = 0;

// Runs `call` 100 times to warm up, then 1000 times counting operator new and system allocations.
void expect_no_allocation(const char* what, const std::function<void()>& call) {
  for (int i = 0; i < 100; ++i) call();
  long news = g_news;
  int64_t sys = allocator_stats().system_allocs;
  for (int i = 0; i < 1000; ++i) call();
  long d_news = g_news - news;
  int64_t d_sys = allocator_stats().system_allocs - sys;
  bool ok = d_news == 0 && d_sys == 0;
  std::printf("%s %s: %ld operator new, %lld system allocations in 1000 calls\n", ok ? "ok  " : "FAIL", what, d_news,
              static_cast<long long>(d_sys));
  if (!ok) ++g_failed;
}
}  // namespace

// Every case, first with no engine (the naive path), then on an idle threaded engine, where tiny ops
// run at the call through the error-keeping path (engine.h).
void run_cases() {
  NDArray a = full(Shape{4}, DType::Float32, 1.5), b = full(Shape{4}, DType::Float32, 2.0);
  const ops::OpDef& add = ops::op_ref("add");
  const ops::OpDef& exp = ops::op_ref("exp");
  const ops::OpDef& mul = ops::op_ref("multiply");

  // The binding's paths: op1 / op2 borrow the handle table's arrays through pointers.
  expect_no_allocation("op2 add (borrowed inputs)", [&] {
    const NDArray* in[] = {&a, &b};
    NDArray y = ops::invoke1(add, ops::InputList(in, 2));
  });
  expect_no_allocation("op1 exp", [&] {
    const NDArray* in[] = {&a};
    NDArray y = ops::invoke1(exp, ops::InputList(in, 1));
  });
  // opScalar: the number operand parsed from its JS value into the op's typed options.
  expect_no_allocation("opScalar multiply (options parsed)", [&] {
    ops::Attrs raw;
    raw.set_number("scalar", 3.0);
    ops::Options o = ops::parse_options(mul, raw);
    const NDArray* in[] = {&a};
    NDArray y = ops::invoke1(mul, ops::InputList(in, 1), o);
  });
  // An nd.tidy's worth of results alive at once (20000 tiny adds, then all released): the per-thread
  // lists of storages and small blocks hold them all, so a second tidy allocates nothing.
  std::vector<NDArray> held;
  held.reserve(20000);
  auto tidy = [&] {
    const NDArray* in[] = {&a, &b};
    for (int i = 0; i < 20000; ++i) held.push_back(ops::invoke1(add, ops::InputList(in, 2)));
    held.clear();
  };
  tidy();
  {
    long news = g_news;
    int64_t sys = allocator_stats().system_allocs;
    tidy();
    long d_news = g_news - news;
    int64_t d_sys = allocator_stats().system_allocs - sys;
    bool ok = d_news == 0 && d_sys == 0;
    std::printf("%s 20000 results alive at once (a tidy): %ld operator new, %lld system allocations\n", ok ? "ok  " : "FAIL",
                d_news, static_cast<long long>(d_sys));
    if (!ok) ++g_failed;
  }
  // C++ callers (backward rules) pass typed options.
  expect_no_allocation("C++ scalar_op", [&] { NDArray y = ops::scalar_op("multiply", a, 3.0); });
  expect_no_allocation("C++ mul", [&] { NDArray y = ops::mul(a, b); });

  // Recorded: the graph node comes from the per-thread pool and keeps the options inline.
  NDArray x = full(Shape{4}, DType::Float32, 1.0);
  autograd::mark_variable(x, zeros(Shape{4}, DType::Float32), autograd::GradReq::Write);
  autograd::set_recording(true);
  expect_no_allocation("recorded multiply", [&] { NDArray y = ops::mul(x, b); });
  expect_no_allocation("recorded scalar add", [&] { NDArray y = ops::scalar_op("add", x, 1.0); });
  autograd::set_recording(false);
}

// Ops queued on the engine thread (arrays over the size that runs at the call): the task and the
// result's storage come from the caller's pools, and the engine thread, which frees them, hands them
// back. Each call waits for its work, so the frees have happened when the next call needs objects.
void run_queued_cases() {
  NDArray a = full(Shape{32768}, DType::Float32, 1.5), b = full(Shape{32768}, DType::Float32, 2.0);
  const ops::OpDef& add = ops::op_ref("add");
  expect_no_allocation("queued op2 add", [&] {
    const NDArray* in[] = {&a, &b};
    NDArray y = ops::invoke1(add, ops::InputList(in, 2));
    engine::wait_all();
  });
  expect_no_allocation("queued C++ scalar_op (generic path)", [&] {
    NDArray y = ops::scalar_op("multiply", a, 3.0);
    engine::wait_all();
  });
  NDArray x = full(Shape{32768}, DType::Float32, 1.0);
  autograd::mark_variable(x, zeros(Shape{32768}, DType::Float32), autograd::GradReq::Write);
  autograd::set_recording(true);
  expect_no_allocation("queued recorded multiply", [&] {
    NDArray y = ops::mul(x, b);
    engine::wait_all();
  });
  autograd::set_recording(false);
}

int main() {
  run_cases();
  engine::Engine* threaded = engine::create(true);
  engine::bind_to_this_thread(threaded);
  std::printf("on an idle threaded engine:\n");
  run_cases();
  std::printf("queued on a threaded engine:\n");
  run_queued_cases();
  engine::destroy(threaded);
  std::printf(g_failed ? "%d case(s) allocated\n" : "no allocation on the op call path\n", g_failed);
  return g_failed ? 1 : 0;
}
