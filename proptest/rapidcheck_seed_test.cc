// Runs with RC_PARAMS="seed=12345" in its environment (see BUILD.bazel): the seed a
// failure reports is the one RC_PARAMS gave, and Check runs with it.
#include <cstdint>
#include <string>
#include <vector>

#include "proptest/rapidcheck_doctest.h"

namespace reef::proptest {
namespace {

constexpr uint64_t kSeed = 12345;

TEST_CASE("RC_PARAMS's seed is the one every check runs with and reports") {
  REQUIRE(ConfiguredSeed() == kSeed);
  const CheckOutcome failed =
      RunCheck("every byte is even", [](uint8_t x) { RC_ASSERT(x % 2 == 0); });
  CHECK(!failed.passed);
  CHECK(failed.report.find("RC_PARAMS=\"seed=12345\"") != std::string::npos);

  // What Check generates under RC_PARAMS is what that seed generates.
  std::vector<uint64_t> through_check;
  Check("records its inputs", [&through_check](uint64_t x) { through_check.push_back(x); });
  std::vector<uint64_t> with_seed;
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.seed = kSeed;
  CHECK(RunCheck("records its inputs", [&with_seed](uint64_t x) { with_seed.push_back(x); },
                 params)
            .passed);
  CHECK(!through_check.empty());
  CHECK(through_check == with_seed);
}

}  // namespace
}  // namespace reef::proptest
