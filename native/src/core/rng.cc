#include "rng.h"

#include <chrono>
#include <cmath>

#include "error.h"

namespace ndgrad {
namespace rng {
namespace {

uint64_t initial_seed() {
  return static_cast<uint64_t>(std::chrono::high_resolution_clock::now().time_since_epoch().count()) ^
         0x9E3779B97F4A7C15ull;
}

struct State {
  uint64_t seed = initial_seed();
  uint64_t counter = 0;
};
thread_local State t_own_state;
thread_local State* t_state = &t_own_state;

}  // namespace

void* this_thread_state() { return t_state; }
void use_state(void* state) { t_state = state ? static_cast<State*>(state) : &t_own_state; }

void seed(uint64_t s) {
  t_state->seed = s;
  t_state->counter = 0;
}

void seed_from_number(double s) {
  if (!std::isfinite(s)) fail(code::BAD_ARGUMENT, "random.seed: the seed must be a finite number, got ", s);
  // the integer part modulo 2^64, with no out-of-range float-to-integer conversion
  double t = std::fmod(std::trunc(s), 18446744073709551616.0);
  if (t < 0) t += 18446744073709551616.0;
  seed(t >= 18446744073709551615.0 ? 0 : static_cast<uint64_t>(t));
}

uint64_t current_seed() { return t_state->seed; }

uint64_t reserve(uint64_t n) {
  uint64_t first = t_state->counter;
  t_state->counter += (n + 3) / 4 * 4;
  return first;
}

void philox(uint64_t key, uint64_t ctr, uint32_t out[4]) {
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int r = 0; r < 10; ++r) {
    uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
    uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
    uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

}  // namespace rng
}  // namespace ndgrad
