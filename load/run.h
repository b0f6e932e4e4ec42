// The part of a load run that does not depend on the protocol: threads, the time window,
// the rate limit, stopping, the progress line, and merging what each thread counted.
//
// A run has three phases on one monotonic clock:
//   [start, window_start)        warm-up: requests go out, nothing is timed or rated;
//   [window_start, window_end)   the window: rates and latencies come from here;
//   [window_end, drain_end)      no new requests; answers to outstanding ones are
//                                awaited for at most one timeout, then every request
//                                still without an answer is a timeout.
// A thread body must stop sending at window_end (or as soon as `stop` is set) and return
// by drain_end; RunThreads then joins it. So a run always ends within
// warm-up + duration + timeout, plus the time a body takes to notice (a few ms).
#ifndef REEF_LOAD_RUN_H_
#define REEF_LOAD_RUN_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "load/stats.h"
#include "protocol/common/rng.h"

namespace reef::load {

// Nanoseconds on CLOCK_MONOTONIC.
uint64_t NowNs();

// An InternalError "what: strerror(errno)", for a system call that just failed.
absl::Status ErrnoError(std::string_view what);

struct RunControl {
  uint64_t start_ns = 0;
  uint64_t window_start_ns = 0;
  uint64_t window_end_ns = 0;
  uint64_t drain_end_ns = 0;
  uint64_t timeout_ns = 0;
  double rate_per_thread = 0;  // requests/s; 0: unlimited
  const std::atomic<bool>* stop = nullptr;

  bool Stopped() const { return stop != nullptr && stop->load(std::memory_order_relaxed); }
  // Whether new requests may go out now.
  bool Sending(uint64_t now) const { return now < window_end_ns && !Stopped(); }
  bool InWindow(uint64_t now) const { return now >= window_start_ns && now < window_end_ns; }
};

// How many requests a thread may send by `now` under a fixed rate: the requests due since
// start minus those already sent, at most `burst` at once. Unlimited (returns `burst`)
// when the rate is 0.
//
// Requests fall due in ticks of kRateTickNs: at 50,000/s, 50 every millisecond, sent
// together. Spacing them evenly instead would make a server wake up once per request,
// and its CPU time per request would then measure this machine's wake-up cost (tens of
// microseconds in a VM) more than the server's own work.
inline constexpr uint64_t kRateTickNs = 1'000'000;

class RateLimiter {
 public:
  RateLimiter(double rate_per_s, uint64_t start_ns) : rate_(rate_per_s), start_ns_(start_ns) {}
  uint64_t Allowed(uint64_t now_ns, uint64_t burst) const;
  void Sent(uint64_t n) { sent_ += n; }
  // Nanoseconds until more requests fall due (0 if some are due now, or unlimited).
  uint64_t NsUntilNext(uint64_t now_ns) const;
  bool limited() const { return rate_ > 0; }

 private:
  // Requests due by the start of the tick holding `now_ns` (the first one at start).
  uint64_t DueBy(uint64_t now_ns) const;

  double rate_;
  uint64_t start_ns_;
  uint64_t sent_ = 0;
};

// The closed-loop mode's send budget (LoadOptions::follow_up_probability): requests go
// out only as earlier ones are answered. It starts with `initial` credits (the first
// window); each answer returns one credit and, with the follow-up probability, grants one
// more, unless the requests outstanding and the credits already fill `capacity` (the
// slots): then that follow-up is dropped. A request that times out returns nothing.
// Disabled (probability 0), it never limits: the fixed window.
class ClosedLoopBudget {
 public:
  ClosedLoopBudget(double follow_up_probability, uint64_t initial, uint64_t capacity)
      : p_(follow_up_probability), credits_(initial), capacity_(capacity) {}

  bool enabled() const { return p_ > 0; }
  uint64_t credits() const { return credits_; }
  // How many of `wanted` requests may go out now.
  uint64_t Allowed(uint64_t wanted) const {
    return enabled() ? std::min(wanted, credits_) : wanted;
  }
  void Spent(uint64_t n) {
    if (enabled()) credits_ -= std::min(n, credits_);
  }
  // An answer came back; `outstanding` requests remain, not counting the answered one.
  void Answered(Rng& rng, uint64_t outstanding, ThreadStats* stats) {
    if (!enabled()) return;
    ++credits_;
    if (!rng.Chance(p_)) return;
    const bool capped = outstanding + credits_ >= capacity_;
    if (!capped) ++credits_;
    stats->FollowUp(capped);
  }

 private:
  double p_;
  uint64_t credits_;
  uint64_t capacity_;
};

struct RunSettings {
  int threads = 1;
  int64_t warmup_ms = 0;
  int64_t duration_ms = 1000;
  int64_t timeout_ms = 1000;
  double rate = 0;        // over all threads
  bool progress = false;  // a line on stderr every second
};

// What a thread does; it returns an error only for something that makes the run
// meaningless (cannot open a socket), never for a wrong answer (that is counted).
using ThreadBody =
    std::function<absl::Status(int thread_index, const RunControl& control, ThreadStats* stats)>;

struct RunOutcome {
  Totals totals;
  double window_seconds = 0;  // the window's planned length, or less if stopped early
  double wall_seconds = 0;    // from start to the last thread joined
  bool stopped_early = false;
};

// Runs `body` on `settings.threads` threads and merges their counts. `stop` (may be null)
// ends sending early, such as on SIGINT. The first error a body returns stops the others
// and is returned after every thread is joined.
absl::StatusOr<std::unique_ptr<RunOutcome>> RunThreads(const RunSettings& settings,
                                                       const ThreadBody& body,
                                                       std::atomic<bool>* stop);

// One progress line: elapsed seconds, answers per second since the last line, failures.
std::string ProgressLine(double elapsed_s, const Totals& now, const Totals& before,
                         double interval_s);

}  // namespace reef::load

#endif  // REEF_LOAD_RUN_H_
