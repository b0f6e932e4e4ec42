// The protocol-independent run: the window and the drain bound every run, a thread's
// error stops the others, the stop flag ends a run early, counts from every thread are
// merged, and the rate limiter paces requests exactly.
#include "load/run.h"

#include <doctest/doctest.h>

#include <thread>

namespace reef::load {
namespace {

RunSettings Short() {
  RunSettings s;
  s.threads = 3;
  s.warmup_ms = 100;
  s.duration_ms = 300;
  s.timeout_ms = 200;
  return s;
}

// A body that "sends" one request per ms while allowed and answers it at once.
absl::Status Ticker(int, const RunControl& c, ThreadStats* stats) {
  while (true) {
    const uint64_t now = NowNs();
    if (!c.Sending(now)) break;
    stats->Sent(RequestType::kAnnounce);
    stats->Ok(RequestType::kAnnounce, c.InWindow(now), 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

TEST_CASE("every thread runs through warm-up and window, then stops") {
  auto outcome = RunThreads(Short(), Ticker, nullptr);
  REQUIRE(outcome.ok());
  const Totals& t = (*outcome)->totals;
  const size_t a = static_cast<size_t>(RequestType::kAnnounce);
  CHECK(t.sent[a] == t.ok[a]);
  CHECK(t.ok_in_window[a] < t.ok[a]);  // warm-up answers are not in the window
  CHECK(t.ok_in_window[a] > 0);
  CHECK(t.latency[a].count() == t.ok_in_window[a]);
  CHECK((*outcome)->window_seconds == doctest::Approx(0.3));
  CHECK(!(*outcome)->stopped_early);
  // Bounded: it ended after the window, and within warm-up + window + timeout + slack
  // (a termination bound, not a speed assertion; the slack is wide enough for TSan on two
  // busy cores, and a run that ignored its window would not end at all).
  CHECK((*outcome)->wall_seconds >= 0.4);
  CHECK((*outcome)->wall_seconds < 0.6 + 10.0);
}

TEST_CASE("a body that ignores the window is still bounded by the drain deadline") {
  // Sends until drain_end, as a body with outstanding requests would wait.
  auto outcome = RunThreads(
      Short(),
      [](int, const RunControl& c, ThreadStats* stats) {
        while (NowNs() < c.drain_end_ns) {
          stats->Sent(RequestType::kConnect);
          stats->Failed(RequestType::kConnect, Failure::kTimeout);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return absl::OkStatus();
      },
      nullptr);
  REQUIRE(outcome.ok());
  CHECK((*outcome)->totals.FailedOf(Failure::kTimeout) == (*outcome)->totals.TotalSent());
  CHECK((*outcome)->wall_seconds >= 0.6);
}

TEST_CASE("the first error stops every thread and is returned") {
  RunSettings s = Short();
  s.duration_ms = 60'000;  // would run a minute if the error did not stop it
  auto outcome = RunThreads(
      s,
      [](int i, const RunControl& c, ThreadStats* stats) -> absl::Status {
        if (i == 1) return absl::UnavailableError("socket: no");
        return Ticker(i, c, stats);
      },
      nullptr);
  CHECK(outcome.status().code() == absl::StatusCode::kUnavailable);
  CHECK(outcome.status().message() == "socket: no");
}

TEST_CASE("the stop flag ends the run early") {
  RunSettings s = Short();
  s.duration_ms = 60'000;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop.store(true);
  });
  auto outcome = RunThreads(s, Ticker, &stop);
  stopper.join();
  REQUIRE(outcome.ok());
  CHECK((*outcome)->stopped_early);
  CHECK((*outcome)->wall_seconds < 30);
  CHECK((*outcome)->window_seconds < 30);
}

TEST_CASE("rate limiter paces exactly") {
  const uint64_t start = 1'000'000'000;
  RateLimiter r(1000, start);  // one every ms
  CHECK(r.limited());
  CHECK(r.Allowed(start - 1, 100) == 0);
  CHECK(r.NsUntilNext(start - 1) == 1);
  CHECK(r.Allowed(start, 100) == 1);
  r.Sent(1);
  CHECK(r.Allowed(start + 999'999, 100) == 0);
  CHECK(r.NsUntilNext(start + 500'000) == 500'000);
  CHECK(r.Allowed(start + 1'000'000, 100) == 1);
  CHECK(r.NsUntilNext(start + 1'000'000) == 0);
  CHECK(r.Allowed(start + 10'000'000, 100) == 10);  // catch up, the burst allows it
  CHECK(r.Allowed(start + 10'000'000, 4) == 4);     // but never more than the burst
  r.Sent(10);
  CHECK(r.Allowed(start + 10'000'000, 100) == 0);
  // 50,000/s: 50 fall due at each 1 ms tick, none in between.
  RateLimiter fast(50'000, start);
  CHECK(fast.Allowed(start, 1000) == 1);
  fast.Sent(1);
  CHECK(fast.Allowed(start + 999'999, 1000) == 0);
  CHECK(fast.NsUntilNext(start + 10) == 999'990);
  CHECK(fast.Allowed(start + 1'000'000, 1000) == 50);
  CHECK(fast.Allowed(start + 1'999'999, 1000) == 50);
  fast.Sent(50);
  CHECK(fast.Allowed(start + 1'999'999, 1000) == 0);
  CHECK(fast.NsUntilNext(start + 1'500'000) == 500'000);
  CHECK(fast.Allowed(start + 2'000'000, 1000) == 50);
  RateLimiter unlimited(0, start);
  CHECK(!unlimited.limited());
  CHECK(unlimited.Allowed(0, 7) == 7);
  CHECK(unlimited.NsUntilNext(0) == 0);
}

TEST_CASE("progress line names rates and failures") {
  Totals before;
  Totals now;
  now.sent[1] = 2000;
  now.ok[1] = 1500;
  now.failed[1][static_cast<size_t>(Failure::kTimeout)] = 3;
  now.stray = 2;
  const std::string line = ProgressLine(2.0, now, before, 0.5);
  CHECK(line.find("announce 3000/s") != std::string::npos);
  CHECK(line.find("failed 3 timeout=3") != std::string::npos);
  CHECK(line.find("stray 2") != std::string::npos);
}

}  // namespace
}  // namespace reef::load
