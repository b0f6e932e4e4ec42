#include "server/tcp/timers.h"

#include <doctest/doctest.h>

#include <random>
#include <vector>

namespace reef::tcp {
namespace {

ConnectionLimits TestLimits() {
  ConnectionLimits limits;
  limits.tls_handshake_timeout_ms = 5;
  limits.head_timeout_ms = 10;
  limits.keep_alive_timeout_ms = 100;
  limits.write_timeout_ms = 20;
  limits.linger_timeout_ms = 3;
  return limits;
}

struct Entry : TimerEntry {
  int id = 0;
};

TEST_CASE("an armed entry expires at its kind's duration, not before") {
  Timers timers(TestLimits());
  Entry e;
  timers.Arm(&e, TimerKind::kHead, 1000);
  CHECK(e.armed());
  CHECK(e.deadline() == 1010);
  CHECK(timers.NextDeadline() == 1010);
  CHECK(timers.SleepMs(1004) == 6);
  int fired = 0;
  CHECK(timers.Expire(1009, [&](TimerEntry*, TimerKind) { ++fired; }) == 0);
  CHECK(fired == 0);
  CHECK(timers.Expire(1010, [&](TimerEntry* t, TimerKind k) {
          CHECK(t == &e);
          CHECK(k == TimerKind::kHead);
          ++fired;
        }) == 1);
  CHECK(fired == 1);
  CHECK_FALSE(e.armed());
  CHECK(timers.armed() == 0);
  CHECK(timers.SleepMs(2000) == -1);
}

TEST_CASE("re-arming moves an entry to the back; disarming removes it") {
  Timers timers(TestLimits());
  Entry a, b, c;
  timers.Arm(&a, TimerKind::kWrite, 0);  // 20
  timers.Arm(&b, TimerKind::kWrite, 5);  // 25
  timers.Arm(&c, TimerKind::kWrite, 6);  // 26
  timers.Arm(&a, TimerKind::kWrite, 10);  // 30: behind c
  timers.Disarm(&b);
  timers.Disarm(&b);  // twice is harmless
  std::vector<TimerEntry*> order;
  timers.Expire(100, [&](TimerEntry* t, TimerKind) { order.push_back(t); });
  REQUIRE(order.size() == 2);
  CHECK(order[0] == &c);
  CHECK(order[1] == &a);
}

TEST_CASE("moving between kinds keeps every queue sorted") {
  Timers timers(TestLimits());
  Entry a, b;
  timers.Arm(&a, TimerKind::kIdle, 0);   // 100
  timers.Arm(&b, TimerKind::kHead, 0);   // 10
  CHECK(timers.NextDeadline() == 10);
  timers.Arm(&b, TimerKind::kIdle, 50);  // 150
  CHECK(timers.NextDeadline() == 100);
  timers.Arm(&a, TimerKind::kLinger, 60);  // 63
  CHECK(timers.NextDeadline() == 63);
  CHECK(timers.armed() == 2);
}

TEST_CASE("a clock that goes back is clamped, so queues stay sorted") {
  Timers timers(TestLimits());
  Entry a, b;
  timers.Arm(&a, TimerKind::kHead, 100);  // 110
  timers.Arm(&b, TimerKind::kHead, 50);   // clamped to 100: 110, not 60
  CHECK(b.deadline() == 110);
  CHECK(timers.now() == 100);
}

TEST_CASE("an entry re-armed by its own expiry callback does not fire twice in one call") {
  Timers timers(TestLimits());
  Entry e;
  timers.Arm(&e, TimerKind::kHead, 0);
  int fired = 0;
  timers.Expire(10, [&](TimerEntry* t, TimerKind) {
    ++fired;
    timers.Arm(t, TimerKind::kHead, 10);
  });
  CHECK(fired == 1);
  CHECK(e.deadline() == 20);
}

TEST_CASE("zero durations are raised to 1 ms") {
  ConnectionLimits limits = TestLimits();
  limits.head_timeout_ms = 0;
  Timers timers(limits);
  CHECK(timers.duration(TimerKind::kHead) == 1);
}

TEST_CASE("random arms, re-arms and disarms expire in deadline order, each once") {
  Timers timers(TestLimits());
  std::vector<Entry> entries(200);
  std::mt19937 rng(7);
  Millis now = 0;
  for (int step = 0; step < 5000; ++step) {
    now += static_cast<Millis>(rng() % 3);
    Entry& e = entries[rng() % entries.size()];
    if (rng() % 4 == 0) {
      timers.Disarm(&e);
    } else {
      timers.Arm(&e, static_cast<TimerKind>(rng() % kNumTimerKinds), now);
    }

    timers.Expire(now, [&](TimerEntry* t, TimerKind) {
      CHECK(t->deadline() <= now);

    });
  }
  size_t armed = 0;
  for (Entry& e : entries) armed += e.armed() ? size_t{1} : size_t{0};
  CHECK(armed == timers.armed());
  size_t expired = timers.Expire(now + 1000, [](TimerEntry*, TimerKind) {});
  CHECK(expired == armed);
  CHECK(timers.armed() == 0);
}

}  // namespace
}  // namespace reef::tcp
