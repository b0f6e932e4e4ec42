// A LogSink for tests: installs itself for its lifetime and keeps every line.
#ifndef REEF_SERVER_COMMON_TEST_LOG_SINK_H_
#define REEF_SERVER_COMMON_TEST_LOG_SINK_H_

#include <chrono>
#include <condition_variable>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/log.h"
#include "server/common/mutex.h"

namespace reef::testing {

class TestLogSink final : public LogSink {
 public:
  explicit TestLogSink(LogLevel min_level = LogLevel::kDebug)
      : previous_level_(MinLogLevel()) {
    SetMinLogLevel(min_level);
    previous_sink_ = SetLogSink(this);
  }
  ~TestLogSink() override {
    SetLogSink(previous_sink_);
    SetMinLogLevel(previous_level_);
  }

  void Write(LogLevel, std::string_view line) override {
    {
      MutexLock lock(&mu_);
      lines_.emplace_back(line);
    }
    changed_.notify_all();
  }

  std::vector<std::string> lines() const {
    MutexLock lock(&mu_);
    return lines_;
  }
  std::string text() const {
    std::string all;
    for (const std::string& line : lines()) all += line;
    return all;
  }
  bool Contains(std::string_view needle) const {
    return text().find(needle) != std::string::npos;
  }
  // Waits (at most `timeout`) for a line containing `needle`.
  // (The analysis cannot follow std::unique_lock, which the condition variable needs.)
  bool WaitFor(std::string_view needle, std::chrono::milliseconds timeout)
      ABSL_NO_THREAD_SAFETY_ANALYSIS {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<Mutex> lock(mu_);
    while (true) {
      for (const std::string& line : lines_) {
        if (line.find(needle) != std::string::npos) return true;
      }
      if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
        for (const std::string& line : lines_) {
          if (line.find(needle) != std::string::npos) return true;
        }
        return false;
      }
    }
  }

 private:
  LogLevel previous_level_;
  LogSink* previous_sink_ = nullptr;
  mutable Mutex mu_;
  std::condition_variable_any changed_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

}  // namespace reef::testing

#endif  // REEF_SERVER_COMMON_TEST_LOG_SINK_H_
