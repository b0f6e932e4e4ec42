#include "server/common/mutex.h"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

namespace reef {
namespace {

struct Counter {
  Mutex mu;
  long value ABSL_GUARDED_BY(mu) = 0;
};

// Run under --config=tsan this also shows TSan sees the lock: without it, the
// increments race.
TEST_CASE("MutexLock serializes increments across threads") {
  Counter counter;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        MutexLock lock(&counter.mu);
        ++counter.value;
      }
    });
  }
  for (auto& t : threads) t.join();
  MutexLock lock(&counter.mu);
  CHECK(counter.value == 40000);
}

TEST_CASE("TryLock fails while held") {
  Mutex mu;
  mu.Lock();
  bool got = true;
  std::thread other([&] { got = mu.TryLock(); });
  other.join();
  CHECK_FALSE(got);
  mu.Unlock();
  const bool free_again = mu.TryLock();
  CHECK(free_again);
  if (free_again) mu.Unlock();
}

}  // namespace
}  // namespace reef
