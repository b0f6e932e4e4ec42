#include "server/common/periodic.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

#include "server/common/clock.h"
#include "server/common/strings.h"

namespace reef {

PeriodicWorker::PeriodicWorker(std::string name, absl::Duration period, Task task,
                               bool run_at_start)
    : Worker(std::move(name)),
      period_(period),
      task_(std::move(task)),
      run_at_start_(run_at_start) {
  trigger_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (trigger_fd_ < 0) {
    trigger_fd_status_ =
        absl::InternalError(StrCat("eventfd for ", this->name(), ": ", strerror(errno)));
  }
}

PeriodicWorker::~PeriodicWorker() {
  if (trigger_fd_ >= 0) close(trigger_fd_);
}

void PeriodicWorker::Trigger() {
  if (trigger_fd_ < 0) return;
  uint64_t one = 1;
  ssize_t ignored = write(trigger_fd_, &one, sizeof(one));  // coalesces; cannot block
  (void)ignored;
}

absl::Status PeriodicWorker::Run(const StopSignal& stop) {
  if (!trigger_fd_status_.ok()) return trigger_fd_status_;
  const bool timed = period_ > absl::ZeroDuration() && period_ != absl::InfiniteDuration();
  if (run_at_start_ && !stop.requested()) {
    absl::Status status = task_(Reason::kStart);
    if (!status.ok()) return status;
  }
  absl::Duration next = timed ? MonotonicNow() + period_ : absl::InfiniteDuration();
  while (true) {
    absl::Duration wait = next == absl::InfiniteDuration()
                              ? absl::InfiniteDuration()
                              : std::max(next - MonotonicNow(), absl::ZeroDuration());
    Reason reason;
    switch (WaitReadableOrStop(trigger_fd_, stop, wait)) {
      case WaitResult::kStopped:
        return absl::OkStatus();
      case WaitResult::kReadable: {
        uint64_t count;
        ssize_t ignored = read(trigger_fd_, &count, sizeof(count));  // reset the counter
        (void)ignored;
        reason = Reason::kTrigger;
        break;
      }
      case WaitResult::kTimeout:
        reason = Reason::kTimer;
        break;
      case WaitResult::kError:
      default:
        return absl::InternalError(
            StrCat(name(), ": waiting for the next run: ", strerror(errno)));
    }
    absl::Status status = task_(reason);
    if (!status.ok()) return status;
    if (timed) next = MonotonicNow() + period_;
  }
}

}  // namespace reef
