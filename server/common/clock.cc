#include "server/common/clock.h"

#include <time.h>

namespace reef {
namespace {

int64_t Seconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec);
}

}  // namespace

int64_t Clock::WallSeconds() const { return Seconds(CLOCK_REALTIME_COARSE); }
int64_t Clock::MonotonicSeconds() const { return Seconds(CLOCK_MONOTONIC_COARSE); }

const Clock& SystemClock() {
  static const Clock* const clock = new Clock();  // never destroyed: workers may outlive main's statics
  return *clock;
}

absl::Duration MonotonicNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return absl::DurationFromTimespec(now);
}

}  // namespace reef
