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
    stats->Ok(RequestType::kAnnounce, c.InWindow(now), 1000, now - c.start_ns);
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

TEST_CASE("the closed-loop budget: an answer is replaced, a follow-up comes with p") {
  ThreadStats stats;
  Rng rng(7);
  SUBCASE("disabled, it never limits and grants nothing") {
    ClosedLoopBudget b(0, 4, 16);
    CHECK(!b.enabled());
    CHECK(b.Allowed(1000) == 1000);
    b.Answered(rng, 0, &stats);
    CHECK(stats.follow_ups.Get() + stats.follow_ups_capped.Get() == 0);
  }
  SUBCASE("the first window, then one request per answer, none per timeout") {
    ClosedLoopBudget b(0.000001, 4, 16);
    CHECK(b.Allowed(1000) == 4);
    b.Spent(4);
    CHECK(b.Allowed(1000) == 0);
    b.Answered(rng, 3, &stats);
    CHECK(b.Allowed(1000) == 1);
    b.Spent(1);
    CHECK(b.credits() == 0);  // a timeout calls nothing: the window shrank by one
  }
  SUBCASE("probability 1: two requests per answer until the slots are full") {
    ClosedLoopBudget b(1, 2, 5);
    b.Spent(2);
    b.Answered(rng, 1, &stats);  // 1 outstanding + 2 credits
    CHECK(b.credits() == 2);
    b.Spent(2);
    b.Answered(rng, 2, &stats);  // 2 + 2
    b.Spent(2);
    CHECK(stats.follow_ups.Get() == 2);
    b.Answered(rng, 3, &stats);  // 3 + 1 replacement = 4 < 5: one more fits
    CHECK(b.credits() == 2);
    b.Spent(2);
    b.Answered(rng, 4, &stats);  // 4 + 1 = 5: full, the follow-up is dropped
    CHECK(b.credits() == 1);
    CHECK(stats.follow_ups.Get() == 3);
    CHECK(stats.follow_ups_capped.Get() == 1);
  }
  SUBCASE("probability 0.2: a fifth of the answers bring a follow-up") {
    ClosedLoopBudget b(0.2, 1, 1'000'000);
    constexpr int kAnswers = 100'000;
    for (int i = 0; i < kAnswers; ++i) b.Answered(rng, 0, &stats);
    // Binomial(100000, 0.2): the standard deviation is 126, so +-1000 is 8 of them.
    CHECK(stats.follow_ups.Get() > 19'000);
    CHECK(stats.follow_ups.Get() < 21'000);
    CHECK(b.credits() == 1 + kAnswers + stats.follow_ups.Get());
  }
}

TEST_CASE("the timeline counts ok answers in the second they came") {
  ThreadStats stats;
  stats.Ok(RequestType::kAnnounce, false, 10, 0);
  stats.Ok(RequestType::kConnect, false, 10, kNsPerSecond - 1);
  stats.Ok(RequestType::kAnnounce, true, 10, 2 * kNsPerSecond);
  stats.Ok(RequestType::kAnnounce, true, 10, kTimelineSeconds * kNsPerSecond);  // past it
  auto t = std::make_unique<Totals>();
  stats.AddTo(t.get(), /*with_latency=*/true);
  CHECK(t->TimelineLength() == 3);
  CHECK(t->ok_per_second[0] == 2);
  CHECK(t->ok_per_second[1] == 0);
  CHECK(t->ok_per_second[2] == 1);
  CHECK(t->TotalOk() == 4);
}

}  // namespace
}  // namespace reef::load
