// What every protocol's load thread shares: the loop it runs (DriveLoop), the skeleton
// around the protocol's sockets (LoadThread), and how a thread is started
// (RunLoadThread). A protocol's thread (udp_client.cc, http_client.cc) adds its sockets
// or connections, how to fill one with requests, and how to read the answers.
//
// The loop: expire requests older than the timeout, send within the rate budget while
// the window lasts (each round starts at the next socket, so none is favoured), then
// drain the answers still due and stop; between rounds, wait for readiness at most 1 ms
// (not at all when more requests are already due).
#ifndef REEF_LOAD_DRIVE_LOOP_H_
#define REEF_LOAD_DRIVE_LOOP_H_

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "load/run.h"
#include "load/stats.h"
#include "load/target.h"
#include "load/workload.h"
#include "protocol/common/rng.h"

namespace reef::load {

// How often outstanding requests are checked for timeouts.
inline constexpr uint64_t kExpireEveryNs = 1'000'000;

// `client` provides:
//   void Expire(uint64_t now, bool all);          time out old (or, if all, every) request
//   size_t busy() const;  size_t capacity() const;  outstanding now / at most
//   void FillRound(uint64_t now, uint64_t* budget);  send up to *budget, decrementing it
//   void OnReady(const epoll_event& event);       readiness of one socket or connection
//   int epoll_fd() const;
//   ClosedLoopBudget& closed_loop();              the closed-loop mode's budget
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
    bool sent_some = false;
    if (!sending) {
      if (stop_ns == 0) stop_ns = now;
      if (client.busy() == 0) break;
      if (now >= std::min(control.drain_end_ns, stop_ns + control.timeout_ns)) {
        client.Expire(now, /*all=*/true);
        break;
      }
    } else {
      uint64_t budget = client.closed_loop().Allowed(limiter.Allowed(now, ~uint64_t{0}));
      const uint64_t before = budget;
      client.FillRound(now, &budget);
      limiter.Sent(before - budget);
      client.closed_loop().Spent(before - budget);
      sent_some = budget != before;
    }
    int wait_ms = 1;
    // Not waiting at all only while requests go out: a round that sent nothing (every
    // socket waiting for its connection id, say) waits for an answer or 1 ms, or this
    // thread would spin, and under SCHED_FIFO starve a server sharing its CPU.
    if (sent_some && limiter.limited() && client.busy() < client.capacity() &&
        client.closed_loop().Allowed(1) > 0 && limiter.NsUntilNext(NowNs()) == 0) {
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

// The state every protocol's load thread has: its share of the workload and the run, its
// own generator (seeded from the run's seed and the thread's index, so a fixed seed
// gives every thread the same requests each run), its rate budget and its epoll set.
// Provides DriveLoop's busy(), capacity() and epoll_fd(); the protocol's thread provides
// Expire, FillRound (through FillRoundRobin) and OnReady.
class LoadThread {
 public:
  LoadThread(const LoadThread&) = delete;
  LoadThread& operator=(const LoadThread&) = delete;

  size_t busy() const { return busy_; }
  // sockets_per_thread sockets or connections, each with up to SlotsPerSocket() requests.
  size_t capacity() const {
    return static_cast<size_t>(o_.sockets_per_thread) *
           static_cast<size_t>(o_.SlotsPerSocket());
  }
  int epoll_fd() const { return epoll_fd_; }
  RateLimiter& limiter() { return limiter_; }
  ClosedLoopBudget& closed_loop() { return closed_loop_; }

 protected:
  LoadThread(const Workload& workload, int thread_index, const RunControl& control,
             ThreadStats* stats)
      : w_(workload),
        o_(workload.options()),
        c_(control),
        stats_(stats),
        rng_(Mix64(o_.seed * 0x10001 + static_cast<uint64_t>(thread_index))),
        limiter_(control.rate_per_thread, control.start_ns),
        closed_loop_(o_.follow_up_probability,
                     static_cast<uint64_t>(o_.sockets_per_thread) *
                         static_cast<uint64_t>(o_.in_flight),
                     capacity()),
        loopback_(IsLoopback(o_.target)) {}
  ~LoadThread() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }

  absl::Status OpenEpoll() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    return epoll_fd_ < 0 ? ErrnoError("epoll_create1") : absl::OkStatus();
  }

  // One sending round: fill(endpoint, budget) for each of `endpoints` in turn while
  // budget remains, starting one further along each round.
  template <typename Endpoint, typename Fill>
  void FillRoundRobin(std::vector<Endpoint>& endpoints, uint64_t* budget, Fill fill) {
    for (size_t k = 0; k < endpoints.size() && *budget > 0; ++k) {
      fill(endpoints[(next_endpoint_ + k) % endpoints.size()], budget);
    }
    next_endpoint_ = (next_endpoint_ + 1) % endpoints.size();
  }

  const Workload& w_;
  const LoadOptions& o_;
  const RunControl& c_;
  ThreadStats* stats_;
  Rng rng_;
  RateLimiter limiter_;
  ClosedLoopBudget closed_loop_;
  const bool loopback_;  // the target is a loopback address (see IsLoopbackPeer)
  int epoll_fd_ = -1;
  size_t busy_ = 0;  // requests outstanding

 private:
  size_t next_endpoint_ = 0;
};

// Runs one load thread of type Thread (a LoadThread with Open(), Expire, FillRound and
// OnReady): opens it, then drives it until the run ends.
template <typename Thread>
absl::Status RunLoadThread(const Workload& workload, int thread_index, const RunControl& control,
                           ThreadStats* stats) {
  Thread thread(workload, thread_index, control, stats);
  if (absl::Status s = thread.Open(); !s.ok()) return s;
  return DriveLoop(thread, control, thread.limiter());
}

}  // namespace reef::load

#endif  // REEF_LOAD_DRIVE_LOOP_H_
