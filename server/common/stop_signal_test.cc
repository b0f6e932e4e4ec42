#include "server/common/stop_signal.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace reef {
namespace {

bool Readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

TEST_CASE("a stop signal starts clear and latches once requested") {
  StopSignal stop;
  REQUIRE(stop.status().ok());
  CHECK_FALSE(stop.requested());
  CHECK_FALSE(Readable(stop.fd()));
  stop.Request();
  CHECK(stop.requested());
  CHECK(Readable(stop.fd()));
  stop.Request();  // idempotent
  CHECK(stop.requested());
  CHECK(Readable(stop.fd()));  // still readable: nobody consumes it
}

TEST_CASE("WaitFor times out when nobody asks, returns at once when asked before") {
  StopSignal stop;
  CHECK_FALSE(stop.WaitFor(absl::Milliseconds(20)));
  CHECK_FALSE(stop.WaitFor(absl::ZeroDuration()));
  stop.Request();
  CHECK(stop.WaitFor(absl::Hours(1)));
}

TEST_CASE("WaitFor wakes up when another thread requests the stop") {
  StopSignal stop;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    woke = stop.WaitFor(absl::InfiniteDuration());
  });
  stop.Request();
  sleeper.join();  // an infinite wait that returns at all was woken
  CHECK(woke);
}

TEST_CASE("the fd wakes an epoll loop, level-triggered, for every waiter") {
  StopSignal stop;
  int epoll_a = epoll_create1(EPOLL_CLOEXEC);
  int epoll_b = epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  REQUIRE(epoll_ctl(epoll_a, EPOLL_CTL_ADD, stop.fd(), &event) == 0);
  REQUIRE(epoll_ctl(epoll_b, EPOLL_CTL_ADD, stop.fd(), &event) == 0);
  epoll_event out[1];
  CHECK(epoll_wait(epoll_a, out, 1, 0) == 0);
  stop.Request();
  CHECK(epoll_wait(epoll_a, out, 1, 0) == 1);
  CHECK(epoll_wait(epoll_a, out, 1, 0) == 1);  // still there on the next turn
  CHECK(epoll_wait(epoll_b, out, 1, 0) == 1);
  close(epoll_a);
  close(epoll_b);
}

TEST_CASE("WaitReadableOrStop tells readable, stopped and timeout apart") {
  StopSignal stop;
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(fd >= 0);
  CHECK(WaitReadableOrStop(fd, stop, absl::Milliseconds(10)) == WaitResult::kTimeout);
  uint64_t one = 1;
  REQUIRE(write(fd, &one, sizeof(one)) == sizeof(one));
  CHECK(WaitReadableOrStop(fd, stop, absl::Milliseconds(10)) == WaitResult::kReadable);
  stop.Request();
  // Stop wins over a readable fd: a stopping worker does no more work.
  CHECK(WaitReadableOrStop(fd, stop, absl::InfiniteDuration()) == WaitResult::kStopped);
  close(fd);
}

}  // namespace
}  // namespace reef
