// The asynchronous engine (ENGINE.md, after MXNet's ThreadedEngine): each JS thread has one in-order
// queue of tasks run by one native engine thread, so a call returns as soon as its checks, allocation
// and recording are done, and only reads wait. Because the queue is in order and arrays never cross JS
// threads, no dependency tracking is needed: "x is computed" means "the queue has run past the task
// that wrote x". The engine knows no ops, no autograd and no N-API; ops hand it tasks, the binding
// asks it to wait.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "../core/allocator.h"
#include "../core/error.h"
#include "../core/ndarray.h"
#include "../core/small_vec.h"

// The C signature of work another native module queues through the binding's engineCall (the MPI
// module's collectives): it gets each array's data, byte size and dtype code, and reports a failure
// by writing a message into `err` (NUL-terminated, at most `err_len` bytes).
// A message that begins with ndgrad_external_in_use says the task failed while work it could not stop
// (an MPI collective ended by the watchdog) may still write the data: the arrays are then kept alive
// until the process ends (MPI_Abort follows within seconds), so their memory is never reused under it.
extern "C" typedef void (*ndgrad_external_task)(void* ctx, void* const* data, const size_t* bytes, const int* dtypes,
                                                size_t n, char* err, size_t err_len);
#define ndgrad_external_in_use '\x01'

namespace ndgrad {
namespace engine {

// Queued work. A task owns (keeps alive) every array it touches; `reads` are the storages whose error
// stops it, `writes` the storages that receive its error (outputs, `out=` targets, in-place targets).
class Task {
 public:
  virtual ~Task() = default;
  // From the allocator's object pool: the JS thread makes a task per queued op and the engine thread
  // frees it, which the pool hands back to the JS thread (a malloc and a cross-thread free otherwise).
  static void* operator new(size_t bytes) { return take_object(bytes); }
  static void operator delete(void* p, size_t bytes) { put_object(p, bytes); }
  virtual void run() = 0;  // may throw ndgrad::Error
  // Called on the engine thread once the task is counted done (a settled wait's callback: the JS thread
  // it wakes must find the queue empty). Only for tasks that hold no arrays (`announces`), since other
  // tasks release theirs before they are counted done.
  virtual void done() {}
  bool announces = false;
  SmallVec<Storage*, 6> reads, writes;
  size_t pending_bytes = 0;  // bytes of fresh outputs, counted against the queue's byte bound
};

class Engine;

// Made by the binding for a JS thread (on that thread); destroying it drains its queue and joins
// its engine thread. `threaded` false: the naive engine (everything runs at the call).
Engine* create(bool threaded);
void destroy(Engine* e);
// The engine of the calling thread (null on threads without one: engine threads, pool workers,
// native tests), which ops consult.
void bind_to_this_thread(Engine* e);
// NDGRAD_ENGINE: "threaded" (the default) or "naive"; BAD_ARGUMENT for anything else.
bool threaded_from_env();

// Runs `t` now on the calling thread when it should (no threaded engine, inside a task (nested op
// calls), or an idle engine and a small op: `work_bytes` is what it reads and writes) and returns
// true; false when it must be queued (submit). Run now, it follows the engine's error rules: its
// error thrown (naive engine, nested call) or, in the threaded engine, kept with what it writes as a
// queued task's is (skipped when what it reads carries an error). While it runs, the op calls nested
// in it also run at once (never queued behind it) and throw to it.
bool run_if_now(Task& t, size_t work_bytes);
// Queues `t` (blocks first while the queue is over its bound). Only after run_if_now() said false.
void submit(std::unique_ptr<Task> t);
// Runs `fn` on the engine thread once everything queued before has run; false (fn not kept) when
// nothing is queued, then the caller settles at once.
bool after_queued(std::unique_ptr<Task> fn);

// Blocks until this thread's queue has run everything queued so far.
void wait_all();
// For an allocation refused at the call: waits for queued work (which holds memory the naive engine
// would have freed already) and says whether there was any, so the caller can try once more.
bool drained_for_memory();
// wait_all, then throws the array's error if it carries one (marking that error reported).
void wait_to_read(const NDArray& a);
// wait_all (unless `wait` is false: after an asynchronous wait settled), then throws the first error no
// read or wait has thrown yet (each is thrown once).
void throw_pending_error(bool wait = true);
// Without waiting (after an asynchronous wait settled): the array's error, if any.
void check_ready(const NDArray& a);

const char* name();  // "threaded" | "naive" for this thread
// Queued tasks and their pending output bytes (for tests of the bound).
struct QueueStats {
  int64_t queued_tasks, queued_bytes, max_tasks, max_bytes;
};
QueueStats queue_stats();

}  // namespace engine
}  // namespace ndgrad
