#include "load/client_test_util.h"

#include <doctest/doctest.h>
#include <sys/socket.h>

#include <chrono>
#include <utility>

#include "load/generator.h"

namespace reef::load {

Endpoint BoundEndpoint(int fd) {
  sockaddr_storage local{};
  socklen_t len = sizeof(local);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) == 0);
  return Endpoint::FromSockaddr(reinterpret_cast<sockaddr*>(&local), len);
}

bool TrackerCounts::Announce() {
  const uint64_t k = announces_.fetch_add(1) + 1;
  const bool spoil = spoiling_ && k % kSpoilEvery == 0;
  if (spoil) spoiled_.fetch_add(1);
  return spoil;
}

void ServingThread::Start(std::function<void(const std::atomic<bool>& stop)> serve) {
  thread_ = std::thread([this, serve = std::move(serve)] { serve(stop_); });
}

void ServingThread::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

LoadOptions ClientTestOptions(Protocol protocol, const Endpoint& target) {
  LoadOptions o;
  o.protocol = protocol;
  o.target = target;
  o.duration_ms = kMaxTestRunMs;
  o.timeout_ms = 5000;
  o.threads = 2;
  o.sockets_per_thread = 2;
  o.torrents = 1000;
  o.num_want = 10;
  o.progress = false;
  return o;
}

absl::StatusOr<std::unique_ptr<RunOutcome>> RunUntilAnnounces(const LoadOptions& options,
                                                              const TrackerCounts& tracker,
                                                              uint64_t announces) {
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished.load() && tracker.announces() < announces) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    stop.store(true);
  });
  auto outcome = RunLoad(options, &stop);
  finished.store(true);
  watcher.join();
  return outcome;
}

void CheckSpoiledAnnounces(const Totals& t, const TrackerCounts& tracker, Failure expected) {
  const size_t announce = static_cast<size_t>(RequestType::kAnnounce);
  INFO("sent ", t.sent[announce], " ok ", t.ok[announce], " failed ", t.TotalFailed(),
       " stray ", t.stray, " server announces ", tracker.announces(), " spoiled ",
       tracker.spoiled());
  CHECK(tracker.announces() >= 2 * kSpoilEvery);  // at least two spoiled
  CHECK(tracker.spoiled() == tracker.announces() / kSpoilEvery);
  // Every request the tracker saw is accounted for, and exactly the spoiled ones failed,
  // all of the expected kind.
  CHECK(t.sent[announce] == tracker.announces());
  CHECK(t.FailedOf(RequestType::kAnnounce) == tracker.spoiled());
  CHECK(t.failed[announce][static_cast<size_t>(expected)] == tracker.spoiled());
  CHECK(t.ok[announce] == tracker.announces() - tracker.spoiled());
}

}  // namespace reef::load
