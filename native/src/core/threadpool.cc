#include "threadpool.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>

#include "spin.h"

namespace ndgrad {
namespace {

int default_threads() {
  const char* env = std::getenv("NDGRAD_NUM_THREADS");
  if (env && *env) {
    int v = std::atoi(env);
    if (v >= 1) return v > 256 ? 256 : v;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

// Set on pool workers, and on a caller while it runs a job: a parallel_for nested inside a job
// runs inline (the caller already owns `busy_`; try_lock on a mutex one owns is undefined).
thread_local bool t_in_job = false;

constexpr int kPartsPerThread = 4;
constexpr int kSpinsPerYield = 256;

struct InJob {
  bool prev;
  InJob() : prev(t_in_job) { t_in_job = true; }
  ~InJob() { t_in_job = prev; }
};

// Workers sleep on a condition variable between jobs; a job is one parallel_for call.
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {}

  int threads() const { return threads_.load(); }
  int set_threads(int n) { return threads_.exchange(n < 1 ? 1 : n); }

  // `exact`: n parts of one index each (n below INT_MAX), else up to kPartsPerThread ranges per thread.
  void run(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx, bool exact = false) {
    if (t_in_job) {
      fn(ctx, 0, n);
      return;
    }
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    int want = threads_.load();
    if (!busy.owns_lock() || want <= 1) {  // another thread is using the pool: do the work here
      fn(ctx, 0, n);
      return;
    }
    // A few parts per thread, claimed as threads come free: a thread that the scheduler takes away (the
    // JS thread issuing the next ops shares the cores with the engine's kernels) delays one small part,
    // not a whole thread's share of the op.
    int64_t chunks = n / (min_chunk > 0 ? min_chunk : 1);
    int64_t most = exact ? n : int64_t(want) * kPartsPerThread;
    int parts = static_cast<int>(chunks < most ? chunks : most);
    if (parts <= 1) {
      fn(ctx, 0, n);
      return;
    }
    ensure_workers((parts < want ? parts : want) - 1);
    {
      std::unique_lock<std::mutex> lk(mu_);
      // A worker still inside the previous job would read this job's counters with old arguments.
      done_cv_.wait(lk, [&] { return active_ == 0; });
      job_ = Job{fn, ctx, n, parts};
      error_ = nullptr;
      next_part_.store(1);
      pending_.store(parts - 1);
      generation_.fetch_add(1);
    }
    cv_.notify_all();
    Job job = job_;
    {
      InJob in_job;
      guarded_part(job, 0);
      for (;;) {  // help with parts no worker has claimed yet, then wait for the rest
        int p = next_part_.fetch_add(1);
        if (p >= parts) break;
        guarded_part(job, p);
        pending_.fetch_sub(1);
      }
    }
    // Always wait, even after a failed part: workers still use `ctx`, which lives in our caller.
    // The last parts usually end within microseconds: spin for them before sleeping (a sleep and
    // wake-up on the condition variable cost about as much as a small GEMM), yielding as the workers
    // do (a worker the scheduler took away may be waiting for this core).
    SpinBudget spin;
    for (int i = 1; spin.more() && pending_.load(std::memory_order_acquire) != 0; ++i) {
      cpu_relax();
      if (i % kSpinsPerYield == 0) std::this_thread::yield();
    }
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return pending_.load() == 0 && active_ == 0; });
    if (error_) {
      std::exception_ptr e = error_;
      error_ = nullptr;
      std::rethrow_exception(e);  // the first failure of any part, thrown on the calling thread
    }
  }

 private:
  struct Job {
    RangeFn fn = nullptr;
    void* ctx = nullptr;
    int64_t n = 0;
    int parts = 0;
  };

  static void run_part(const Job& j, int p) {
    int64_t b = j.n * p / j.parts, e = j.n * (p + 1) / j.parts;
    if (e > b) j.fn(j.ctx, b, e);
  }

  // An exception (an allocation failure in a kernel's scratch buffer) must not escape a worker
  // thread (std::terminate) or leave the caller early while workers still run its job.
  void guarded_part(const Job& j, int p) {
    try {
      run_part(j, p);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void ensure_workers(int count) {
    while (workers_ < count) {
      std::thread t([this] { worker(); });
      t.detach();  // lives for the process; never joined at exit (the addon may unload late)
      ++workers_;
    }
  }

  void worker() {
    t_in_job = true;
    uint64_t seen = 0;
    for (;;) {
      Job job;
      // Spin briefly before sleeping: training loops issue parallel ops back to back, and a
      // condition-variable wake-up costs more than a small op.
      // Yielding now and then hands the core to a thread that shares it (another process holds the
      // other core): spinning through the time slice kept the caller of the next job off the core.
      SpinBudget spin;
      for (int i = 1; spin.more() && generation_.load(std::memory_order_acquire) == seen; ++i) {
        cpu_relax();
        if (i % kSpinsPerYield == 0) std::this_thread::yield();
      }
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
        seen = generation_.load();
        job = job_;
        ++active_;
      }
      for (;;) {
        int p = next_part_.fetch_add(1);
        if (p >= job.parts) break;
        guarded_part(job, p);
        pending_.fetch_sub(1);
      }
      std::lock_guard<std::mutex> lk(mu_);
      --active_;
      done_cv_.notify_all();
    }
  }

  std::atomic<int> threads_;
  std::mutex busy_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  int workers_ = 0;
  int active_ = 0;
  std::atomic<uint64_t> generation_{0};
  Job job_;
  std::exception_ptr error_;  // guarded by mu_
  std::atomic<int> next_part_{0};
  std::atomic<int> pending_{0};
};

Pool& pool() {
  static Pool* p = new Pool(default_threads());  // leaked on purpose: workers outlive static destruction
  return *p;
}

}  // namespace

int num_threads() { return pool().threads(); }
int set_num_threads(int n) { return pool().set_threads(n); }
void parallel_for_raw(int64_t n, int64_t min_chunk, RangeFn fn, void* ctx) { pool().run(n, min_chunk, fn, ctx); }
void parallel_parts_raw(int64_t n, RangeFn fn, void* ctx) { pool().run(n, 1, fn, ctx, true); }

}  // namespace ndgrad
