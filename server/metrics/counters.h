// Counters and gauges a worker owns, and the exporter reads.
//
// On the request path a worker adds to its own counters: one relaxed load and one relaxed
// store to memory no other thread writes (no lock, no locked read-modify-write, no cache
// line bouncing between cores). The exporter reads them with relaxed loads whenever it is
// scraped and sums the workers' blocks; a worker never waits for it. A read may miss the
// last few increments of a running worker, which a counter scraped every few seconds
// does not care about.
//
// The price of skipping the locked add: each Owned* must have exactly one writing thread.
// Give every worker its own block (PerWorker<Block>::Add() before the worker starts).
//
//   enum class UdpCounter { kAnnounces, kScrapes, kCount };
//   PerWorker<CounterArray<UdpCounter>> counters;
//   auto& mine = counters.Add();            // on the main thread, one per worker
//   mine[UdpCounter::kAnnounces].Add();     // on the worker's thread
//   uint64_t total = counters.Sum(UdpCounter::kAnnounces);   // on the exporter's thread
#ifndef REEF_SERVER_METRICS_COUNTERS_H_
#define REEF_SERVER_METRICS_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "server/common/mutex.h"

namespace reef::metrics {

// Destructive interference size on the x86-64 and arm64 machines reef runs on.
inline constexpr size_t kCacheLineBytes = 64;

class OwnedCounter {
 public:
  // Owner thread only.
  void Add(uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Any thread.
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class OwnedGauge {
 public:
  // Owner thread only.
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // Keeps the largest value set (the longest pause, say).
  void SetMax(int64_t v) {
    if (v > value_.load(std::memory_order_relaxed)) value_.store(v, std::memory_order_relaxed);
  }
  // Any thread.
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// One counter per value of enum E (0 .. E::kCount - 1), on cache lines of their own.
template <typename E, size_t N = static_cast<size_t>(E::kCount)>
class alignas(kCacheLineBytes) CounterArray {
 public:
  static constexpr size_t kSize = N;
  OwnedCounter& operator[](E e) { return counters_[static_cast<size_t>(e)]; }
  const OwnedCounter& operator[](E e) const { return counters_[static_cast<size_t>(e)]; }
  uint64_t Get(E e) const { return (*this)[e].value(); }

 private:
  std::array<OwnedCounter, N> counters_{};
};

// One Block per worker, each allocated on its own (aligned) so no two workers' counters
// share a cache line. Blocks live as long as this object.
template <typename Block>
class PerWorker {
 public:
  // A new zeroed block for one worker. Any thread; call it when building the worker.
  Block& Add() {
    MutexLock lock(&mu_);
    blocks_.push_back(std::make_unique<Block>());
    return *blocks_.back();
  }
  // Calls fn(const Block&) for each block, in the order added.
  template <typename F>
  void ForEach(F&& fn) const {
    MutexLock lock(&mu_);
    for (const auto& block : blocks_) fn(static_cast<const Block&>(*block));
  }
  // For blocks that are CounterArrays: the sum of counter `e` over the workers.
  template <typename E>
  uint64_t Sum(E e) const {
    uint64_t total = 0;
    ForEach([&](const Block& block) { total += block.Get(e); });
    return total;
  }
  size_t size() const {
    MutexLock lock(&mu_);
    return blocks_.size();
  }

 private:
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Block>> blocks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_COUNTERS_H_
