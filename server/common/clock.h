// Clock: the times reef's workers read, one injectable interface for all of them.
//
// Two kinds of seconds, both from the kernel's coarse clocks (CLOCK_*_COARSE: a vDSO read
// of the last timer tick, no syscall, a few milliseconds stale, which whole seconds do
// not notice):
//   - WallSeconds(): seconds since the Unix epoch (CLOCK_REALTIME_COARSE), for what
//     several instances or a restart must agree on (UDP connection ids);
//   - MonotonicSeconds(): seconds since an arbitrary fixed point (CLOCK_MONOTONIC_COARSE),
//     for peer activity and the store's cleaning, which must not jump when the wall clock
//     is set.
// Every protocol worker and the store's cleaner read the same Clock (SystemClock() in
// the binary), so "idle for N seconds" means the same to the one that stamps a peer and
// the one that removes it. Tests and fuzz targets pass a FakeClock.
//
// MonotonicNow() is the precise monotonic time (CLOCK_MONOTONIC) as an absl::Duration,
// for deadlines and periods (supervisor, periodic workers, waits), where milliseconds
// matter.
#ifndef REEF_SERVER_COMMON_CLOCK_H_
#define REEF_SERVER_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace reef {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe: many workers read one clock.
  virtual int64_t WallSeconds() const;       // CLOCK_REALTIME_COARSE
  virtual int64_t MonotonicSeconds() const;  // CLOCK_MONOTONIC_COARSE
};

// The kernel's clocks; lives for the whole process.
const Clock& SystemClock();

// A clock that moves only when told to; thread-safe, so a test may advance it while
// workers read it.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t wall_seconds = 1795660000, int64_t monotonic_seconds = 1000)
      : wall_(wall_seconds), monotonic_(monotonic_seconds) {}

  int64_t WallSeconds() const override { return wall_.load(std::memory_order_relaxed); }
  int64_t MonotonicSeconds() const override {
    return monotonic_.load(std::memory_order_relaxed);
  }

  // Moves both clocks forward (or back, with a negative count) by `seconds`.
  void Advance(int64_t seconds) {
    wall_.fetch_add(seconds, std::memory_order_relaxed);
    monotonic_.fetch_add(seconds, std::memory_order_relaxed);
  }
  void SetWall(int64_t seconds) { wall_.store(seconds, std::memory_order_relaxed); }
  void SetMonotonic(int64_t seconds) { monotonic_.store(seconds, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> wall_;
  std::atomic<int64_t> monotonic_;
};

// Time since an arbitrary fixed point, from CLOCK_MONOTONIC: for deadlines and periods,
// which must not jump when the wall clock is set.
absl::Duration MonotonicNow();

}  // namespace reef

#endif  // REEF_SERVER_COMMON_CLOCK_H_
