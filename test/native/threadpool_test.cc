// Standalone check of the thread pool's exception safety (not part of the addon build):
//   g++ -std=c++17 -O1 -g -fsanitize=address,undefined -Inative/src test/native/threadpool_test.cc \
//       native/src/core/threadpool.cc -lpthread -o /tmp/threadpool_test && /tmp/threadpool_test
// A part that throws (e.g. a kernel's scratch allocation failing) must surface as an exception on
// the calling thread after every part has finished: never std::terminate on a worker, and never
// return while workers still run a job whose context lives in the caller's frame. A parallel_for
// nested inside a job runs inline.
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "core/threadpool.h"

using namespace ndgrad;

static int run_once(int round) {
  std::vector<int> hits(4096, 0);
  bool caught = false;
  try {
    parallel_for(4096, 64, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i] = 1;
      if (b <= 2048 + round % 7 && 2048 + round % 7 < e) throw std::runtime_error("part failed");
      // nested: must run inline, never deadlock or re-lock the pool
      int64_t inner = 0;
      parallel_for(1000, 10, [&](int64_t b2, int64_t e2) { inner += e2 - b2; });
      if (inner != 1000) std::abort();
    });
  } catch (const std::runtime_error&) {
    caught = true;
  }
  if (!caught) {
    std::printf("round %d: the exception was lost\n", round);
    return 1;
  }
  return 0;
}

int main() {
  set_num_threads(4);
  int bad = 0;
  for (int r = 0; r < 200; ++r) bad += run_once(r);
  // the pool still works afterwards
  std::atomic<int64_t> sum{0};
  parallel_for(100000, 100, [&](int64_t b, int64_t e) { sum += e - b; });
  if (sum.load() != 100000) bad++;
  std::printf(bad ? "FAILED\n" : "threadpool_test OK\n");
  return bad ? 1 : 0;
}
