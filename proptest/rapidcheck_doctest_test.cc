#include "proptest/rapidcheck_doctest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace reef::proptest {
namespace {

TEST_CASE("a true property passes") {
  Check("reversing twice is the identity", [](const std::vector<int>& v) {
    std::vector<int> r(v.rbegin(), v.rend());
    std::vector<int> rr(r.rbegin(), r.rend());
    RC_ASSERT(rr == v);
  });
}

// should_fail: this test case passes only if the check inside it fails, which proves a
// failing property reaches doctest.
TEST_CASE("a false property fails the test case" * doctest::should_fail()) {
  // Half of all bytes are odd: 100 samples all even has probability 2^-100.
  Check("every byte is even", [](uint8_t x) { RC_ASSERT(x % 2 == 0); });
}

TEST_CASE("a failure's report names the seed and the RC_PARAMS that replays it") {
  const CheckOutcome outcome =
      RunCheck("every byte is even", [](uint8_t x) { RC_ASSERT(x % 2 == 0); });
  CHECK(!outcome.passed);
  CHECK(outcome.seed == ConfiguredSeed());
  const std::string seed = std::to_string(ConfiguredSeed());
  INFO(outcome.report);
  CHECK(outcome.report.find("every byte is even failed with seed " + seed) != std::string::npos);
  CHECK(outcome.report.find("RC_PARAMS=\"seed=" + seed + "\"") != std::string::npos);
  CHECK(outcome.report.find("Falsifiable") != std::string::npos);  // rapidcheck's report
}

// The values a property is given, in order, for one seed.
std::vector<uint64_t> GeneratedWith(uint64_t seed) {
  std::vector<uint64_t> seen;
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  params.seed = seed;
  const CheckOutcome outcome = RunCheck(
      "records its inputs", [&seen](uint64_t x) { seen.push_back(x); }, params);
  CHECK(outcome.passed);
  return seen;
}

TEST_CASE("a seed decides every generated value: the same seed replays them") {
  const std::vector<uint64_t> first = GeneratedWith(20261126);
  CHECK(first.size() == 100);  // rapidcheck's default number of cases
  CHECK(GeneratedWith(20261126) == first);
  CHECK(GeneratedWith(20261127) != first);
}

}  // namespace
}  // namespace reef::proptest
