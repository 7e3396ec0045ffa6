// Why this file exists: the Linux prebuilds must load on glibc 2.28 (Node 20's own floor: Debian 10,
// RHEL 8, Ubuntu 20.04, Amazon Linux 2023) although they are built on a newer glibc with libstdc++
// linked statically. The linker binds every libc call to the newest version of the symbol, so the
// binary would demand glibc 2.34+ for pthread_* (moved into libc), 2.29 for exp/log/pow, 2.35 for
// hypot, 2.32/2.36 for libstdc++'s __libc_single_threaded/arc4random and 2.33 for fstat64.
//
// binding.gyp links with -Wl,--wrap=<sym> for every symbol below (native/glibc-compat.js reads the
// list from this file), so each reference, ours or libstdc++.a's, goes to __wrap_<sym> here, which
// either calls the old version glibc still exports (pinned with .symver; same behaviour, e.g. the
// pre-2.29 exp only adds errno handling) or, where no old version exists, a local definition.
// Compiled to nothing unless binding.gyp defines NDGRAD_GLIBC_COMPAT (Linux glibc, x64 or arm64).
#if defined(NDGRAD_GLIBC_COMPAT)

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if !defined(__linux__) || !defined(__GLIBC__)
#error "glibc_compat.cc: NDGRAD_GLIBC_COMPAT is for Linux glibc builds only"
#endif

#if defined(__x86_64__)
#define NDGRAD_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define NDGRAD_GLIBC_BASE "GLIBC_2.17"
#else
#error "glibc_compat.cc: no base symbol version known for this architecture (binding.gyp should not enable it)"
#endif

#define NDGRAD_HIDDEN __attribute__((visibility("hidden")))

// NDGRAD_PIN(ret, sym, params, args): __wrap_sym calls sym@<base version>, the oldest one every
// glibc exports. native/glibc-compat.js turns each NDGRAD_PIN/NDGRAD_LOCAL line into --wrap=sym.
#define NDGRAD_PIN(ret, sym, params, args)                                  \
  extern "C" ret ndgrad_glibc_old_##sym params;                             \
  __asm__(".symver ndgrad_glibc_old_" #sym "," #sym "@" NDGRAD_GLIBC_BASE); \
  extern "C" NDGRAD_HIDDEN ret __wrap_##sym params { return ndgrad_glibc_old_##sym args; }

// libpthread was merged into libc in 2.34; the old versions stay exported (by libpthread.so.0 on
// older systems, which Node itself links).
NDGRAD_PIN(int, pthread_create, (pthread_t * t, const pthread_attr_t* a, void* (*f)(void*), void* arg), (t, a, f, arg))
NDGRAD_PIN(int, pthread_join, (pthread_t t, void** r), (t, r))
NDGRAD_PIN(int, pthread_detach, (pthread_t t), (t))
NDGRAD_PIN(int, pthread_once, (pthread_once_t * o, void (*f)(void)), (o, f))
NDGRAD_PIN(int, pthread_key_create, (pthread_key_t * k, void (*d)(void*)), (k, d))
NDGRAD_PIN(int, pthread_key_delete, (pthread_key_t k), (k))
NDGRAD_PIN(void*, pthread_getspecific, (pthread_key_t k), (k))
NDGRAD_PIN(int, pthread_setspecific, (pthread_key_t k, const void* v), (k, v))
NDGRAD_PIN(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m))

// 2.29 dropped the SVID error wrappers from exp/log/pow (faster); 2.35 did the same for hypot. The
// old versions compute the same values and also set errno.
NDGRAD_PIN(double, exp, (double x), (x))
NDGRAD_PIN(double, exp2, (double x), (x))
NDGRAD_PIN(double, log, (double x), (x))
NDGRAD_PIN(double, log2, (double x), (x))
NDGRAD_PIN(double, pow, (double x, double y), (x, y))
NDGRAD_PIN(double, hypot, (double x, double y), (x, y))

// NDGRAD_LOCAL(sym): no older version exists, so __wrap_sym is defined here.

// libstdc++ skips atomic reference counting while this is nonzero; 0 ("maybe threaded") is always
// correct, only a little slower for single-threaded programs.
extern "C" {
NDGRAD_HIDDEN char __wrap___libc_single_threaded = 0;  // NDGRAD_LOCAL(__libc_single_threaded)
}

// std::random_device's default source. getrandom(2) (Linux 3.17) through syscall(), so no glibc
// 2.25 getrandom symbol either; /dev/urandom if the kernel lacks it.
extern "C" NDGRAD_HIDDEN uint32_t __wrap_arc4random(void) {  // NDGRAD_LOCAL(arc4random)
  uint32_t v = 0;
  unsigned char* p = reinterpret_cast<unsigned char*>(&v);
  size_t got = 0;
  while (got < sizeof v) {
    long n = syscall(SYS_getrandom, p + got, sizeof v - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      while (got < sizeof v) {
        ssize_t r = read(fd, p + got, sizeof v - got);
        if (r > 0) got += static_cast<size_t>(r);
        else if (!(r < 0 && errno == EINTR)) break;
      }
      close(fd);
      break;
    }
  }
  return v;
}

// fstat64 became a real symbol in 2.33; before that <sys/stat.h> inlined a call to __fxstat64.
extern "C" int ndgrad_glibc_old___fxstat64(int ver, int fd, struct stat64* st);
__asm__(".symver ndgrad_glibc_old___fxstat64,__fxstat64@" NDGRAD_GLIBC_BASE);
extern "C" NDGRAD_HIDDEN int __wrap_fstat64(int fd, struct stat64* st) {  // NDGRAD_LOCAL(fstat64)
#if defined(__x86_64__)
  const int kStatVer = 1;  // _STAT_VER_LINUX on x86-64
#else
  const int kStatVer = 0;  // _STAT_VER_KERNEL on aarch64 (asm-generic stat layout)
#endif
  return ndgrad_glibc_old___fxstat64(kStatVer, fd, st);
}

#endif  // NDGRAD_GLIBC_COMPAT
