// Worker: one long-running piece of the server ("udp-0", "cleaner", "access-list"), run on
// its own thread by the Supervisor.
//
// The contract:
//   - Run() runs until `stop` is requested, then returns absl::OkStatus() promptly (well
//     within the supervisor's stop deadline, 5 s by default).
//   - Run() returns an error when the worker cannot go on. The supervisor then logs the
//     worker's name and the error, stops every other worker and the process exits
//     non-zero.
//   - Returning OK before stop was requested is also a failure: a worker that silently
//     ends would leave a half-alive tracker.
//   - Everything that can fail before serving (binding sockets, opening files) is best done
//     in the code that builds the worker, on the main thread, before privileges are
//     dropped; Run() does the serving.
//   - Bad input from the network is never a reason to return.
#ifndef REEF_SERVER_COMMON_WORKER_H_
#define REEF_SERVER_COMMON_WORKER_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "server/common/stop_signal.h"

namespace reef {

class Worker {
 public:
  explicit Worker(std::string name) : name_(std::move(name)) {}
  virtual ~Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Names the worker's thread and its log lines; unique within a supervisor.
  const std::string& name() const { return name_; }

  virtual absl::Status Run(const StopSignal& stop) = 0;

 private:
  std::string name_;
};

// A Worker whose Run() is `run`.
std::unique_ptr<Worker> MakeWorker(std::string name,
                                   absl::AnyInvocable<absl::Status(const StopSignal&)> run);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_WORKER_H_
