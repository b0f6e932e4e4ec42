#include "server/common/clock.h"

#include <doctest/doctest.h>
#include <time.h>

#include <cstdint>

namespace reef {
namespace {

TEST_CASE("MonotonicNow does not go backwards") {
  absl::Duration a = MonotonicNow();
  absl::Duration b = MonotonicNow();
  CHECK(b >= a);
}

TEST_CASE("the system clock reads the coarse clocks: wall time is epoch seconds") {
  const Clock& clock = SystemClock();
  CHECK(&clock == &SystemClock());
  timespec wall{};
  clock_gettime(CLOCK_REALTIME, &wall);
  // The coarse clock lags the precise one by at most a timer tick; a second of slack
  // covers the read between them.
  CHECK(clock.WallSeconds() <= static_cast<int64_t>(wall.tv_sec) + 1);
  CHECK(clock.WallSeconds() >= static_cast<int64_t>(wall.tv_sec) - 1);
  const int64_t before = clock.MonotonicSeconds();
  const int64_t precise = absl::ToInt64Seconds(MonotonicNow());
  const int64_t after = clock.MonotonicSeconds();
  CHECK(after >= before);
  // Same clock, coarse or not: whole seconds agree to within one.
  CHECK(after >= precise - 1);
  CHECK(after <= precise + 1);
}

TEST_CASE("FakeClock moves only when told to") {
  FakeClock clock(100, 5);
  CHECK(clock.WallSeconds() == 100);
  CHECK(clock.MonotonicSeconds() == 5);
  clock.Advance(10);
  CHECK(clock.WallSeconds() == 110);
  CHECK(clock.MonotonicSeconds() == 15);
  clock.SetWall(7);
  clock.SetMonotonic(-3);
  CHECK(clock.WallSeconds() == 7);
  CHECK(clock.MonotonicSeconds() == -3);
  const Clock& as_clock = clock;  // through the interface the workers use
  CHECK(as_clock.MonotonicSeconds() == -3);
}

}  // namespace
}  // namespace reef
