#include "server/common/periodic.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "server/common/clock.h"
#include "server/common/mutex.h"

namespace reef {
namespace {

using Reason = PeriodicWorker::Reason;

// Records each run's reason; lets the test wait for a number of runs (bounded).
class Runs {
 public:
  PeriodicWorker::Task Task() {
    return [this](Reason reason) {
      MutexLock lock(&mu_);
      reasons_.push_back(reason);
      return absl::OkStatus();
    };
  }
  std::vector<Reason> reasons() {
    MutexLock lock(&mu_);
    return reasons_;
  }
  // At most `limit` of waiting; true once there are `count` runs.
  bool WaitForCount(size_t count, absl::Duration limit = absl::Seconds(10)) {
    const absl::Duration deadline = MonotonicNow() + limit;
    while (MonotonicNow() < deadline) {
      if (reasons().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return reasons().size() >= count;
  }

 private:
  Mutex mu_;
  std::vector<Reason> reasons_ ABSL_GUARDED_BY(mu_);
};

TEST_CASE("runs on the timer until stopped, then returns OK") {
  Runs runs;
  PeriodicWorker worker("tick", absl::Milliseconds(5), runs.Task());
  StopSignal stop;
  absl::Status result;
  std::thread thread([&] { result = worker.Run(stop); });
  CHECK(runs.WaitForCount(3));
  stop.Request();
  thread.join();
  CHECK(result.ok());
  for (Reason reason : runs.reasons()) CHECK(reason == Reason::kTimer);
}

TEST_CASE("run_at_start runs once before the first period") {
  Runs runs;
  PeriodicWorker worker("start", absl::Hours(1), runs.Task(), /*run_at_start=*/true);
  StopSignal stop;
  std::thread thread([&] { CHECK(worker.Run(stop).ok()); });
  CHECK(runs.WaitForCount(1));
  stop.Request();
  thread.join();
  REQUIRE(runs.reasons().size() == 1);
  CHECK(runs.reasons()[0] == Reason::kStart);
}

TEST_CASE("Trigger runs the task at once, long before the period") {
  Runs runs;
  PeriodicWorker worker("reload", absl::Hours(1), runs.Task());
  StopSignal stop;
  std::thread thread([&] { CHECK(worker.Run(stop).ok()); });
  worker.Trigger();
  CHECK(runs.WaitForCount(1));
  worker.Trigger();
  CHECK(runs.WaitForCount(2));
  stop.Request();
  thread.join();
  for (Reason reason : runs.reasons()) CHECK(reason == Reason::kTrigger);
}

TEST_CASE("a zero period runs only when triggered; triggers before Run coalesce") {
  Runs runs;
  PeriodicWorker worker("manual", absl::ZeroDuration(), runs.Task());
  worker.Trigger();
  worker.Trigger();
  worker.Trigger();
  StopSignal stop;
  std::thread thread([&] { CHECK(worker.Run(stop).ok()); });
  CHECK(runs.WaitForCount(1));
  // Give a second run every chance to (wrongly) happen before stopping.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop.Request();
  thread.join();
  CHECK(runs.reasons().size() == 1);
}

TEST_CASE("stop interrupts the sleep: an hour-long period ends as soon as asked") {
  Runs runs;
  PeriodicWorker worker("sleepy", absl::Hours(1), runs.Task());
  StopSignal stop;
  std::atomic<bool> returned{false};
  std::thread thread([&] {
    CHECK(worker.Run(stop).ok());
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_FALSE(returned);
  stop.Request();
  thread.join();  // returns, instead of sleeping out the hour
  CHECK(returned);
  CHECK(runs.reasons().empty());
}

TEST_CASE("a task error ends Run with that error") {
  int calls = 0;
  PeriodicWorker worker("failing", absl::Milliseconds(1), [&calls](Reason) {
    ++calls;
    return calls == 3 ? absl::DataLossError("disk on fire") : absl::OkStatus();
  });
  StopSignal stop;
  absl::Status status = worker.Run(stop);  // returns by itself on the third run
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(status.message() == "disk on fire");
  CHECK(calls == 3);
}

TEST_CASE("a stop requested before Run returns at once without running the task") {
  Runs runs;
  PeriodicWorker worker("late", absl::Milliseconds(1), runs.Task(), /*run_at_start=*/true);
  StopSignal stop;
  stop.Request();
  CHECK(worker.Run(stop).ok());
  CHECK(runs.reasons().empty());
}

}  // namespace
}  // namespace reef
