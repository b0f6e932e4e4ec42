// rapidcheck properties as doctest checks (Debian's rapidcheck ships adapters for gtest,
// Catch and Boost.Test, not doctest).
//
//   TEST_CASE("announce round-trips") {
//     reef::proptest::Check("parse(serialize(x)) == x", [](const AnnounceRequest& x) { ... });
//   }
//
// A failing property fails the test case with rapidcheck's report: the minimal
// counterexample and the seed, which RC_PARAMS="seed=N" replays.
#ifndef REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_
#define REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_

#include <doctest/doctest.h>
#include <rapidcheck.h>

#include <sstream>
#include <string>
#include <utility>

namespace reef::proptest {

template <typename Testable>
void Check(const std::string& description, Testable&& testable) {
  using rc::detail::SuccessResult;
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable));
  if (result.template is<SuccessResult>()) {
    const auto success = result.template get<SuccessResult>();
    if (!success.distribution.empty()) {
      std::ostringstream ss;
      rc::detail::printResultMessage(result, ss);
      MESSAGE(description << ":\n" << ss.str());
    }
    return;
  }
  std::ostringstream ss;
  rc::detail::printResultMessage(result, ss);
  FAIL_CHECK(description << " failed:\n" << ss.str());
}

}  // namespace reef::proptest

#endif  // REEF_PROPTEST_RAPIDCHECK_DOCTEST_H_
