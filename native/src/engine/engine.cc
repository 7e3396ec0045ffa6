#include "engine.h"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "../core/allocator.h"
#include "../core/rng.h"
#include "../core/spin.h"

namespace ndgrad {
namespace engine {

namespace {
constexpr size_t kInlineBytes = 64 * 1024;  // ENGINE.md: a small op on an idle engine runs at the call
constexpr int64_t kDefaultMaxTasks = 4096;
constexpr int64_t kDefaultMaxBytes = int64_t(256) << 20;

// This thread's engine (null on engine threads, pool workers and native tests): the op path looks it
// up once per call (each thread-local of a dlopen'd library costs a __tls_get_addr call).
struct ThisThread {
  Engine* engine = nullptr;
};
thread_local ThisThread t_this;

// Errors are rare: one lock for every storage's error field keeps the fast path a relaxed load.
std::mutex g_error_mu;

void parse_queue_bound(int64_t* tasks, int64_t* bytes) {
  *tasks = kDefaultMaxTasks;
  *bytes = kDefaultMaxBytes;
  const char* v = std::getenv("NDGRAD_ENGINE_QUEUE");
  if (!v || !*v) return;
  std::string s(v);
  size_t comma = s.find(',');
  std::string ops = s.substr(0, comma);
  char* end = nullptr;
  long long n = std::strtoll(ops.c_str(), &end, 10);
  if (ops.empty() || *end || n < 1)
    fail(code::BAD_ARGUMENT, "NDGRAD_ENGINE_QUEUE: expected <ops>[,<bytes>] with ops >= 1, got '", s, "'");
  *tasks = n;
  if (comma != std::string::npos) {
    int64_t b = 0;
    if (!parse_byte_size(s.c_str() + comma + 1, &b) || b < 1)
      fail(code::BAD_ARGUMENT, "NDGRAD_ENGINE_QUEUE: bad byte bound in '", s, "' (use e.g. 64m)");
    *bytes = b;
  }
}

// Until a task first fails, no storage carries an error and tasks skip the checks (the tiny-op path
// runs every op through them). Set for the process, before any error is stored.
std::atomic<bool> g_errors_seen{false};

void set_error(Storage* s, const std::shared_ptr<DeferredError>& e) {
  g_errors_seen.store(true, std::memory_order_seq_cst);
  std::lock_guard<std::mutex> lk(g_error_mu);
  s->error = e;
  s->has_error.store(true, std::memory_order_release);
}

void clear_error(Storage* s) {
  if (!s->has_error.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lk(g_error_mu);
  s->error.reset();
  s->has_error.store(false, std::memory_order_release);
}

std::shared_ptr<DeferredError> error_in(Storage* const* s, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (s[i] && s[i]->has_error.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lk(g_error_mu);
      if (s[i]->error) return s[i]->error;
    }
  return nullptr;
}

[[noreturn]] void throw_reported(const std::shared_ptr<DeferredError>& e) {
  e->reported.store(true, std::memory_order_relaxed);
  throw e->error;
}
}  // namespace

// A lock for a few instructions (a deque push or pop): the JS thread and the engine thread meet on it
// once per op, and a sleeping mutex there cost a futex round trip whenever they collided.
class SpinLock {
 public:
  void lock() {
    while (flag_.test_and_set(std::memory_order_acquire)) cpu_relax();
  }
  void unlock() { flag_.clear(std::memory_order_release); }

 private:
  std::atomic_flag flag_ = ATOMIC_FLAG_INIT;
};

// The queue's storage: a ring that grows by doubling and never shrinks, so pushing and popping
// allocate nothing once it has held a burst (a deque took and freed a block every 64 tasks).
class TaskRing {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  void push_back(std::unique_ptr<Task> t) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(t);
    ++size_;
  }
  void clear() {
    slots_.clear();
    head_ = size_ = 0;
  }
  std::unique_ptr<Task> pop_front() {
    std::unique_ptr<Task> t = std::move(slots_[head_]);
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
    return t;
  }

 private:
  void grow() {
    std::vector<std::unique_ptr<Task>> bigger(slots_.empty() ? 256 : 2 * slots_.size());
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move(slots_[(head_ + i) & (slots_.size() - 1)]);
    slots_.swap(bigger);
    head_ = 0;
  }
  std::vector<std::unique_ptr<Task>> slots_;  // a power of two long
  size_t head_ = 0, size_ = 0;
};

class Engine {
 public:
  explicit Engine(bool threaded) : threaded(threaded), rng_state(rng::this_thread_state()) {
    parse_queue_bound(&max_tasks, &max_bytes);
  }
  // The JS thread is going away (worker terminated, environment torn down): nothing can read what
  // is still queued, so it is dropped (its arrays released); the task running now finishes first.
  ~Engine() {
    TaskRing dropped;
    {
      std::lock_guard<SpinLock> q(queue_lock);
      std::swap(dropped, queue);
      outstanding.fetch_sub(static_cast<int64_t>(dropped.size()), std::memory_order_seq_cst);
    }
    {
      std::lock_guard<std::mutex> lk(sleep_mu);
      stop = true;
    }
    cv_work.notify_all();
    if (worker.joinable()) worker.join();
    dropped.clear();
  }

  const bool threaded;
  // > 0 while a task runs at the call on the JS thread (its nested op calls run at once). A member
  // rather than a thread-local: the tiny-op path then reaches it without a second TLS look-up (GCC
  // looked t_this up again after the task's call). Nested calls on the engine thread see no engine.
  int inline_depth = 0;
  void* const rng_state;  // the owning JS thread's random stream, which queued random ops draw from
  int64_t max_tasks = kDefaultMaxTasks, max_bytes = kDefaultMaxBytes;

  SpinLock queue_lock;                       // guards queue
  TaskRing queue;
  std::atomic<int64_t> outstanding{0};       // queued or running tasks
  std::atomic<int64_t> queued_bytes{0};
  std::thread worker;
  // The engine thread sleeps on cv_work (under sleep_mu) only after spinning on an empty queue.
  std::mutex sleep_mu;
  std::condition_variable cv_work;
  std::atomic<bool> sleeping{false};
  bool stop = false;  // under sleep_mu
  // The JS thread sleeps on cv_done (under done_mu) in waits and backpressure; the engine thread
  // signals only while someone waits.
  std::mutex done_mu;
  std::condition_variable cv_done;
  std::atomic<int> done_waiters{0};
  std::atomic<int64_t> wake_tasks{0}, wake_bytes{0};  // what the waiting JS thread waits for
  std::mutex pending_mu;
  std::vector<std::shared_ptr<DeferredError>> pending;  // not yet thrown, oldest first (under pending_mu)

  void keep_pending(const std::shared_ptr<DeferredError>& e) {
    std::lock_guard<std::mutex> lk(pending_mu);
    pending.push_back(e);
  }

  // One task, its error kept with what it writes (never thrown: there is no caller to take it).
  // `depth`: the running thread's task depth (raised while the task runs). Until some task has failed
  // no storage carries an error, and a task runs with nothing around it but the depth and the catch
  // (every tiny op on an idle engine comes this way).
  void execute(Task& t, int* depth) {
    // (an inline task runs only on an idle engine, whose stores it sees: no error is being set now)
    if (g_errors_seen.load(std::memory_order_acquire)) return execute_checked(t, depth);
    run_at_depth(t, depth);
  }

  // execute() once errors exist: a task whose input carries one passes it on instead of running; a
  // task that runs clears the errors of what it writes.
  __attribute__((noinline)) void execute_checked(Task& t, int* depth) {
    if (std::shared_ptr<DeferredError> e = error_in(t.reads.data(), t.reads.size())) {
      for (Storage* w : t.writes) set_error(w, e);  // the error travels downstream
      return;
    }
    if (run_at_depth(t, depth))
      for (Storage* w : t.writes) clear_error(w);  // a successful write makes the array good again
  }

  // Runs `t` with the thread's task depth raised; false when it failed (its error kept by fail()).
  __attribute__((always_inline)) bool run_at_depth(Task& t, int* depth) {
    ++*depth;
    try {
      t.run();
    } catch (...) {
      --*depth;
      fail(t, std::current_exception());
      return false;
    }
    --*depth;
    return true;
  }

  // A task's failure, kept with what it writes and listed for waits.
  __attribute__((noinline)) void fail(Task& t, std::exception_ptr thrown) {
    std::shared_ptr<DeferredError> err;
    try {
      std::rethrow_exception(thrown);
    } catch (const Error& e) {
      err = std::make_shared<DeferredError>(e);
    } catch (const std::bad_alloc&) {
      err = std::make_shared<DeferredError>(Error(code::OUT_OF_MEMORY, "out of memory (the system refused an allocation)"));
    } catch (const std::exception& e) {
      err = std::make_shared<DeferredError>(Error(code::BAD_ARGUMENT, std::string("internal error: ") + e.what()));
    }
    for (Storage* w : t.writes) set_error(w, err);
    keep_pending(err);
  }

  std::unique_ptr<Task> try_pop() {
    std::lock_guard<SpinLock> q(queue_lock);
    if (queue.empty()) return nullptr;
    return queue.pop_front();
  }

  // Wakes the JS thread when what it waits for holds: waking it for every task would make it steal a
  // core from the kernels' threads tens of times per training step.
  void signal_done() {
    if (done_waiters.load(std::memory_order_seq_cst) == 0 || !caught_up()) return;
    { std::lock_guard<std::mutex> lk(done_mu); }  // a waiter is inside wait() or before its check
    cv_done.notify_all();
  }
  bool caught_up() const {
    int64_t n = outstanding.load(std::memory_order_seq_cst);
    return n == 0 || (n <= wake_tasks.load(std::memory_order_seq_cst) &&
                      queued_bytes.load(std::memory_order_relaxed) <= wake_bytes.load(std::memory_order_relaxed));
  }

  // Pops and runs the next task (engine thread); false when nothing is queued.
  bool run_next(int* depth) {
    std::unique_ptr<Task> t = try_pop();
    if (!t) return false;
    execute(*t, depth);
    size_t b = t->pending_bytes;
    if (!t->announces) t.reset();  // the task's arrays are released before anyone is told it finished
    queued_bytes.fetch_sub(static_cast<int64_t>(b), std::memory_order_relaxed);
    outstanding.fetch_sub(1, std::memory_order_seq_cst);
    signal_done();
    if (t) t->done();
    return true;
  }

  void loop() {
    rng::use_state(rng_state);
    use_front_cache(false);
    int depth = 0;
    for (;;) {
      if (run_next(&depth)) continue;
      // JS issues a step's ops a few microseconds apart: spinning briefly before sleeping saves a
      // wake-up (tens of microseconds) when the queue runs dry between them.
      for (SpinBudget spin; spin.more() && outstanding.load(std::memory_order_acquire) == 0;) cpu_relax();
      if (outstanding.load(std::memory_order_acquire) == 0) {
        std::unique_lock<std::mutex> lk(sleep_mu);
        sleeping.store(true, std::memory_order_seq_cst);
        cv_work.wait(lk, [&] { return stop || outstanding.load(std::memory_order_seq_cst) > 0; });
        sleeping.store(false, std::memory_order_relaxed);
        if (stop && outstanding.load() == 0) return;
      }
    }
  }

  // Blocks the JS thread until at most `tasks` tasks and `bytes` pending bytes are queued (or none).
  void wait_until(int64_t tasks, int64_t bytes) {
    wake_tasks.store(tasks, std::memory_order_seq_cst);
    wake_bytes.store(bytes, std::memory_order_relaxed);
    if (caught_up()) return;
    done_waiters.fetch_add(1, std::memory_order_seq_cst);
    {
      std::unique_lock<std::mutex> lk(done_mu);
      cv_done.wait(lk, [&] { return caught_up(); });
    }
    done_waiters.fetch_sub(1, std::memory_order_relaxed);
  }

  void push(std::unique_ptr<Task> t) {
    // Backpressure: over the bound, wait until the engine has caught up to half of it (one wait per
    // burst rather than a wake-up per task; an empty queue always takes one task).
    int64_t n = outstanding.load(std::memory_order_acquire);
    if (n > 0 && (n >= max_tasks || queued_bytes.load(std::memory_order_relaxed) >= max_bytes))
      wait_until(max_tasks / 2, max_bytes / 2);
    queued_bytes.fetch_add(static_cast<int64_t>(t->pending_bytes), std::memory_order_relaxed);
    {
      std::lock_guard<SpinLock> q(queue_lock);
      queue.push_back(std::move(t));
    }
    outstanding.fetch_add(1, std::memory_order_seq_cst);
    if (!worker.joinable()) worker = std::thread([this] { loop(); });  // only this JS thread pushes
    wake_engine();
  }

  void wake_engine() {
    if (sleeping.load(std::memory_order_seq_cst)) {
      { std::lock_guard<std::mutex> lk(sleep_mu); }  // the engine is inside wait() or before its check
      cv_work.notify_one();
    }
  }

  void wait_idle() { wait_until(0, 0); }

  std::shared_ptr<DeferredError> next_unreported() {
    std::lock_guard<std::mutex> lk(pending_mu);
    std::shared_ptr<DeferredError> r;
    size_t k = 0;
    for (auto& e : pending) {  // drop the reported ones as we go
      if (e->reported.load(std::memory_order_relaxed)) continue;
      if (!r) r = e;
      else pending[k++] = e;
    }
    pending.resize(k);
    return r;
  }
};

Engine* create(bool threaded) { return new Engine(threaded); }
void destroy(Engine* e) {
  if (t_this.engine == e) t_this.engine = nullptr;
  delete e;
}
void bind_to_this_thread(Engine* e) { t_this.engine = e; }

bool threaded_from_env() {
  const char* v = std::getenv("NDGRAD_ENGINE");
  if (!v || !*v || std::strcmp(v, "threaded") == 0 || std::strcmp(v, "ThreadedEngine") == 0) return true;
  if (std::strcmp(v, "naive") == 0 || std::strcmp(v, "NaiveEngine") == 0) return false;
  fail(code::BAD_ARGUMENT, "NDGRAD_ENGINE must be 'threaded' or 'naive', got '", v, "'");
}

bool run_if_now(Task& t, size_t work_bytes) {
  Engine* e = t_this.engine;  // one look-up: this is every tiny op's path
  if (!e || !e->threaded || e->inline_depth) {
    t.run();
    return true;
  }
  if (work_bytes > kInlineBytes || e->outstanding.load(std::memory_order_acquire) != 0) return false;
  e->execute(t, &e->inline_depth);
  return true;
}

void submit(std::unique_ptr<Task> t) { t_this.engine->push(std::move(t)); }

bool after_queued(std::unique_ptr<Task> fn) {
  Engine* e = t_this.engine;
  if (!e || !e->threaded || e->outstanding.load(std::memory_order_acquire) == 0) return false;
  e->push(std::move(fn));
  return true;
}

void wait_all() {
  Engine* e = t_this.engine;
  if (e && !e->inline_depth) e->wait_idle();
}

bool drained_for_memory() {
  Engine* e = t_this.engine;
  if (!e || e->inline_depth || e->outstanding.load(std::memory_order_acquire) == 0) return false;
  e->wait_idle();
  return true;
}

void check_ready(const NDArray& a) {
  Storage* s = a.storage.get();
  if (std::shared_ptr<DeferredError> e = error_in(&s, 1)) throw_reported(e);
}

void wait_to_read(const NDArray& a) {
  wait_all();
  check_ready(a);
}

void throw_pending_error(bool wait) {
  if (wait) wait_all();
  Engine* en = t_this.engine;
  if (!en) return;
  if (std::shared_ptr<DeferredError> e = en->next_unreported()) throw_reported(e);
}

const char* name() { return t_this.engine && !t_this.engine->threaded ? "naive" : "threaded"; }

QueueStats queue_stats() {
  QueueStats s{0, 0, kDefaultMaxTasks, kDefaultMaxBytes};
  if (Engine* e = t_this.engine) s = {e->outstanding.load(), e->queued_bytes.load(), e->max_tasks, e->max_bytes};
  return s;
}

}  // namespace engine
}  // namespace ndgrad
