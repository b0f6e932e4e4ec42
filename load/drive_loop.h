// The loop every load thread runs, whatever the protocol: expire requests older than the
// timeout, send within the rate budget while the window lasts (each round starts at the
// next socket, so none is favoured), then drain the answers still due and stop; between
// rounds, wait for readiness at most 1 ms (not at all when more requests are already due).
#ifndef REEF_LOAD_DRIVE_LOOP_H_
#define REEF_LOAD_DRIVE_LOOP_H_

#include <errno.h>
#include <sys/epoll.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "load/run.h"

namespace reef::load {

// How often outstanding requests are checked for timeouts.
inline constexpr uint64_t kExpireEveryNs = 1'000'000;

// `client` provides:
//   void Expire(uint64_t now, bool all);          time out old (or, if all, every) request
//   size_t busy() const;  size_t capacity() const;  outstanding now / at most
//   void FillRound(uint64_t now, uint64_t* budget);  send up to *budget, decrementing it
//   void OnReady(const epoll_event& event);       readiness of one socket or connection
//   int epoll_fd() const;
template <typename Client>
absl::Status DriveLoop(Client& client, const RunControl& control, RateLimiter& limiter) {
  uint64_t last_expire = 0;
  uint64_t stop_ns = 0;  // when sending ended
  std::array<epoll_event, 64> events;
  while (true) {
    const uint64_t now = NowNs();
    if (now - last_expire >= kExpireEveryNs) {
      client.Expire(now, /*all=*/false);
      last_expire = now;
    }
    const bool sending = control.Sending(now);
    if (!sending) {
      if (stop_ns == 0) stop_ns = now;
      if (client.busy() == 0) break;
      if (now >= std::min(control.drain_end_ns, stop_ns + control.timeout_ns)) {
        client.Expire(now, /*all=*/true);
        break;
      }
    } else {
      uint64_t budget = limiter.Allowed(now, ~uint64_t{0});
      const uint64_t before = budget;
      client.FillRound(now, &budget);
      limiter.Sent(before - budget);
    }
    int wait_ms = 1;
    if (sending && limiter.limited() && client.busy() < client.capacity() &&
        limiter.NsUntilNext(NowNs()) == 0) {
      wait_ms = 0;  // more are due already
    }
    const int n = epoll_wait(client.epoll_fd(), events.data(), static_cast<int>(events.size()),
                             wait_ms);
    if (n < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("epoll_wait: ", std::strerror(errno)));
    }
    for (int i = 0; i < n; ++i) client.OnReady(events[static_cast<size_t>(i)]);
  }
  return absl::OkStatus();
}

}  // namespace reef::load

#endif  // REEF_LOAD_DRIVE_LOOP_H_
