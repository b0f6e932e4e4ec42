#include "server/common/stop_signal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "server/common/clock.h"

namespace reef {
namespace {

// poll(2) takes an int of milliseconds; longer waits are done in slices of this. Rounded
// up, so a wait never ends before its time.
constexpr int64_t kMaxPollSliceMs = 60 * 60 * 1000;

// Milliseconds to pass to poll for what is left until `deadline`: -1 for an infinite
// deadline, rounded up so poll never returns before the deadline.
int PollTimeoutMs(absl::Duration deadline) {
  if (deadline == absl::InfiniteDuration()) return -1;
  absl::Duration left = deadline - MonotonicNow();
  if (left <= absl::ZeroDuration()) return 0;
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1)));
  return static_cast<int>(ms > kMaxPollSliceMs ? kMaxPollSliceMs : ms);
}

}  // namespace

StopSignal::StopSignal() {
  fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd_ < 0) {
    status_ = absl::InternalError(std::string("eventfd for the stop signal: ") +
                                  strerror(errno));
  }
}

StopSignal::~StopSignal() {
  if (fd_ >= 0) close(fd_);
}

void StopSignal::Request() {
  if (requested_.exchange(true, std::memory_order_acq_rel)) return;
  if (fd_ < 0) return;
  uint64_t one = 1;
  // An eventfd counter write of 1 cannot block or fail short of overflow (never: once).
  ssize_t ignored = write(fd_, &one, sizeof(one));
  (void)ignored;
}

bool StopSignal::WaitFor(absl::Duration timeout) const {
  const absl::Duration deadline = MonotonicNow() + timeout;  // infinite stays infinite
  while (!requested()) {
    int ms = PollTimeoutMs(deadline);
    if (ms == 0) return false;
    if (fd_ < 0) {
      // No eventfd: sleep in short slices and look at the flag.
      usleep(static_cast<useconds_t>(ms < 0 || ms > 10 ? 10000 : ms * 1000));
      continue;
    }
    pollfd p{fd_, POLLIN, 0};
    poll(&p, 1, ms);  // EINTR or timeout: the loop re-checks
  }
  return true;
}

WaitResult WaitReadableOrStop(int fd, const StopSignal& stop, absl::Duration timeout) {
  const absl::Duration deadline = MonotonicNow() + timeout;  // infinite stays infinite
  while (true) {
    if (stop.requested()) return WaitResult::kStopped;
    int ms = PollTimeoutMs(deadline);
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop.fd(), POLLIN, 0}};
    const nfds_t count = stop.fd() >= 0 ? 2 : 1;
    if (stop.fd() < 0 && (ms < 0 || ms > 10)) ms = 10;  // no eventfd: look at the flag
    int n = poll(fds, count, ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WaitResult::kError;
    }
    if (stop.requested()) return WaitResult::kStopped;
    if (n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      return WaitResult::kReadable;
    }
    if (MonotonicNow() >= deadline) {
      return WaitResult::kTimeout;
    }
  }
}

}  // namespace reef
