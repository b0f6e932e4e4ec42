// Runs this binary again on its "skip_demo" suite to see what a skipped case prints.
#include "testing/skip.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace reef::testing {
namespace {

// The demo: one case whose condition fails when REEF_SKIP_DEMO is set (only in the run
// below, so that a normal run's log has no SKIPPED line), one whose condition holds.
TEST_CASE("skip demo: a case whose condition fails" * doctest::test_suite("skip_demo") *
          SkipUnless(std::getenv("REEF_SKIP_DEMO") == nullptr,
                     "the demo's condition does not hold")) {
  MESSAGE("the demo case that must be skipped ran");
}

TEST_CASE("skip demo: a case whose condition holds" * doctest::test_suite("skip_demo") *
          SkipUnless(true, "never shown")) {
  MESSAGE("the demo case that may run did");
}

// This binary's output for `arguments`.
std::string RunSelf(const std::string& arguments) {
  const std::string command = "REEF_SKIP_DEMO=1 /proc/" + std::to_string(getpid()) + "/exe " +
                              arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  std::array<char, 4096> chunk;
  size_t n;
  while ((n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0) out.append(chunk.data(), n);
  CHECK(pclose(pipe) == 0);
  return out;
}

TEST_CASE("a skipped case does not run, is counted, and its reason is printed") {
  const std::string out = RunSelf("--test-suite=skip_demo --no-colors");
  INFO(out);
  CHECK(out.find("[doctest] SKIPPED \"skip demo: a case whose condition fails\": the demo's "
                 "condition does not hold") != std::string::npos);
  CHECK(out.find("the demo case that must be skipped ran") == std::string::npos);
  CHECK(out.find("the demo case that may run did") != std::string::npos);
  CHECK(out.find("never shown") == std::string::npos);
  // doctest's summary: 2 demo cases selected, 1 run; the other cases of this binary are
  // left out by the filter and counted as skipped too, without a SKIPPED line.
  CHECK(out.find("| 1 passed | 0 failed |") != std::string::npos);
}

TEST_CASE("NeedsRoot skips exactly when the effective uid is not 0") {
  CHECK(NeedsRoot().skips() == (geteuid() != 0));
  CHECK(SkipUnless(true, "").skips() == false);
  CHECK(SkipUnless(false, "").skips() == true);
}

}  // namespace
}  // namespace reef::testing
