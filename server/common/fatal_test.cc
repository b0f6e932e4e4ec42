#include "server/common/fatal.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "server/common/sanitizers.h"
#include "server/common/subprocess_for_test.h"

namespace reef {
namespace {

// Runs `body` with stderr going to a pipe; returns what it wrote.
template <typename F>
std::string CaptureStderr(F body) {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  const int saved = dup(STDERR_FILENO);
  REQUIRE(saved >= 0);
  REQUIRE(dup2(fds[1], STDERR_FILENO) == STDERR_FILENO);
  body();
  REQUIRE(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
  close(saved);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

TEST_CASE("DecimalText") {
  CHECK(DecimalText(0).view() == "0");
  CHECK(DecimalText(7).view() == "7");
  CHECK(DecimalText(435).view() == "435");
  CHECK(DecimalText(UINT64_MAX).view() == "18446744073709551615");
}

TEST_CASE("FormatUtcNow agrees with gmtime_r") {
  for (int attempt = 0; attempt < 3; ++attempt) {
    const time_t before = time(nullptr);
    char stamp[kUtcTimestampBytes];
    const std::string text(FormatUtcNow(stamp));
    const time_t after = time(nullptr);
    if (before != after) continue;  // a second boundary in between: try again
    tm utc{};
    gmtime_r(&before, &utc);
    char expected[32];
    strftime(expected, sizeof(expected), "%Y-%m-%dT%H:%M:%S.", &utc);
    CHECK(text.size() == 27);
    CHECK(text.substr(0, 20) == expected);
    CHECK(text.back() == 'Z');
    for (size_t i = 20; i < 26; ++i) CHECK((text[i] >= '0' && text[i] <= '9'));
    return;
  }
  FAIL("three second boundaries in a row");
}

TEST_CASE("WriteFatalLine writes one line: time, FATAL, the thread, the pieces") {
  char old_name[17] = {};
  prctl(PR_GET_NAME, old_name, 0, 0, 0);
  prctl(PR_SET_NAME, "fatal-test", 0, 0, 0);
  const std::string line =
      CaptureStderr([] { WriteFatalLine({"seccomp: ", DecimalText(59).view(), " (execve)"}); });
  prctl(PR_SET_NAME, old_name, 0, 0, 0);
  REQUIRE(line.size() > 27);
  CHECK(line[4] == '-');
  CHECK(line[26] == 'Z');
  CHECK(line.substr(27) == " FATAL [fatal-test] seccomp: 59 (execve)\n");

  const std::string long_line =
      CaptureStderr([] { WriteFatalLine({std::string(2000, 'x')}); });
  CHECK(long_line.size() == kMaxFatalLineBytes);
  CHECK(long_line.back() == '\n');
}

TEST_CASE("an allocation that fails ends the process with exit 1 and a FATAL line") {
  if (kSanitizerAllocator) {
    MESSAGE("the sanitizer's operator new reports allocation failures itself: skipped");
    return;
  }
  testing::ForkedChild child = testing::RunInForkedChild([] {
    InstallOutOfMemoryHandler();
    // 256 MiB of address space: the allocations below cannot all fit.
    rlimit limit{.rlim_cur = rlim_t{256} << 20, .rlim_max = rlim_t{256} << 20};
    setrlimit(RLIMIT_AS, &limit);
    for (int i = 0; i < 1024; ++i) {
      char* volatile block = new char[size_t{16} << 20];
      block[0] = 1;
    }
    return 42;  // never reached if the handler works
  });
  const std::string& err = child.err;
  INFO(err);
  CHECK(child.exit_code() == 1);
  CHECK(err.find(" FATAL [") != std::string::npos);
  CHECK(err.find("] out of memory: an allocation failed; exiting with status 1\n") !=
        std::string::npos);
}

}  // namespace
}  // namespace reef
