// The comm thread and its watchdog (comm.h).
#include "comm.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace ndgrad_dist {

// The main addon's mark of a task whose buffers may still be written (ndgrad_external_in_use in
// native/src/engine/engine.h; this module does not include the main addon's headers).
const std::string kInUse = "\x01";

void finish(Job& j, const std::string& err) {
  std::lock_guard<std::mutex> l(j.m);
  if (j.done) return;
  j.err = err;
  j.done = true;
  j.cv.notify_all();
}

// The error of an ended job, j.m held.
std::string error_of(const Job& j) {
  return j.stuck ? kInUse + j.err : j.err;
}

std::string wait(Job& j) {
  std::unique_lock<std::mutex> l(j.m);
  j.cv.wait(l, [&] { return j.done; });
  return error_of(j);
}

void advance(Job& j) {
  std::lock_guard<std::mutex> l(j.m);
  ++j.pieces;
  j.cv.notify_all();
}

std::string wait_pieces(Job& j, size_t pieces) {
  std::unique_lock<std::mutex> l(j.m);
  j.cv.wait(l, [&] { return j.done || j.pieces >= pieces; });
  return j.done ? error_of(j) : std::string();
}

std::shared_ptr<Job> make_job(std::string what, std::function<int()> run) {
  auto j = std::make_shared<Job>();
  j->what = std::move(what);
  j->run = std::move(run);
  return j;
}

StartError Comm::start(double timeout) {
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

void Comm::post(const std::shared_ptr<Job>& j) {
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

void Comm::stop() {
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

void Comm::abort_job(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);  // from any thread: it only ends the job
}

bool Comm::running() {
  std::lock_guard<std::mutex> l(m_);
  return state_ == State::Running;
}

void Comm::loop() {
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

void Comm::post_notice_recv() {
  MPI_Irecv(&notice_, 1, MPI_LONG_LONG, MPI_ANY_SOURCE, kExitTag, notices_, &notice_req_);
}

void Comm::send_exit_notices(long long taken) {
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

void Comm::poll_notices() {
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

std::string Comm::peer_exit_message(long long index, const Job& j) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "rank %d exited (a clean exit, after %lld collectives) while rank %d of %d needs it in collective #%lld "
                "(%s), which can never finish; ending the job",
                peer_exited_, peer_limit_, rank, size, index, j.what.c_str());
  return buf;
}

void Comm::fail(std::unique_lock<std::mutex>& l, const std::string& why, double grace_s) {
  broken_ = why;
  abort_at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(grace_s));
  std::shared_ptr<Job> stuck = current_;
  std::deque<std::shared_ptr<Job>> queued;
  queued.swap(jobs_);
  cv_.notify_all();
  l.unlock();
  std::fprintf(stderr, "NDArrayError [DIST_FAILURE]: %s\n", why.c_str());
  if (stuck) {
    {
      std::lock_guard<std::mutex> g(stuck->m);
      stuck->stuck = true;
    }
    finish(*stuck, why);
  }
  for (auto& q : queued) finish(*q, why);
  l.lock();
}

void Comm::watch() {
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

Comm& comm() {
  static Comm* c = new Comm();  // never destroyed: engine tasks may reach it while the process exits
  return *c;
}

}  // namespace ndgrad_dist
