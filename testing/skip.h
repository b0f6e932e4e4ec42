// Test cases that cannot run on this machine are skipped where it shows, never passed
// silently:
//
//   TEST_CASE("as root: dropping to nobody takes" * reef::testing::NeedsRoot()) { ... }
//
// When the condition does not hold, doctest skips the case, so its summary line counts
// it ("test cases: 9 | 7 passed | 0 failed | 2 skipped"), and the case is named in the
// test's log with the reason:
//
//   [doctest] SKIPPED "as root: dropping to nobody takes": needs root (effective uid 1000)
//
// .ci/run lists these lines from every test log after each test step.
#ifndef REEF_TESTING_SKIP_H_
#define REEF_TESTING_SKIP_H_

#include <doctest/doctest.h>

#include <string>
#include <utility>

namespace reef::testing {

// A doctest decorator: skips the test case unless `condition`, naming `reason`.
class SkipUnless {
 public:
  SkipUnless(bool condition, std::string reason)
      : skip_(!condition), reason_(std::move(reason)) {}
  void fill(doctest::detail::TestCase& test_case) const;
  bool skips() const { return skip_; }

 private:
  bool skip_;
  std::string reason_;
};

// Skips the test case unless the test runs as root (effective uid 0).
SkipUnless NeedsRoot();

}  // namespace reef::testing

#endif  // REEF_TESTING_SKIP_H_
