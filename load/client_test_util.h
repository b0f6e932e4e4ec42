// What the UDP and HTTP load-client tests share: the address of a socket bound to port 0,
// the bookkeeping of an in-test tracker that spoils every Kth announce, its serving
// thread, the options of a short run against it, and the checks of such a run.
#ifndef REEF_LOAD_CLIENT_TEST_UTIL_H_
#define REEF_LOAD_CLIENT_TEST_UTIL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "load/options.h"
#include "load/run.h"
#include "load/stats.h"
#include "load/target.h"

namespace reef::load {

// Every kSpoilEvery-th announce of a spoiling tracker is answered wrongly.
inline constexpr uint64_t kSpoilEvery = 10;

// The address a socket got when it was bound (to port 0).
Endpoint BoundEndpoint(int fd);

// What an in-test tracker saw, counted from its serving thread and read from the test's.
class TrackerCounts {
 public:
  // `spoiling`: whether any announce is to be spoiled.
  explicit TrackerCounts(bool spoiling) : spoiling_(spoiling) {}

  // Counts an announce; true if it is to be spoiled (the last of each kSpoilEvery).
  bool Announce();
  void Scrape() { scrapes_.fetch_add(1); }
  void Connect() { connects_.fetch_add(1); }
  // A request the generator should never send (malformed, or a wrong connection id).
  void BadRequest() { bad_requests_.fetch_add(1); }

  uint64_t announces() const { return announces_.load(); }
  uint64_t spoiled() const { return spoiled_.load(); }
  uint64_t scrapes() const { return scrapes_.load(); }
  uint64_t connects() const { return connects_.load(); }
  uint64_t bad_requests() const { return bad_requests_.load(); }

 private:
  const bool spoiling_;
  std::atomic<uint64_t> announces_{0};
  std::atomic<uint64_t> spoiled_{0};
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> bad_requests_{0};
};

// Runs serve(stop) on its own thread from Start() until Stop() (or destruction) sets
// `stop` and joins. Stop it before closing what the thread uses.
class ServingThread {
 public:
  ServingThread() = default;
  ServingThread(const ServingThread&) = delete;
  ServingThread& operator=(const ServingThread&) = delete;
  ~ServingThread() { Stop(); }

  void Start(std::function<void(const std::atomic<bool>& stop)> serve);
  void Stop();

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A run against an in-test tracker on `target`: 2 threads of 2 sockets or connections,
// 1000 torrents, num_want 10, for up to kMaxTestRunMs (RunUntilAnnounces ends it sooner).
// The timeout is 5 s: long enough that no answer from a loopback tracker turns into a
// timeout even under TSan on two busy cores, which would break the exact counts the
// tests check. Requests spoiled by getting no answer time out at the end of the drain
// instead, one timeout later.
inline constexpr int64_t kMaxTestRunMs = 60'000;
LoadOptions ClientTestOptions(Protocol protocol, const Endpoint& target);

// Runs the load until `tracker` has counted `announces` announces (or kMaxTestRunMs
// pass), then drains. Ending on that event rather than after a fixed time means a slow
// machine makes a run longer, never one with too few requests to check.
absl::StatusOr<std::unique_ptr<RunOutcome>> RunUntilAnnounces(const LoadOptions& options,
                                                              const TrackerCounts& tracker,
                                                              uint64_t announces);

// The checks every spoiled run shares: at least two announces were spoiled, every
// announce the tracker saw was sent, exactly the spoiled ones failed, all as `expected`,
// and the others are ok.
void CheckSpoiledAnnounces(const Totals& totals, const TrackerCounts& tracker, Failure expected);

}  // namespace reef::load

#endif  // REEF_LOAD_CLIENT_TEST_UTIL_H_
