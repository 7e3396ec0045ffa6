// ndgrad's optional MPI module (DIST.md): the collectives of kvstore 'dist_sync' and the Trainer's
// gradient buckets. It is built apart from the main addon (native/dist/binding.gyp) so that the main
// addon never depends on MPI, and it knows no math beyond MPI's sums.
//
// Threads: one comm thread (comm.h) initialises MPI, runs every collective in the order posted, and
// finalises MPI. The main addon's engine runs this module's tasks (ndgrad_external_task) in issue
// order; a task posts a job and either waits for it (kvstore ops) or
// returns at once (a bucket's "pack and start"), a later task waiting for it ("wait and unpack"), so
// a bucket's allreduce runs while the engine computes the rest of backward. A watchdog fails a job
// that runs longer than the timeout (DIST_FAILURE), then ends the job with MPI_Abort.
#include <dlfcn.h>
#include <mpi.h>
#include <node_api.h>

#include "../src/core/bf16.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "comm.h"

using namespace ndgrad_dist;

extern "C" typedef void (*ndgrad_external_task)(void* ctx, void* const* data, const size_t* bytes, const int* dtypes,
                                                size_t n, char* err, size_t err_len);

namespace {

// The main addon's element types (native/src/core/dtype.h: Float32, Float64, Int32, UInt8, BFloat16).
enum : int { kFloat32 = 0, kFloat64 = 1, kInt32 = 2, kUInt8 = 3, kBFloat16 = 4 };

MPI_Datatype sum_type(int dtype) {
  switch (dtype) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    case kInt32: return MPI_INT;
    case kBFloat16: return MPI_FLOAT;  // summed in float32 (allreduce_sum widens it)
    default: return MPI_DATATYPE_NULL;
  }
}

size_t elem_size(int dtype) { return dtype == kFloat64 ? 8 : dtype == kUInt8 ? 1 : dtype == kBFloat16 ? 2 : 4; }

// The piece of a sum: every MPI_Allreduce covers at most this much. Open MPI's temporary buffers
// then stay small and reused (a 64 MiB one is mapped and faulted in afresh at every call), the data is
// still in cache when it is reduced, and a pushpull copies each finished piece into its store while the
// next is summed.
constexpr size_t kPieceBytes = size_t(4) << 20;

// out = the sum over ranks of in (in == out: in place), one piece at a time; `on_piece` runs after each.
int allreduce_sum(const void* in, void* out, size_t bytes, int dtype, const std::function<void()>& on_piece = {}) {
  MPI_Datatype t = sum_type(dtype);
  size_t es = elem_size(dtype);
  std::vector<float> wide;  // bfloat16 is summed in float32 and rounded once
  for (size_t o = 0; o < bytes; o += kPieceBytes) {
    size_t len = std::min(kPieceBytes, bytes - o), n = len / es;
    const char* src = static_cast<const char*>(in) + o;
    char* dst = static_cast<char*>(out) + o;
    int rc;
    if (dtype == kBFloat16) {
      wide.resize(n);
      ndgrad::bf16_to_float_n(reinterpret_cast<const uint16_t*>(src), wide.data(), static_cast<int64_t>(n));
      rc = MPI_Allreduce(MPI_IN_PLACE, wide.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
      if (rc == MPI_SUCCESS) ndgrad::float_to_bf16_n(wide.data(), reinterpret_cast<uint16_t*>(dst), static_cast<int64_t>(n));
    } else {
      rc = MPI_Allreduce(in == out ? MPI_IN_PLACE : src, dst, static_cast<int>(n), t, MPI_SUM, MPI_COMM_WORLD);
    }
    if (rc != MPI_SUCCESS) return rc;
    if (on_piece) on_piece();
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
    if (sum_type(dtypes[i]) == MPI_DATATYPE_NULL) return set_err(err, len, "dist: sums are float32, float64, int32 or bfloat16");
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

// Each (value, out, store) triple (MXNet's pushpull: push, then pull): out = the sum of value over
// ranks (in place when value is out), and the store keeps it. The sum runs in pieces on the comm
// thread; this thread copies each finished piece into the store meanwhile, so the store's copy
// overlaps the reduction instead of following it.
extern "C" void task_pushpull(void*, void* const* data, const size_t* bytes, const int* dtypes, size_t n, char* err,
                              size_t len) {
  if (n % 3) return set_err(err, len, "dist: expected (value, out, store) triples");
  for (size_t i = 0; i < n; i += 3) {
    if (bytes[i] != bytes[i + 1] || bytes[i] != bytes[i + 2]) return set_err(err, len, "dist: value, out and store differ in size");
    if (sum_type(dtypes[i]) == MPI_DATATYPE_NULL) return set_err(err, len, "dist: sums are float32, float64, int32 or bfloat16");
  }
  std::vector<void*> d(data, data + n);
  std::vector<size_t> b(bytes, bytes + n);
  std::vector<int> t(dtypes, dtypes + n);
  auto j = make_job("allreduce", nullptr);
  j->run = [d, b, t, job = j.get()] {  // the job outlives its run: the comm thread holds it meanwhile
    for (size_t i = 0; i < d.size(); i += 3) {
      int rc = allreduce_sum(d[i], d[i + 1], b[i], t[i], [job] { advance(*job); });
      if (rc != MPI_SUCCESS) return rc;
    }
    return MPI_SUCCESS;
  };
  comm().post(j);
  size_t piece = 0;
  for (size_t i = 0; i < n; i += 3)
    for (size_t o = 0; o < bytes[i]; o += kPieceBytes) {
      std::string e = wait_pieces(*j, ++piece);
      if (!e.empty()) return set_err(err, len, e);
      std::memcpy(static_cast<char*>(data[i + 2]) + o, static_cast<char*>(data[i + 1]) + o, std::min(kPieceBytes, bytes[i] - o));
    }
  std::string e = wait(*j);
  if (!e.empty()) set_err(err, len, e);
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
               {"pushpull", task_pushpull},
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
