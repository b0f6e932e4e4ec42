#include "server/tcp/file_limit.h"

#include <doctest/doctest.h>
#include <sys/resource.h>

namespace reef::tcp {
namespace {

TEST_CASE("a limit already high enough is left alone") {
  rlimit before{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  const FileLimit got = RaiseFileLimit(16);
  CHECK(got.enough);
  CHECK(got.message.empty());
  rlimit after{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);  // never lowered
}

TEST_CASE("the soft limit is raised up to the hard limit") {
  rlimit limit{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_max == RLIM_INFINITY || limit.rlim_max < 256) return;
  rlimit lowered = limit;
  lowered.rlim_cur = 128;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  const FileLimit got = RaiseFileLimit(200);
  CHECK(got.enough);
  CHECK(got.soft >= 200);
  REQUIRE(setrlimit(RLIMIT_NOFILE, &limit) == 0);
}

TEST_CASE("past what can be had, the answer says why") {
  // More than fs.nr_open allows anyone: never enough, and the message says so.
  const FileLimit got = RaiseFileLimit(uint64_t{1} << 40);
  CHECK_FALSE(got.enough);
  CHECK(got.message.find("RLIMIT_NOFILE") != std::string::npos);
  CHECK(got.message.find("http.max_connections") != std::string::npos);
}

}  // namespace
}  // namespace reef::tcp
