// StopSignal: how the supervisor tells workers to stop.
//
// A one-way latch. Request() flips it once; after that requested() is true and fd() is
// readable forever (an eventfd that is written once and never read), so a worker can
//   - poll requested() between batches (one acquire load), and/or
//   - put fd() in its epoll set (EPOLLIN, level-triggered) or an io_uring POLL_ADD, so a
//     worker blocked in the kernel wakes up at once, and/or
//   - sleep with WaitFor(), which returns early when stop is requested.
// Never read() from fd(): that would consume the wake-up for every other waiter.
#ifndef REEF_SERVER_COMMON_STOP_SIGNAL_H_
#define REEF_SERVER_COMMON_STOP_SIGNAL_H_

#include <atomic>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace reef {

class StopSignal {
 public:
  // Creates the eventfd. If that fails (out of file descriptors), status() says so and
  // fd() is -1; requested() and Request() still work.
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  const absl::Status& status() const { return status_; }

  // Thread-safe and idempotent; async-signal-safe (an atomic exchange and a write(2)).
  void Request();
  bool requested() const { return requested_.load(std::memory_order_acquire); }
  // Readable once Request() has been called.
  int fd() const { return fd_; }

  // Sleeps for `timeout` or until Request(), whichever comes first. Returns true if the
  // stop was requested (possibly before the call), false if the time ran out.
  // absl::InfiniteDuration() waits for the stop alone.
  bool WaitFor(absl::Duration timeout) const;

 private:
  absl::Status status_;
  int fd_ = -1;
  std::atomic<bool> requested_{false};
};

// Waits until `fd` is readable, `stop` is requested or `timeout` passes. At most
// `timeout` (absl::InfiniteDuration() for no limit); retried on EINTR.
enum class WaitResult { kReadable, kStopped, kTimeout, kError };
WaitResult WaitReadableOrStop(int fd, const StopSignal& stop, absl::Duration timeout);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_STOP_SIGNAL_H_
