// ndgrad's optional MPI module (DIST.md): the collectives of kvstore 'dist_sync' and the Trainer's
// gradient buckets. It is built apart from the main addon (native/dist/binding.gyp) so that the main
// addon never depends on MPI, and it knows no math beyond MPI's sums.
//
// Threads: one comm thread owned here initialises MPI, runs every collective in the order posted, and
// finalises MPI (MPI_THREAD_FUNNELED suffices). The main addon's engine runs this module's tasks
// (ndgrad_external_task) in issue order; a task posts a job and either waits for it (kvstore ops) or
// returns at once (a bucket's "pack and start"), a later task waiting for it ("wait and unpack"), so
// a bucket's allreduce runs while the engine computes the rest of backward. A watchdog fails a job
// that runs longer than the timeout (DIST_FAILURE), then ends the job with MPI_Abort.
#include <dlfcn.h>
#include <mpi.h>
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

extern "C" typedef void (*ndgrad_external_task)(void* ctx, void* const* data, const size_t* bytes, const int* dtypes,
                                                size_t n, char* err, size_t err_len);

namespace {

// The main addon's element types (native/src/core/dtype.h: Float32, Float64, Int32, UInt8).
enum : int { kFloat32 = 0, kFloat64 = 1, kInt32 = 2, kUInt8 = 3 };

using Clock = std::chrono::steady_clock;

struct Job {
  std::string what;                  // names the collective in errors
  std::function<int()> run;          // on the comm thread; an MPI error code
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::string err;
};

void finish(Job& j, const std::string& err) {
  std::lock_guard<std::mutex> l(j.m);
  if (j.done) return;
  j.err = err;
  j.done = true;
  j.cv.notify_all();
}

std::string wait(Job& j) {
  std::unique_lock<std::mutex> l(j.m);
  j.cv.wait(l, [&] { return j.done; });
  return j.err;
}

std::shared_ptr<Job> make_job(std::string what, std::function<int()> run) {
  auto j = std::make_shared<Job>();
  j->what = std::move(what);
  j->run = std::move(run);
  return j;
}

// How MPI could not be started: NO_MPI (it failed) or DIST_FAILURE (it did not finish in time).
struct StartError {
  const char* code = "";
  std::string message;
};

class Comm {
 public:
  int rank = 0, size = 1, thread_level = 0;
  double timeout_s = 300;

  // Starts the comm thread and MPI, waiting at most the timeout: MPI_Init_thread waits for every rank
  // of the job, so a peer that never starts would otherwise hang this one forever.
  StartError start(double timeout) {
    std::unique_lock<std::mutex> l(m_);
    if (state_ == State::Running) return {};
    if (state_ == State::GaveUp) return {"DIST_FAILURE", init_error_};
    if (state_ != State::Idle) return {"NO_MPI", state_ == State::Failed ? init_error_ : "MPI was already finalised in this process"};
    timeout_s = timeout;
    thread_ = std::thread([this] { loop(); });
    if (!cv_.wait_for(l, std::chrono::duration<double>(timeout), [&] { return state_ != State::Idle; })) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "MPI_Init_thread did not finish within NDGRAD_DIST_TIMEOUT=%g s (a rank of the job did not start, "
                    "or mpirun cannot reach this process)",
                    timeout);
      init_error_ = buf;
      state_ = State::GaveUp;
      thread_.detach();  // stuck in MPI; the process may still end
      return {"DIST_FAILURE", init_error_};
    }
    if (state_ != State::Running) return {"NO_MPI", init_error_};
    watchdog_ = std::thread([this] { watch(); });
    return {};
  }

  // Queues a job (FIFO, the same order on every rank because every rank issues the same sequence).
  void post(const std::shared_ptr<Job>& j) {
    std::unique_lock<std::mutex> l(m_);
    if (state_ != State::Running || !broken_.empty()) {
      std::string e = !broken_.empty() ? broken_ : "MPI is not running (finalised, or never initialised)";
      l.unlock();
      finish(*j, e);
      return;
    }
    jobs_.push_back(j);
    cv_.notify_all();
  }

  // A clean exit: after the queued jobs, tells the other ranks how many collectives this one took part
  // in, then MPI_Finalize on the comm thread; joins both threads. A job that failed ends the job.
  void stop() {
    {
      std::lock_guard<std::mutex> l(m_);
      if (state_ != State::Running) return;
      state_ = State::Stopping;
      cv_.notify_all();
    }
    thread_.join();
    {
      std::lock_guard<std::mutex> l(m_);
      if (!broken_.empty()) abort_job(1);
      state_ = State::Done;
      cv_.notify_all();
    }
    watchdog_.join();
  }

  void abort_job(int code) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);  // from any thread: it only ends the job
  }

  bool running() {
    std::lock_guard<std::mutex> l(m_);
    return state_ == State::Running;
  }

 private:
  enum class State { Idle, Running, Stopping, Done, Failed, GaveUp };
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> jobs_;
  State state_ = State::Idle;
  std::string init_error_, broken_;
  std::shared_ptr<Job> current_;
  long long current_index_ = 0;      // the collectives taken so far, the current one included
  long long peer_limit_ = LLONG_MAX;  // the fewest collectives of a rank that has exited cleanly
  int peer_exited_ = -1;             // that rank
  Clock::time_point current_since_, abort_at_;
  std::thread thread_, watchdog_;
  // Exit notices (a rank's count of collectives at its clean exit), on a communicator of their own,
  // received by the watchdog thread (needs MPI_THREAD_MULTIPLE) while the comm thread may be blocked
  // in a collective that the exited rank will never join.
  static constexpr int kExitTag = 1;
  MPI_Comm notices_ = MPI_COMM_NULL;
  std::mutex notice_m_;  // the receive request: tested by the watchdog, cancelled by the comm thread
  MPI_Request notice_req_ = MPI_REQUEST_NULL;
  long long notice_ = 0;

  void loop() {
    int provided = 0;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    {
      std::lock_guard<std::mutex> l(m_);
      if (state_ == State::GaveUp) return;  // too late: this rank already reported the failure
      if (rc != MPI_SUCCESS) {
        init_error_ = "MPI_Init_thread failed (error " + std::to_string(rc) + ")";
        state_ = State::Failed;
        cv_.notify_all();
        return;
      }
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      MPI_Comm_size(MPI_COMM_WORLD, &size);
      thread_level = provided;
      if (provided >= MPI_THREAD_MULTIPLE && MPI_Comm_dup(MPI_COMM_WORLD, &notices_) == MPI_SUCCESS) post_notice_recv();
      state_ = State::Running;
      cv_.notify_all();
    }
    for (;;) {
      std::shared_ptr<Job> j;
      {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait(l, [&] { return !jobs_.empty() || state_ != State::Running; });
        if (jobs_.empty()) break;  // stopping, everything queued has run
        j = jobs_.front();
        jobs_.pop_front();
        if (broken_.empty() && current_index_ + 1 > peer_limit_) fail(l, peer_exit_message(current_index_ + 1, *j), 2);
        if (!broken_.empty()) {
          l.unlock();
          finish(*j, broken_);
          continue;
        }
        current_ = j;
        ++current_index_;
        current_since_ = Clock::now();
      }
      int err = j->run();
      {
        std::lock_guard<std::mutex> l(m_);
        current_ = nullptr;
      }
      if (err == MPI_SUCCESS) {
        finish(*j, "");
      } else {
        char msg[MPI_MAX_ERROR_STRING] = {0};
        int len = 0;
        MPI_Error_string(err, msg, &len);
        finish(*j, j->what + " failed on rank " + std::to_string(rank) + ": " + msg);
      }
    }
    long long taken;
    {
      std::lock_guard<std::mutex> l(m_);
      // A job stuck in a collective cannot be finalised cleanly; stop() aborts instead.
      if (!broken_.empty()) return;
      taken = current_index_;
    }
    send_exit_notices(taken);
    // Finalize waits for the other ranks (one may still be working, or saving its results), so it is
    // watched like a collective: NDGRAD_DIST_TIMEOUT.
    {
      std::lock_guard<std::mutex> l(m_);
      current_ = make_job("MPI_Finalize", nullptr);
      current_since_ = Clock::now();
    }
    MPI_Finalize();
    std::lock_guard<std::mutex> l(m_);
    current_ = nullptr;
  }

  void post_notice_recv() {
    MPI_Irecv(&notice_, 1, MPI_LONG_LONG, MPI_ANY_SOURCE, kExitTag, notices_, &notice_req_);
  }

  // This rank's count to every other rank (small messages: sent eagerly, even to a rank blocked in a
  // collective), and the pending receive cancelled, before MPI_Finalize.
  void send_exit_notices(long long taken) {
    std::lock_guard<std::mutex> n(notice_m_);
    if (notices_ == MPI_COMM_NULL) return;
    std::vector<MPI_Request> sent;
    for (int r = 0; r < size; ++r) {
      if (r == rank) continue;
      sent.emplace_back();
      MPI_Isend(&taken, 1, MPI_LONG_LONG, r, kExitTag, notices_, &sent.back());
    }
    MPI_Waitall(static_cast<int>(sent.size()), sent.data(), MPI_STATUSES_IGNORE);
    if (notice_req_ != MPI_REQUEST_NULL) {
      MPI_Cancel(&notice_req_);
      MPI_Wait(&notice_req_, MPI_STATUS_IGNORE);
    }
  }

  // Reads the exit notices that have arrived (the watchdog, m_ not held): the lowest count wins.
  void poll_notices() {
    std::lock_guard<std::mutex> n(notice_m_);
    for (;;) {
      if (notice_req_ == MPI_REQUEST_NULL) return;
      int got = 0;
      MPI_Status st;
      if (MPI_Test(&notice_req_, &got, &st) != MPI_SUCCESS || !got) return;
      {
        std::lock_guard<std::mutex> l(m_);
        if (notice_ < peer_limit_) peer_limit_ = notice_, peer_exited_ = st.MPI_SOURCE;
      }
      post_notice_recv();
    }
  }

  std::string peer_exit_message(long long index, const Job& j) {
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "rank %d exited (a clean exit, after %lld collectives) while rank %d of %d needs it in collective #%lld "
                  "(%s), which can never finish; ending the job",
                  peer_exited_, peer_limit_, rank, size, index, j.what.c_str());
    return buf;
  }

  // Fails the current job and every queued one (their waiters throw DIST_FAILURE, later jobs fail at
  // once), and schedules MPI_Abort after a grace period for the script to report it: a collective
  // cannot be cancelled, so no rank may wait in it forever. m_ held.
  void fail(std::unique_lock<std::mutex>& l, const std::string& why, double grace_s) {
    broken_ = why;
    abort_at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace_s));
    std::shared_ptr<Job> stuck = current_;
    std::deque<std::shared_ptr<Job>> queued;
    queued.swap(jobs_);
    cv_.notify_all();
    l.unlock();
    std::fprintf(stderr, "NDArrayError [DIST_FAILURE]: %s\n", why.c_str());
    if (stuck) finish(*stuck, why);
    for (auto& q : queued) finish(*q, why);
    l.lock();
  }

  // Watches the current job: past the timeout, or needing a rank that has exited, it fails; then
  // MPI_Abort once the grace period is over.
  void watch() {
    std::unique_lock<std::mutex> l(m_);
    auto tick = std::chrono::milliseconds(std::clamp<long>(static_cast<long>(timeout_s * 100), 10, 100));
    while (state_ == State::Running || state_ == State::Stopping) {
      cv_.wait_for(l, tick);
      l.unlock();
      poll_notices();
      l.lock();
      if (broken_.empty() && current_) {
        double ran = std::chrono::duration<double>(Clock::now() - current_since_).count();
        if (current_index_ > peer_limit_ && current_->run) {
          fail(l, peer_exit_message(current_index_, *current_), 2);
        } else if (ran >= timeout_s) {
          char buf[512];
          std::snprintf(buf, sizeof buf,
                        "%s did not finish within NDGRAD_DIST_TIMEOUT=%g s on rank %d of %d (another rank failed or "
                        "stopped answering); ending the job",
                        current_->what.c_str(), timeout_s, rank, size);
          fail(l, buf, std::min(10.0, std::max(1.0, timeout_s)));
        }
      }
      if (!broken_.empty() && Clock::now() >= abort_at_) {
        l.unlock();
        abort_job(1);
        l.lock();
      }
    }
  }
};

Comm& comm() {
  static Comm* c = new Comm();  // never destroyed: engine tasks may reach it while the process exits
  return *c;
}

MPI_Datatype sum_type(int dtype) {
  switch (dtype) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    case kInt32: return MPI_INT;
    default: return MPI_DATATYPE_NULL;
  }
}

size_t elem_size(int dtype) { return dtype == kFloat64 ? 8 : dtype == kUInt8 ? 1 : 4; }

// out = the sum over ranks of in (in == out: in place). MPI counts are ints: larger buffers go in
// pieces of at most 2^30 elements.
int allreduce_sum(const void* in, void* out, size_t bytes, int dtype) {
  MPI_Datatype t = sum_type(dtype);
  size_t es = elem_size(dtype), n = bytes / es, step = size_t(1) << 30;
  for (size_t i = 0; i < n; i += step) {
    int c = static_cast<int>(std::min(step, n - i));
    const void* send = in == out ? MPI_IN_PLACE : static_cast<const char*>(in) + i * es;
    int rc = MPI_Allreduce(send, static_cast<char*>(out) + i * es, c, t, MPI_SUM, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

int bcast_bytes(void* buf, size_t bytes) {
  size_t step = size_t(1) << 30;
  for (size_t i = 0; i < bytes; i += step) {
    int rc = MPI_Bcast(static_cast<char*>(buf) + i, static_cast<int>(std::min(step, bytes - i)), MPI_BYTE, 0, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

void set_err(char* err, size_t len, const std::string& msg) {
  std::snprintf(err, len, "%s", msg.c_str());
}

// Runs a job and waits for it (on the engine thread, or on the JS thread when the engine ran the task
// inline).
void run_and_wait(const std::shared_ptr<Job>& j, char* err, size_t len) {
  comm().post(j);
  std::string e = wait(*j);
  if (!e.empty()) set_err(err, len, e);
}

// Arrays in pairs (value, out) of equal sizes; `copy`: out = value (when distinct), for a collective
// in place on out.
bool check_pairs(void* const* data, const size_t* bytes, size_t n, bool copy, char* err, size_t len) {
  if (n % 2) return set_err(err, len, "dist: expected (value, out) pairs"), false;
  for (size_t i = 0; i < n; i += 2) {
    if (bytes[i] != bytes[i + 1]) return set_err(err, len, "dist: value and out differ in size"), false;
    if (copy && data[i] != data[i + 1] && bytes[i]) std::memcpy(data[i + 1], data[i], bytes[i]);
  }
  return true;
}

// ctx: unused (the comm is process-wide). Each (value, out) pair: out = the sum of value over ranks.
extern "C" void task_allreduce(void*, void* const* data, const size_t* bytes, const int* dtypes, size_t n, char* err,
                               size_t len) {
  if (!check_pairs(data, bytes, n, false, err, len)) return;
  for (size_t i = 1; i < n; i += 2)
    if (sum_type(dtypes[i]) == MPI_DATATYPE_NULL) return set_err(err, len, "dist: sums are float32, float64 or int32");
  std::vector<void*> d(data, data + n);
  std::vector<size_t> b(bytes, bytes + n);
  std::vector<int> t(dtypes, dtypes + n);
  run_and_wait(make_job("allreduce", [d, b, t] {
                 for (size_t i = 1; i < d.size(); i += 2) {
                   int rc = allreduce_sum(d[i - 1], d[i], b[i], t[i]);
                   if (rc != MPI_SUCCESS) return rc;
                 }
                 return MPI_SUCCESS;
               }),
               err, len);
}

// Each (value, out) pair: out = rank 0's value.
extern "C" void task_broadcast(void*, void* const* data, const size_t* bytes, const int*, size_t n, char* err,
                               size_t len) {
  if (!check_pairs(data, bytes, n, true, err, len)) return;
  std::vector<void*> d(data, data + n);
  std::vector<size_t> b(bytes, bytes + n);
  run_and_wait(make_job("broadcast", [d, b] {
                 for (size_t i = 1; i < d.size(); i += 2) {
                   int rc = bcast_bytes(d[i], b[i]);
                   if (rc != MPI_SUCCESS) return rc;
                 }
                 return MPI_SUCCESS;
               }),
               err, len);
}

extern "C" void task_barrier(void*, void* const*, const size_t*, const int*, size_t, char* err, size_t len) {
  run_and_wait(make_job("barrier", [] { return MPI_Barrier(MPI_COMM_WORLD); }), err, len);
}

// Gradient buckets. The started allreduce of a bucket, keyed by the bucket buffer's address (kept alive
// by the engine tasks that use it), so no context outlives its arrays.
std::mutex g_buckets_m;
std::unordered_map<void*, std::shared_ptr<Job>> g_buckets;

// Arrays: (bucket, g1, ..., gk): packs the gradients into the bucket and starts its allreduce.
extern "C" void task_bucket_start(void*, void* const* data, const size_t* bytes, const int* dtypes, size_t n,
                                  char* err, size_t len) {
  // Started again before it was finished (a second backward pass before the step): the earlier
  // reduction still uses the buffer, and every rank runs it, so wait for it and drop its result.
  std::shared_ptr<Job> earlier;
  {
    std::lock_guard<std::mutex> l(g_buckets_m);
    auto it = g_buckets.find(data[0]);
    if (it != g_buckets.end()) earlier = it->second;
  }
  if (earlier) {
    std::string e = wait(*earlier);
    if (!e.empty()) return set_err(err, len, e);
  }
  size_t off = 0;
  for (size_t i = 1; i < n; ++i) {
    if (dtypes[i] != dtypes[0] || off + bytes[i] > bytes[0]) return set_err(err, len, "dist: gradients do not fit the bucket");
    std::memcpy(static_cast<char*>(data[0]) + off, data[i], bytes[i]);
    off += bytes[i];
  }
  void* buf = data[0];
  int t = dtypes[0];
  auto j = make_job("allreduce of a gradient bucket (" + std::to_string(off) + " bytes)",
                    [buf, off, t] { return allreduce_sum(buf, buf, off, t); });
  {
    std::lock_guard<std::mutex> l(g_buckets_m);
    g_buckets[buf] = j;
  }
  comm().post(j);
}

// Arrays: (bucket, g1, ..., gk): waits for the bucket's allreduce and unpacks the sums.
extern "C" void task_bucket_finish(void*, void* const* data, const size_t* bytes, const int*, size_t n, char* err,
                                   size_t len) {
  std::shared_ptr<Job> j;
  {
    std::lock_guard<std::mutex> l(g_buckets_m);
    auto it = g_buckets.find(data[0]);
    if (it == g_buckets.end()) return set_err(err, len, "dist: a gradient bucket was finished before it was started");
    j = it->second;
    g_buckets.erase(it);
  }
  std::string e = wait(*j);
  if (!e.empty()) return set_err(err, len, e);
  size_t off = 0;
  for (size_t i = 1; i < n; ++i) {
    std::memcpy(data[i], static_cast<char*>(data[0]) + off, bytes[i]);
    off += bytes[i];
  }
}

// ---- N-API ----

napi_value throw_error(napi_env env, const char* code, const std::string& msg) {
  napi_throw_error(env, code, msg.c_str());
  return nullptr;
}

napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// The call's first argument as a number, or `dflt`.
double first_number(napi_env env, napi_callback_info info, double dflt) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 1) napi_get_value_double(env, argv[0], &dflt);
  return dflt;
}

// init(timeoutSeconds) -> [rank, size, threadLevel]; MPI starts once per process.
napi_value Init(napi_env env, napi_callback_info info) {
  StartError e = comm().start(first_number(env, info, 300));
  if (!e.message.empty()) return throw_error(env, e.code, e.message);
  napi_value r;
  napi_create_array_with_length(env, 3, &r);
  napi_set_element(env, r, 0, number(env, comm().rank));
  napi_set_element(env, r, 1, number(env, comm().size));
  napi_set_element(env, r, 2, number(env, comm().thread_level));
  return r;
}

// finalize(): MPI_Finalize after the queued collectives (call once the engine is idle).
napi_value Finalize(napi_env, napi_callback_info) {
  comm().stop();
  return nullptr;
}

// abort(code): MPI_Abort, ending every rank of the job.
napi_value Abort(napi_env env, napi_callback_info info) {
  int code = static_cast<int>(first_number(env, info, 1));
  if (comm().running()) comm().abort_job(code ? code : 1);
  return nullptr;
}

napi_value external(napi_env env, void* p) {
  napi_value r;
  napi_create_external(env, p, nullptr, nullptr, &r);
  return r;
}

// Open MPI loads its components with dlopen and expects libmpi's symbols to be global, which they are
// not when libmpi comes in with an addon opened RTLD_LOCAL: reopen it RTLD_GLOBAL.
void make_mpi_global() {
  Dl_info di;
  if (dladdr(reinterpret_cast<void*>(&MPI_Init_thread), &di) && di.dli_fname)
    dlopen(di.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
}

napi_value ModuleInit(napi_env env, napi_value exports) {
  make_mpi_global();
  struct Fn {
    const char* name;
    napi_callback cb;
  } fns[] = {{"init", Init}, {"finalize", Finalize}, {"abort", Abort}};
  for (const Fn& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  struct Task {
    const char* name;
    ndgrad_external_task fn;
  } tasks[] = {{"allreduce", task_allreduce},
               {"broadcast", task_broadcast},
               {"barrier", task_barrier},
               {"bucketStart", task_bucket_start},
               {"bucketFinish", task_bucket_finish}};
  napi_value t;
  napi_create_object(env, &t);
  for (const Task& k : tasks) napi_set_named_property(env, t, k.name, external(env, reinterpret_cast<void*>(k.fn)));
  napi_set_named_property(env, exports, "tasks", t);
  static int ctx_tag;  // the tasks take no context; engineCall wants an External
  napi_set_named_property(env, exports, "ctx", external(env, &ctx_tag));
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(version, &len);
  napi_value v;
  napi_create_string_utf8(env, version, std::strlen(version), &v);
  napi_set_named_property(env, exports, "mpiVersion", v);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, ModuleInit)
