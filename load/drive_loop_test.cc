// DriveLoop's waiting: a client that cannot send (all its sockets waiting for something)
// must not make the loop spin while the rate limiter says requests are due.
#include "load/drive_loop.h"

#include <doctest/doctest.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace reef::load {
namespace {

// Sends nothing, ever, and has nothing outstanding: what a UDP thread looks like while
// every socket waits for its connect answer.
struct StuckClient {
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  uint64_t rounds = 0;
  ClosedLoopBudget budget{0, 0, 0};

  ~StuckClient() { close(epoll); }
  void Expire(uint64_t, bool) {}
  size_t busy() const { return 0; }
  size_t capacity() const { return 16; }
  void FillRound(uint64_t, uint64_t*) { ++rounds; }
  void OnReady(const epoll_event&) {}
  int epoll_fd() const { return epoll; }
  ClosedLoopBudget& closed_loop() { return budget; }
};

TEST_CASE("a round that sends nothing waits, though requests are due") {
  StuckClient client;
  REQUIRE(client.epoll >= 0);
  RunControl control;
  control.start_ns = NowNs();
  control.window_start_ns = control.start_ns;
  control.window_end_ns = control.start_ns + 100'000'000;  // 100 ms
  control.drain_end_ns = control.window_end_ns;
  control.timeout_ns = 1'000'000;
  RateLimiter limiter(1'000'000, control.start_ns);  // always due
  REQUIRE(DriveLoop(client, control, limiter).ok());
  const double elapsed_ms = static_cast<double>(NowNs() - control.start_ns) / 1e6;
  INFO("rounds ", client.rounds, " in ", elapsed_ms, " ms");
  // A 1 ms wait per round: at most about one round per elapsed millisecond (a slow machine
  // makes fewer). Spinning made hundreds of thousands.
  CHECK(client.rounds > 0);
  CHECK(static_cast<double>(client.rounds) <= elapsed_ms + 10);
}

}  // namespace
}  // namespace reef::load
