// Brief spinning before a thread sleeps: work that arrives within tens of microseconds (the next
// parallel_for of an op, the next op a JS thread issues) then costs no wake-up.
#pragma once

namespace ndgrad {

constexpr int kSpinIterations = 20000;  // roughly 50-100 µs of pause instructions

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

}  // namespace ndgrad
