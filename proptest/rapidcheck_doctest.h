// rapidcheck properties as doctest checks (Debian's rapidcheck ships adapters for gtest,
// Catch and Boost.Test, not doctest).
//
//   TEST_CASE("announce round-trips") {
//     reef::proptest::Check("parse(serialize(x)) == x", [](const AnnounceRequest& x) { ... });
//   }
//
// A failing property fails the test case with rapidcheck's report (the minimal
// counterexample) and the seed it ran with, as the command that replays it:
//
//   every byte is even failed with seed 1234567 (re-run with RC_PARAMS="seed=1234567"):
//   Falsifiable after 3 tests ...
//
// The seed is rapidcheck's configuration: random per process unless RC_PARAMS names one
// (rapidcheck also prints "Using configuration: seed=..." as the first line of every
// proptest's log). Every Check in a process starts from that same seed, so the seed of a
// failure replays that property whatever else the binary runs.
#ifndef REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_
#define REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_

#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>

namespace reef::proptest {

// What one property check gave: pass or fail, the seed, and the report for doctest.
struct CheckOutcome {
  bool passed = false;
  uint64_t seed = 0;
  std::string report;  // on failure: the seed line and rapidcheck's report
  std::string distribution;  // on success: rapidcheck's tag distribution, if any
};

// The seed every Check in this process uses: RC_PARAMS's, or the random one.
inline uint64_t ConfiguredSeed() { return rc::detail::configuration().testParams.seed; }

// Runs `testable` with `params` (rapidcheck's configuration unless given).
template <typename Testable>
CheckOutcome RunCheck(const std::string& description, Testable&& testable,
                      const rc::detail::TestParams& params =
                          rc::detail::configuration().testParams) {
  using rc::detail::SuccessResult;
  rc::detail::TestMetadata metadata;
  metadata.id = description;
  metadata.description = description;
  const auto result =
      rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  CheckOutcome outcome;
  outcome.seed = params.seed;
  std::ostringstream ss;
  if (result.template is<SuccessResult>()) {
    outcome.passed = true;
    if (!result.template get<SuccessResult>().distribution.empty()) {
      rc::detail::printResultMessage(result, ss);
      outcome.distribution = ss.str();
    }
    return outcome;
  }
  ss << description << " failed with seed " << params.seed << " (re-run with RC_PARAMS=\"seed="
     << params.seed << "\"):\n";
  rc::detail::printResultMessage(result, ss);
  outcome.report = ss.str();
  return outcome;
}

template <typename Testable>
void Check(const std::string& description, Testable&& testable) {
  const CheckOutcome outcome = RunCheck(description, std::forward<Testable>(testable));
  if (!outcome.passed) {
    FAIL_CHECK(outcome.report);
  } else if (!outcome.distribution.empty()) {
    MESSAGE(description << ":\n" << outcome.distribution);
  }
}

}  // namespace reef::proptest

#endif  // REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_
