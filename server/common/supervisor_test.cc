#include "server/common/supervisor.h"

#include <dirent.h>
#include <doctest/doctest.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/common/test_log_sink.h"

namespace reef {
namespace {

using testing::TestLogSink;

// The kernel names of this process's threads right now.
std::multiset<std::string> ThreadNames() {
  std::multiset<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  closedir(dir);
  return names;
}

// Waits for stop and returns OK: a well-behaved worker.
std::unique_ptr<Worker> IdleWorker(std::string name, std::atomic<int>* stopped = nullptr) {
  return MakeWorker(std::move(name), [stopped](const StopSignal& stop) {
    stop.WaitFor(absl::InfiniteDuration());
    if (stopped != nullptr) ++*stopped;
    return absl::OkStatus();
  });
}

TEST_CASE("RequestStop stops every worker; Run returns OK with every thread joined") {
  TestLogSink log;
  Supervisor supervisor;
  std::atomic<int> stopped{0};
  std::atomic<bool> names_seen{false};
  for (int i = 0; i < 3; ++i) supervisor.Add(IdleWorker("idle-" + std::to_string(i), &stopped));
  supervisor.Add(MakeWorker("stopper", [&](const StopSignal& stop) {
    // Every worker thread carries its worker's name.
    for (int tries = 0; tries < 1000 && !names_seen; ++tries) {
      std::multiset<std::string> names = ThreadNames();
      names_seen = names.count("idle-0") == 1 && names.count("idle-1") == 1 &&
                   names.count("idle-2") == 1 && names.count("stopper") == 1;
      if (!names_seen) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    supervisor.RequestStop();
    stop.WaitFor(absl::InfiniteDuration());
    return absl::OkStatus();
  }));
  absl::Status status = supervisor.Run();
  CHECK_MESSAGE(status.ok(), status);
  CHECK(names_seen);
  CHECK(stopped == 3);
  std::multiset<std::string> names = ThreadNames();
  for (const char* name : {"idle-0", "idle-1", "idle-2", "stopper"}) {
    CHECK_MESSAGE(names.count(name) == 0, name);
  }
  CHECK(log.Contains("running 4 workers: idle-0, idle-1, idle-2, stopper"));
  CHECK(log.Contains("stopped cleanly; all 4 worker threads joined"));
}

TEST_CASE("a failing worker is named, the others are stopped, Run returns its error") {
  TestLogSink log;
  Supervisor supervisor;
  std::atomic<int> stopped{0};
  supervisor.Add(IdleWorker("udp-0", &stopped));
  supervisor.Add(IdleWorker("cleaner", &stopped));
  std::chrono::steady_clock::time_point failed_at;
  supervisor.Add(MakeWorker("udp-1", [&failed_at](const StopSignal&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    failed_at = std::chrono::steady_clock::now();
    return absl::UnavailableError("recvmmsg: Bad file descriptor");
  }));
  absl::Status status = supervisor.Run();
  const auto returned_at = std::chrono::steady_clock::now();
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(status.message() == "worker udp-1: recvmmsg: Bad file descriptor");
  CHECK(stopped == 2);
  CHECK(log.Contains("worker udp-1 failed: UNAVAILABLE: recvmmsg: Bad file descriptor"));
  CHECK(log.Contains("stopping every worker because udp-1 failed"));
  CHECK(log.Contains("all 3 worker threads joined"));
  // Everything is down promptly after the failure (a few milliseconds here): the check
  // allows 3 s, room for TSan on two busy cores, still short of the 5 s stop deadline a
  // supervisor waiting out its workers would reach.
  CHECK(returned_at - failed_at < std::chrono::seconds(3));
  std::multiset<std::string> names = ThreadNames();
  CHECK(names.count("udp-0") == 0);
  CHECK(names.count("udp-1") == 0);
  CHECK(names.count("cleaner") == 0);
}

TEST_CASE("a worker that returns OK without being asked to stop is a failure") {
  TestLogSink log;
  Supervisor supervisor;
  std::atomic<int> stopped{0};
  supervisor.Add(IdleWorker("access-list", &stopped));
  supervisor.Add(MakeWorker("udp-0", [](const StopSignal&) { return absl::OkStatus(); }));
  absl::Status status = supervisor.Run();
  CHECK_FALSE(status.ok());
  CHECK(status.message() == "worker udp-0: returned without being asked to stop");
  CHECK(stopped == 1);
  CHECK(log.Contains("worker udp-0 returned without being asked to stop"));
}

TEST_CASE("only the first failure is returned; later ones are logged too") {
  TestLogSink log;
  Supervisor supervisor;
  supervisor.Add(MakeWorker("first", [](const StopSignal&) {
    return absl::InternalError("first reason");
  }));
  supervisor.Add(MakeWorker("second", [](const StopSignal& stop) {
    stop.WaitFor(absl::InfiniteDuration());
    return absl::InternalError("failed while stopping");
  }));
  absl::Status status = supervisor.Run();
  CHECK(status.message() == "worker first: first reason");
  CHECK(log.Contains("worker second failed: INTERNAL: failed while stopping"));
}

TEST_CASE("an error returned while stopping still makes Run fail") {
  TestLogSink log;
  Supervisor supervisor;
  supervisor.Add(MakeWorker("flusher", [](const StopSignal& stop) {
    stop.WaitFor(absl::InfiniteDuration());
    return absl::DataLossError("could not flush");
  }));
  supervisor.RequestStop();
  absl::Status status = supervisor.Run();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(status.message() == "worker flusher: could not flush");
}

// Signals go to the thread that runs the supervisor (this one) with pthread_kill, so that
// no other thread of the test process, whose signal mask this test does not control, can
// take them.
TEST_CASE("SIGTERM and SIGINT stop everything cleanly") {
  for (int signo : {SIGTERM, SIGINT}) {
    TestLogSink log;
    Supervisor supervisor;
    std::atomic<int> stopped{0};
    const pthread_t supervisor_thread = pthread_self();
    supervisor.Add(IdleWorker("idle", &stopped));
    supervisor.Add(MakeWorker("sender", [supervisor_thread, signo](const StopSignal& stop) {
      pthread_kill(supervisor_thread, signo);
      stop.WaitFor(absl::InfiniteDuration());
      return absl::OkStatus();
    }));
    absl::Status status = supervisor.Run();
    CHECK_MESSAGE(status.ok(), status);
    CHECK(stopped == 1);
    CHECK(log.Contains(signo == SIGTERM ? "received SIGTERM" : "received SIGINT"));
  }
}

TEST_CASE("OnSignal handlers run on the supervisor's thread for their signal") {
  TestLogSink log;
  Supervisor supervisor;
  const pthread_t supervisor_thread = pthread_self();
  std::atomic<int> handled{0};
  std::atomic<bool> on_supervisor_thread{false};
  supervisor.OnSignal(SIGUSR1, [&] {
    on_supervisor_thread = pthread_equal(pthread_self(), supervisor_thread) != 0;
    if (++handled == 2) supervisor.RequestStop();
  });
  supervisor.Add(MakeWorker("sender", [&](const StopSignal& stop) {
    pthread_kill(supervisor_thread, SIGUSR1);
    // Signals of one kind coalesce while pending: send the second after the first ran.
    while (handled == 0 && !stop.requested()) stop.WaitFor(absl::Milliseconds(1));
    pthread_kill(supervisor_thread, SIGUSR1);
    stop.WaitFor(absl::InfiniteDuration());
    return absl::OkStatus();
  }));
  CHECK(supervisor.Run().ok());
  CHECK(handled == 2);
  CHECK(on_supervisor_thread);
}

TEST_CASE("with no workers Run waits for the stop, then returns OK") {
  TestLogSink log;
  Supervisor supervisor;
  std::thread stopper([&supervisor] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    supervisor.RequestStop();
  });
  CHECK(supervisor.Run().ok());
  stopper.join();
  CHECK(log.Contains("no workers"));
}

TEST_CASE("the stop signals cannot get handlers; Run refuses to run twice") {
  {
    Supervisor supervisor;
    supervisor.OnSignal(SIGTERM, [] {});
    absl::Status status = supervisor.Run();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  {
    TestLogSink log;
    Supervisor supervisor;
    supervisor.RequestStop();
    CHECK(supervisor.Run().ok());
    CHECK(supervisor.Run().code() == absl::StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace reef
