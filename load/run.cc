#include "load/run.h"

#include <errno.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace reef::load {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

absl::Status ErrnoError(std::string_view what) {
  return absl::InternalError(absl::StrCat(std::string(what), ": ", std::strerror(errno)));
}

uint64_t RateLimiter::DueBy(uint64_t now_ns) const {
  const uint64_t tick_start = (now_ns - start_ns_) / kRateTickNs * kRateTickNs;
  return static_cast<uint64_t>(std::floor(rate_ * static_cast<double>(tick_start) * 1e-9)) + 1;
}

uint64_t RateLimiter::Allowed(uint64_t now_ns, uint64_t burst) const {
  if (rate_ <= 0) return burst;
  if (now_ns < start_ns_) return 0;
  const uint64_t due = DueBy(now_ns);
  return due <= sent_ ? 0 : std::min(burst, due - sent_);
}

uint64_t RateLimiter::NsUntilNext(uint64_t now_ns) const {
  if (rate_ <= 0) return 0;
  if (now_ns < start_ns_) return start_ns_ - now_ns;
  if (DueBy(now_ns) > sent_) return 0;
  // Request number sent_ (0-based) is due at start + sent_ / rate, rounded up to a tick.
  const double due_offset = std::ceil(static_cast<double>(sent_) * 1e9 / rate_);
  const uint64_t ticks = (static_cast<uint64_t>(due_offset) + kRateTickNs - 1) / kRateTickNs;
  const uint64_t due_ns = start_ns_ + ticks * kRateTickNs;
  return due_ns > now_ns ? due_ns - now_ns : 0;
}

std::string ProgressLine(double elapsed_s, const Totals& now, const Totals& before,
                         double interval_s) {
  std::string line = absl::StrFormat("%6.1fs", elapsed_s);
  const double dt = interval_s > 0 ? interval_s : 1;
  double total = 0;
  for (size_t t = 0; t < kNumRequestTypes; ++t) {
    if (now.sent[t] == 0) continue;
    const double rate = static_cast<double>(now.ok[t] - before.ok[t]) / dt;
    total += rate;
    absl::StrAppendFormat(&line, "  %s %.0f/s", RequestTypeName(static_cast<RequestType>(t)),
                          rate);
  }
  absl::StrAppendFormat(&line, "  | ok %.0f/s  failed %d", total, now.TotalFailed());
  for (size_t f = 0; f < kNumFailures; ++f) {
    const uint64_t n = now.FailedOf(static_cast<Failure>(f));
    if (n > 0) absl::StrAppendFormat(&line, " %s=%d", FailureName(static_cast<Failure>(f)), n);
  }
  if (now.stray > 0) absl::StrAppendFormat(&line, "  stray %d", now.stray);
  return line;
}

absl::StatusOr<std::unique_ptr<RunOutcome>> RunThreads(const RunSettings& settings,
                                                       const ThreadBody& body,
                                                       std::atomic<bool>* stop) {
  if (settings.threads < 1) return absl::InvalidArgumentError("threads must be >= 1");
  std::atomic<bool> internal_stop{false};
  std::atomic<bool>* stop_flag = stop != nullptr ? stop : &internal_stop;

  RunControl control;
  control.start_ns = NowNs();
  control.window_start_ns = control.start_ns + static_cast<uint64_t>(settings.warmup_ms) * 1'000'000u;
  control.window_end_ns =
      control.window_start_ns + static_cast<uint64_t>(settings.duration_ms) * 1'000'000u;
  control.timeout_ns = static_cast<uint64_t>(settings.timeout_ms) * 1'000'000u;
  control.drain_end_ns = control.window_end_ns + control.timeout_ns;
  control.rate_per_thread = settings.rate / settings.threads;
  control.stop = stop_flag;

  std::vector<std::unique_ptr<ThreadStats>> stats;
  std::vector<absl::Status> results(static_cast<size_t>(settings.threads));
  for (int i = 0; i < settings.threads; ++i) stats.push_back(std::make_unique<ThreadStats>());

  std::mutex mu;
  std::condition_variable done_cv;
  int running = settings.threads;
  std::vector<std::thread> threads;
  for (int i = 0; i < settings.threads; ++i) {
    threads.emplace_back([&, i] {
      absl::Status s = body(i, control, stats[static_cast<size_t>(i)].get());
      if (!s.ok()) stop_flag->store(true);
      std::lock_guard<std::mutex> lock(mu);
      results[static_cast<size_t>(i)] = std::move(s);
      --running;
      done_cv.notify_all();
    });
  }

  // The progress line, once a second, until every thread is done.
  const auto snapshot = [&] {
    Totals t;
    for (const auto& s : stats) s->AddTo(&t, /*with_latency=*/false);
    return t;
  };
  auto before = std::make_unique<Totals>();
  uint64_t last_ns = control.start_ns;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      if (done_cv.wait_for(lock, std::chrono::seconds(1), [&] { return running == 0; })) break;
      if (!settings.progress) continue;
      lock.unlock();
      const uint64_t now = NowNs();
      auto current = std::make_unique<Totals>(snapshot());
      std::fprintf(stderr, "%s\n",
                   ProgressLine(static_cast<double>(now - control.start_ns) * 1e-9, *current,
                                *before, static_cast<double>(now - last_ns) * 1e-9)
                       .c_str());
      before = std::move(current);
      last_ns = now;
      lock.lock();
    }
  }
  for (std::thread& t : threads) t.join();
  const uint64_t end_ns = NowNs();

  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  auto outcome = std::make_unique<RunOutcome>();
  for (const auto& s : stats) s->AddTo(&outcome->totals, /*with_latency=*/true);
  outcome->wall_seconds = static_cast<double>(end_ns - control.start_ns) * 1e-9;
  outcome->stopped_early = stop_flag->load() && end_ns < control.window_end_ns;
  const uint64_t window_end = std::min(control.window_end_ns, std::max(end_ns, control.window_start_ns));
  outcome->window_seconds =
      static_cast<double>(window_end - control.window_start_ns) * 1e-9;
  return outcome;
}

}  // namespace reef::load
