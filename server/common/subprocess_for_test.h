// Running a binary from a test, with its stdout and stderr captured and every wait
// bounded in time. The destructor kills (SIGKILL, by pid) and reaps a child still running,
// so a failing test never leaves a process behind.
#ifndef REEF_SERVER_COMMON_SUBPROCESS_FOR_TEST_H_
#define REEF_SERVER_COMMON_SUBPROCESS_FOR_TEST_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace reef::testing {

class Subprocess {
 public:
  // Starts argv[0] (a path) with `argv`, the current environment plus `extra_env`
  // ("NAME=value").
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int signo);  // false once the child has been reaped

  // Collects output until stderr contains `needle` (true) or `timeout` passes or the
  // child's output ends (false).
  bool WaitForStderr(std::string_view needle, absl::Duration timeout);

  // Collects output until the child exits; its wait status, or nullopt after `timeout`.
  std::optional<int> Wait(absl::Duration timeout);

  const std::string& stdout_text() const { return out_; }
  const std::string& stderr_text() const { return err_; }

 private:
  Subprocess() = default;
  // Reads whatever is ready, waiting at most `timeout` for something to be.
  void Pump(absl::Duration timeout);

  pid_t pid_ = -1;
  std::optional<int> wait_status_;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
};

// "exit 0", "exit 2", "signal 9 (Killed)".
std::string DescribeWaitStatus(int status);

// What a forked child did: its wait status and everything it wrote to stderr.
struct ForkedChild {
  int status = -1;
  std::string err;
  // The exit status, or -1 if it did not exit (a signal).
  int exit_code() const;
};

// Forks; the child sends its stderr to a pipe, runs `body` and _exits with what it
// returns. For what must not happen in the test process itself (installing a seccomp
// filter, running out of memory, switching user). Call it while the test process has one
// thread.
ForkedChild RunInForkedChild(const std::function<int()>& body);

}  // namespace reef::testing

#endif  // REEF_SERVER_COMMON_SUBPROCESS_FOR_TEST_H_
