// Brief spinning before a thread sleeps: work that arrives within tens of microseconds (the next
// parallel_for of an op, the next op a JS thread issues) then costs no wake-up.
#pragma once

#include <chrono>

namespace ndgrad {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// A spin's time budget. Counted in time, not in pause instructions: a pause took 24 ns on this Zen 5
// (measured) and takes about 140 cycles on Intel since Skylake (Intel's optimisation manual), so a
// count of 20000 meant 0.5 ms or more of spinning whenever work ran out, which kept
// the JS thread issuing the next step off a core (2-thread MLP step 1.17x the naive engine's; 1.01x
// with a 50 µs budget).
class SpinBudget {
 public:
  // true while the budget lasts (reads the clock once per 64 calls)
  bool more() {
    if ((++calls_ & 63) != 0) return true;
    return std::chrono::steady_clock::now() < end_;
  }

 private:
  std::chrono::steady_clock::time_point end_ = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  unsigned calls_ = 0;
};

}  // namespace ndgrad
