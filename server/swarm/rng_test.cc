#include "server/swarm/rng.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <random>
#include <vector>

namespace reef::swarm {
namespace {

static_assert(std::uniform_random_bit_generator<Rng>);

TEST_CASE("the same seed gives the same sequence, another seed another") {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a();
    CHECK(x == b());
    differs = differs || x != c();
  }
  CHECK(differs);
}

TEST_CASE("seed zero gives a working generator") {
  Rng rng(0);
  std::vector<uint64_t> values;
  for (int i = 0; i < 64; ++i) values.push_back(rng());
  std::sort(values.begin(), values.end());
  CHECK(std::adjacent_find(values.begin(), values.end()) == values.end());
  CHECK(values.back() != 0);
}

TEST_CASE("Below stays in range, including the extremes") {
  Rng rng(7);
  for (int i = 0; i < 1000; ++i) CHECK(rng.Below(1) == 0);
  for (int i = 0; i < 1000; ++i) CHECK(rng.Below(3) < 3);
  uint32_t max_seen = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t x = rng.Below(0xffffffffu);
    CHECK(x < 0xffffffffu);
    max_seen = std::max(max_seen, x);
  }
  CHECK(max_seen > 0x80000000u);  // the upper half is reached
}

TEST_CASE("Below is close to uniform (chi-square, fixed seed)") {
  // 10 buckets, 100000 draws: the chi-square statistic with 9 degrees of freedom exceeds
  // 27.9 with probability 0.001 for a uniform source. A biased Below (for instance
  // x % bound on a bad generator, or a broken rejection) lands far above.
  Rng rng(12345);
  constexpr uint32_t kBuckets = 10;
  constexpr int kDraws = 100000;
  std::array<int, kBuckets> counts{};
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Below(kBuckets)];
  double chi2 = 0;
  const double expected = static_cast<double>(kDraws) / kBuckets;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  CHECK(chi2 < 27.9);
}

TEST_CASE("Below of a bound of 3 * 2^30 has no multiply-shift bias") {
  // Without the rejection step, (x * bound) >> 32 maps 2^32 inputs onto 3 * 2^30
  // outputs: every output divisible by 3 gets two inputs and the others one, so
  // multiples of 3 come up half the time instead of a third.
  Rng rng(99);
  constexpr uint32_t kBound = 3u << 30;
  constexpr int kDraws = 300000;
  int multiples_of_3 = 0;
  for (int i = 0; i < kDraws; ++i) multiples_of_3 += rng.Below(kBound) % 3 == 0 ? 1 : 0;
  // Expected 100000 (sd ~258); the bias would give ~150000.
  CHECK(multiples_of_3 > 98500);
  CHECK(multiples_of_3 < 101500);
}

TEST_CASE("works with the standard library's shuffle") {
  Rng rng(5);
  std::vector<int> v(100);
  for (int i = 0; i < 100; ++i) v[static_cast<size_t>(i)] = i;
  std::vector<int> shuffled = v;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  CHECK(shuffled != v);
  std::sort(shuffled.begin(), shuffled.end());
  CHECK(shuffled == v);
}

}  // namespace
}  // namespace reef::swarm
