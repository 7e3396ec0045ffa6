// The comm thread of ndgrad's MPI module (dist.cc): it initialises MPI, runs every collective in the
// order posted, and finalises MPI; a watchdog thread fails a job that runs past NDGRAD_DIST_TIMEOUT or
// needs a rank that has exited, then ends the job with MPI_Abort.
#pragma once
#include <mpi.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace ndgrad_dist {

using Clock = std::chrono::steady_clock;

struct Job {
  std::string what;                  // names the collective in errors
  std::function<int()> run;          // on the comm thread; an MPI error code
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  size_t pieces = 0;                 // pieces of the collective finished so far (advance)
  bool stuck = false;                // failed while its collective ran: MPI may still write its buffers
  std::string err;
};

// Ends a job with an error message ("" for success); only the first call counts.
void finish(Job& j, const std::string& err);
// Waits until the job has ended; its error message, or "". The message of a job that failed while its
// collective ran begins with ndgrad_external_in_use (engine.h): its buffers must outlive the process.
std::string wait(Job& j);
// Counts one more finished piece of a job's collective (on the comm thread).
void advance(Job& j);
// Waits until `pieces` pieces of the job are finished or the job has ended; the job's error, or "".
std::string wait_pieces(Job& j, size_t pieces);
std::shared_ptr<Job> make_job(std::string what, std::function<int()> run);

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
  StartError start(double timeout);

  // Queues a job (FIFO, the same order on every rank because every rank issues the same sequence).
  void post(const std::shared_ptr<Job>& j);

  // A clean exit: after the queued jobs, tells the other ranks how many collectives this one took part
  // in, then MPI_Finalize on the comm thread; joins both threads. A job that failed ends the job.
  void stop();

  void abort_job(int code);  // MPI_Abort, from any thread
  bool running();

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

  void loop();
  void post_notice_recv();

  // This rank's count to every other rank (small messages: sent eagerly, even to a rank blocked in a
  // collective), and the pending receive cancelled, before MPI_Finalize.
  void send_exit_notices(long long taken);

  // Reads the exit notices that have arrived (the watchdog, m_ not held): the lowest count wins.
  void poll_notices();

  std::string peer_exit_message(long long index, const Job& j);

  // Fails the current job and every queued one (their waiters throw DIST_FAILURE, later jobs fail at
  // once), and schedules MPI_Abort after a grace period for the script to report it: a collective
  // cannot be cancelled, so no rank may wait in it forever. m_ held.
  void fail(std::unique_lock<std::mutex>& l, const std::string& why, double grace_s);

  // Watches the current job: past the timeout, or needing a rank that has exited, it fails; then
  // MPI_Abort once the grace period is over.
  void watch();
};


// The process-wide comm (one MPI world per process).
Comm& comm();

}  // namespace ndgrad_dist
