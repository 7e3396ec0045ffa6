// Counter-based random numbers (Philox4x32-10): element i of a draw depends only on (seed, offset + i),
// so a seeded run gives the same numbers whatever the thread count. State is per thread.
#pragma once
#include <cstdint>

namespace ndgrad {
namespace rng {

void seed(uint64_t s);
// random.seed(number): any finite double seeds with its integer part modulo 2^64; BAD_ARGUMENT otherwise.
void seed_from_number(double s);
// Reserves `n` counters from this thread's stream and returns the first.
uint64_t reserve(uint64_t n);
uint64_t current_seed();
// The calling thread's stream, and adopting another thread's: an engine thread draws from the stream
// of the JS thread whose ops it runs, so seeded results do not depend on where an op ran.
void* this_thread_state();
void use_state(void* state);
// Four 32-bit random words for counter `ctr` under `key`.
void philox(uint64_t key, uint64_t ctr, uint32_t out[4]);
// Uniform in [0, 1) from a 32-bit word (24 bits of mantissa for float, 32 for double).
inline float to_unit_float(uint32_t w) { return static_cast<float>(w >> 8) * (1.0f / 16777216.0f); }
inline double to_unit_double(uint32_t w) { return static_cast<double>(w) * (1.0 / 4294967296.0); }

}  // namespace rng
}  // namespace ndgrad
