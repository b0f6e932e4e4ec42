#include "server/common/log.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/common/mutex.h"

namespace reef {
namespace {

class CollectingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view line) override {
    MutexLock lock(&mu_);
    levels_.push_back(level);
    lines_.emplace_back(line);
  }
  std::vector<std::string> lines() {
    MutexLock lock(&mu_);
    return lines_;
  }

 private:
  Mutex mu_;
  std::vector<LogLevel> levels_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

// Installs a sink and a level for one test, and puts the old ones back.
struct ScopedSink {
  explicit ScopedSink(LogSink* sink, LogLevel level) : old_level(MinLogLevel()) {
    old_sink = SetLogSink(sink);
    SetMinLogLevel(level);
  }
  ~ScopedSink() {
    SetLogSink(old_sink);
    SetMinLogLevel(old_level);
  }
  LogSink* old_sink;
  LogLevel old_level;
};

TEST_CASE("level names round trip and unknown names are refused") {
  for (LogLevel level :
       {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    CHECK(ParseLogLevel(LogLevelName(level)) == level);
  }
  CHECK_FALSE(ParseLogLevel("warning").has_value());
  CHECK_FALSE(ParseLogLevel("INFO").has_value());
  CHECK_FALSE(ParseLogLevel("").has_value());
}

TEST_CASE("messages below the level are dropped without evaluating their arguments") {
  CollectingSink sink;
  ScopedSink scoped(&sink, LogLevel::kWarn);
  int evaluated = 0;
  auto count = [&evaluated] { return ++evaluated; };
  REEF_LOG(Debug) << "debug " << count();
  REEF_LOG(Info) << "info " << count();
  CHECK(evaluated == 0);
  REEF_LOG(Warn) << "warn " << count();
  REEF_LOG(Error) << "error " << count();
  CHECK(evaluated == 2);
  std::vector<std::string> lines = sink.lines();
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("WARN ") != std::string::npos);
  CHECK(lines[0].find("warn 1") != std::string::npos);
  CHECK(lines[1].find("ERROR") != std::string::npos);
}

TEST_CASE("a line has time, level, thread name, file:line and message") {
  CollectingSink sink;
  ScopedSink scoped(&sink, LogLevel::kDebug);
  std::thread named([] {
    SetCurrentThreadName("a-rather-long-worker-name");
    REEF_LOG(Info) << "hello " << 42;
  });
  named.join();
  std::vector<std::string> lines = sink.lines();
  REQUIRE(lines.size() == 1);
  const std::regex shape(
      R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z INFO  \[a-rather-long-worker-name\] )"
      R"(log_test\.cc:\d+: hello 42\n$)");
  CHECK_MESSAGE(std::regex_match(lines[0], shape), lines[0]);
}

TEST_CASE("the kernel gets the first 15 bytes of a thread name") {
  char name[32] = {};
  std::thread named([&name] {
    SetCurrentThreadName("access-list-reloader");
    pthread_getname_np(pthread_self(), name, sizeof(name));
  });
  named.join();
  CHECK(std::string(name) == "access-list-rel");
}

TEST_CASE("an unnamed thread logs as tid-N") {
  std::string name;
  std::thread unnamed([&name] { name = CurrentThreadName(); });
  unnamed.join();
  CHECK(name.rfind("tid-", 0) == 0);
}

TEST_CASE("REEF_LOG is one statement inside an unbraced if/else") {
  CollectingSink sink;
  ScopedSink scoped(&sink, LogLevel::kDebug);
  int else_taken = 0;
  for (bool condition : {true, false}) {
    if (condition)
      REEF_LOG(Info) << "then";
    else
      ++else_taken;
  }
  CHECK(else_taken == 1);
  CHECK(sink.lines().size() == 1);
}

// Several threads log to the real stderr (redirected to a file for the test): every line
// must come out whole, none interleaved with another.
TEST_CASE("lines from many threads never interleave on stderr") {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/log_interleave.txt";
  int file = open(path.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
  REQUIRE(file >= 0);
  int saved_stderr = dup(STDERR_FILENO);
  REQUIRE(saved_stderr >= 0);
  REQUIRE(dup2(file, STDERR_FILENO) == STDERR_FILENO);
  const LogLevel old_level = MinLogLevel();
  SetMinLogLevel(LogLevel::kInfo);

  constexpr int kThreads = 4;
  constexpr int kLinesPerThread = 500;
  const std::string padding(200, 'x');  // long lines make a torn write likelier
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &padding] {
      SetCurrentThreadName("writer-" + std::to_string(t));
      for (int i = 0; i < kLinesPerThread; ++i) {
        REEF_LOG(Info) << "begin " << t << " " << i << " " << padding << " end";
      }
    });
  }
  for (auto& thread : threads) thread.join();

  SetMinLogLevel(old_level);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  lseek(file, 0, SEEK_SET);
  std::string text;
  char buffer[65536];
  ssize_t n;
  while ((n = read(file, buffer, sizeof(buffer))) > 0) text.append(buffer, size_t(n));
  close(file);

  std::istringstream lines(text);
  std::string line;
  int count = 0;
  const std::regex shape(R"(^\S+ INFO  \[writer-(\d)\] log_test\.cc:\d+: begin (\d) \d+ x+ end$)");
  while (std::getline(lines, line)) {
    std::smatch match;
    REQUIRE_MESSAGE(std::regex_match(line, match, shape), line);
    CHECK(match[1] == match[2]);  // the thread that wrote it is the one it names
    ++count;
  }
  CHECK(count == kThreads * kLinesPerThread);
}

}  // namespace
}  // namespace reef
