#include "proptest/rapidcheck_doctest.h"

#include <cstdint>
#include <vector>

TEST_CASE("a true property passes") {
  reef::proptest::Check("reversing twice is the identity", [](const std::vector<int>& v) {
    std::vector<int> r(v.rbegin(), v.rend());
    std::vector<int> rr(r.rbegin(), r.rend());
    RC_ASSERT(rr == v);
  });
}

// should_fail: this test case passes only if the check inside it fails, which proves a
// failing property reaches doctest.
TEST_CASE("a false property fails the test case" * doctest::should_fail()) {
  // Half of all bytes are odd: 100 samples all even has probability 2^-100.
  reef::proptest::Check("every byte is even", [](uint8_t x) { RC_ASSERT(x % 2 == 0); });
}
