// Supervisor: runs every Worker on its own named thread and makes sure the process either
// serves with all of them or stops with all of them.
//
//   Supervisor supervisor;
//   supervisor.Add(std::move(udp_worker));            // any number of workers
//   supervisor.OnSignal(SIGUSR1, [&] { reloader->Trigger(); });
//   absl::Status status = supervisor.Run();           // blocks until everything stopped
//   return status.ok() ? kExitOk : kExitFailure;
//
// Run():
//   - blocks SIGTERM, SIGINT and the OnSignal signals in the calling thread (threads it
//     starts inherit the mask) and reads them from a signalfd on the calling thread, so
//     there are no async signal handlers at all;
//   - starts each worker on a thread named after it;
//   - on SIGTERM/SIGINT or RequestStop(): tells every worker to stop (StopSignal), joins
//     them, returns OK (exit 0) if each returned OK;
//   - on the first worker that returns an error, or returns OK without being asked to
//     stop: logs its name and reason, tells every other worker to stop, joins them all and
//     returns that worker's error ("worker udp-0: <reason>"), so the process exits
//     non-zero;
//   - once stopping, waits at most `stop_deadline` for the workers to return. A worker
//     still running then is logged by name, the threads that did finish are joined, and
//     the process ends at once with _exit(3) (kExitStuckWorker): a thread that ignores its
//     stop signal cannot be joined or killed safely, and hanging forever would be worse
//     than exiting without cleanup.
// No worker thread outlives Run(): either every thread is joined or the process is gone.
#ifndef REEF_SERVER_COMMON_SUPERVISOR_H_
#define REEF_SERVER_COMMON_SUPERVISOR_H_

#include <pthread.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/common/mutex.h"
#include "server/common/stop_signal.h"
#include "server/common/worker.h"

namespace reef {

// The reef binary's exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // a worker failed, or start-up failed
inline constexpr int kExitUsage = 2;        // bad flags or configuration
inline constexpr int kExitStuckWorker = 3;  // a worker did not stop within the deadline

// How long stopping workers may take before the process gives up on them.
inline constexpr absl::Duration kDefaultStopDeadline = absl::Seconds(5);

struct SupervisorOptions {
  absl::Duration stop_deadline = kDefaultStopDeadline;
};

// Blocks SIGTERM, SIGINT, SIGUSR1 and SIGHUP in the calling thread. main() calls it first,
// before any thread exists, so that every later thread inherits the mask and a signal that
// arrives before Run() waits (pending) instead of killing the process.
void BlockServerSignals();

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options = {});
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Before Run(). Worker names should be unique (they name threads and log lines).
  void Add(std::unique_ptr<Worker> worker);

  // Before Run(): `handler` runs on Run()'s thread each time `signo` arrives (SIGUSR1 or
  // SIGHUP, the signals BlockServerSignals blocks in every thread; any other would reach
  // threads that do not block it), except while stopping. Keep it short: it delays signal
  // handling.
  void OnSignal(int signo, absl::AnyInvocable<void()> handler);

  // See the file comment. Call once.
  absl::Status Run();

  // Any thread, any time (before or during Run()): stop as SIGTERM would.
  void RequestStop() { stop_.Request(); }

  // The signal every worker is given.
  const StopSignal& stop_signal() const { return stop_; }

 private:
  struct Slot;
  struct Handler {
    int signo;
    absl::AnyInvocable<void()> handler;
  };
  // What a worker thread reports when its Run() returns.
  struct Outcome {
    bool finished = false;
    bool stop_was_requested = false;  // at the moment Run() returned
    absl::Status status;
  };

  static void* ThreadMain(void* slot);
  void HandleSignal(int signo, int sender_pid);

  const SupervisorOptions options_;
  StopSignal stop_;
  int done_fd_ = -1;  // eventfd: a worker finished
  absl::Status done_fd_status_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Handler> handlers_;
  bool ran_ = false;

  Mutex mu_;
  std::vector<Outcome> outcomes_ ABSL_GUARDED_BY(mu_);  // one per slot, sized before Run
};

}  // namespace reef

#endif  // REEF_SERVER_COMMON_SUPERVISOR_H_
