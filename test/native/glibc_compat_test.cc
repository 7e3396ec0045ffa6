// Checks native/src/compat/glibc_compat.cc: a program linked like the Linux addon (static libstdc++,
// the --wrap list from native/glibc-compat.js) must get working old-version pins and local
// definitions. Built and run by scripts/glibc-compat-test.sh (x64, and arm64 under qemu): the checks
// go into a shared object linked like the addon (and floor-checked like it); with
// NDGRAD_COMPAT_TEST_MAIN this file is the small program that calls them.
#ifdef NDGRAD_COMPAT_TEST_MAIN
extern "C" int ndgrad_glibc_compat_test();
int main() { return ndgrad_glibc_compat_test(); }
#else
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);     \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

extern "C" __attribute__((visibility("default"))) int ndgrad_glibc_compat_test() {
  // math pins (volatile: no constant folding, the calls must reach libm)
  volatile double one = 1, three = 3, four = 4, two = 2, eight = 8, ten = 10;
  CHECK(std::fabs(std::exp(one) - 2.718281828459045) < 1e-15);
  CHECK(std::exp2(three) == 8);
  CHECK(std::log(one) == 0 && std::fabs(std::log(eight) - 2.0794415416798357) < 1e-15);
  CHECK(std::log2(eight) == 3);
  CHECK(std::pow(two, ten) == 1024);
  CHECK(std::hypot(three, four) == 5);

  // arc4random: std::random_device's "arc4random" source goes through the local definition
  for (const char* token : {"arc4random", "default"}) {
    std::random_device rd(token);
    std::vector<unsigned> v;
    for (int i = 0; i < 8; ++i) v.push_back(rd());
    bool all_same = true;
    for (unsigned x : v) all_same = all_same && x == v[0];
    CHECK(!all_same);
  }

  // fstat64 (local definition over __fxstat64)
  char path[] = "/tmp/ndgrad_compat_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  static char buf[12345];
  CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
  struct stat64 st;
  CHECK(fstat64(fd, &st) == 0 && st.st_size == 12345 && S_ISREG(st.st_mode));
  close(fd);
  unlink(path);
  errno = 0;
  CHECK(fstat64(-1, &st) == -1 && errno == EBADF);

  // pthread pins: threads, once, keys, trylock
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  static int once_count = 0;
  pthread_key_t key;
  CHECK(pthread_key_create(&key, nullptr) == 0);
  std::mutex m;
  int sum = 0;
  std::vector<std::thread> ts;
  for (int i = 1; i <= 4; ++i)
    ts.emplace_back([&, i] {
      pthread_once(&once, [] { ++once_count; });
      pthread_setspecific(key, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
      int mine = static_cast<int>(reinterpret_cast<intptr_t>(pthread_getspecific(key)));
      while (!m.try_lock()) std::this_thread::yield();
      sum += mine;
      m.unlock();
    });
  for (auto& t : ts) t.join();
  std::thread([] {}).detach();
  CHECK(sum == 10 && once_count == 1);
  CHECK(pthread_key_delete(key) == 0);

  // shared_ptr reference counts across threads (libstdc++ reads __libc_single_threaded)
  auto p = std::make_shared<int>(7);
  std::vector<std::thread> ts2;
  for (int i = 0; i < 4; ++i)
    ts2.emplace_back([p] {
      for (int j = 0; j < 10000; ++j) {
        auto q = p;
        (void)q;
      }
    });
  for (auto& t : ts2) t.join();
  CHECK(p.use_count() == 1);

  std::printf("%s: glibc compat checks, %d failures\n", failures ? "FAIL" : "PASS", failures);
  return failures ? 1 : 0;
}
#endif  // NDGRAD_COMPAT_TEST_MAIN
