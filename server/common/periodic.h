// PeriodicWorker: a Worker that runs a task every `period` (the swarm cleaner, the access
// list reloader), sleeping interruptibly in between, and at once when Trigger()ed.
//
//   auto reloader = std::make_shared<PeriodicWorker>("access-list", absl::Seconds(60),
//       [&](PeriodicWorker::Reason reason) { return Reload(reason); });
//
// The task runs on the worker's thread, never twice at once. The next run is `period` after
// the previous one ended (no catch-up bursts after a slow run). A zero or infinite period
// means: only when triggered. Stop interrupts the sleep at once (not a running task).
// A task that returns an error ends Run() with it, which stops the server: return errors
// only for what must not go on (a bad file to reload is logged and returns OK).
#ifndef REEF_SERVER_COMMON_PERIODIC_H_
#define REEF_SERVER_COMMON_PERIODIC_H_

#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/common/stop_signal.h"
#include "server/common/worker.h"

namespace reef {

class PeriodicWorker final : public Worker {
 public:
  enum class Reason {
    kStart,    // the first run, when `run_at_start`
    kTimer,    // `period` passed
    kTrigger,  // Trigger() was called
  };
  using Task = absl::AnyInvocable<absl::Status(Reason)>;

  PeriodicWorker(std::string name, absl::Duration period, Task task,
                 bool run_at_start = false);
  ~PeriodicWorker() override;

  // Any thread, async-signal-safe: run the task as soon as possible. Triggers that arrive
  // while the task runs, or before Run() starts, coalesce into one more run.
  void Trigger();

  absl::Status Run(const StopSignal& stop) override;

 private:
  const absl::Duration period_;
  Task task_;
  const bool run_at_start_;
  int trigger_fd_ = -1;  // eventfd
  absl::Status trigger_fd_status_;
};

}  // namespace reef

#endif  // REEF_SERVER_COMMON_PERIODIC_H_
