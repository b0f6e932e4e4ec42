#include "protocol/common/rng.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <random>
#include <vector>

namespace reef {
namespace {

static_assert(std::uniform_random_bit_generator<Rng>);

TEST_CASE("SplitMix64 matches the reference outputs for state 0") {
  // From the authors' splitmix64.c, seeded with 0.
  uint64_t state = 0;
  CHECK(SplitMix64(&state) == 0xe220a8397b1dcdafULL);
  CHECK(SplitMix64(&state) == 0x6e789e6aa1b965f4ULL);
  CHECK(SplitMix64(&state) == 0x06c45d188009454fULL);
  CHECK(SplitMix64(&state) == 0xf88bb8a8724c81ecULL);
  CHECK(Mix64(0) == 0xe220a8397b1dcdafULL);
}

TEST_CASE("seed 42 gives the sequence both former generators gave") {
  // Before the fold, server/swarm and load/ each had a copy of this generator; these are
  // what both produced for seed 42, so peer selection and every load run's requests are
  // unchanged.
  Rng rng(42);
  CHECK(rng() == 0x15780b2e0c2ec716ULL);
  CHECK(rng() == 0x6104d9866d113a7eULL);
  CHECK(rng() == 0xae17533239e499a1ULL);
  CHECK(rng() == 0xecb8ad4703b360a1ULL);
  Rng below(42);  // swarm's Below
  for (uint32_t expected : {83u, 378u, 680u, 924u, 991u, 769u}) CHECK(below.Below(1000) == expected);
  Rng below64(42);  // load's Below
  for (uint64_t expected : {83862971ull, 378980250ull, 680043411ull, 924692945ull, 991803914ull,
                            769739460ull}) {
    CHECK(below64.Below64(1'000'000'000) == expected);
  }
  Rng unit(42);
  CHECK(unit.NextDouble() == 0.083862971059882163);
  CHECK(unit.NextDouble() == 0.37898025066266861);
}

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

// Checks that 300000 draws hold a third multiples of 3, as they should for a bound of
// 3 * 2^k. Without the rejection step, (x * bound) >> 32 (or >> 64) maps 2^32 inputs
// onto 3 * 2^30 outputs: every output divisible by 3 gets two inputs and the others one,
// so multiples of 3 would come up half the time.
template <typename Draw>
void CheckAThirdAreMultiplesOf3(Draw draw) {
  constexpr int kDraws = 300000;
  int multiples_of_3 = 0;
  for (int i = 0; i < kDraws; ++i) multiples_of_3 += draw() % 3 == 0 ? 1 : 0;
  // Expected 100000 (sd ~258); the bias would give ~150000.
  CHECK(multiples_of_3 > 98500);
  CHECK(multiples_of_3 < 101500);
}

TEST_CASE("Below of a bound of 3 * 2^30 has no multiply-shift bias") {
  Rng rng(99);
  CheckAThirdAreMultiplesOf3([&] { return rng.Below(3u << 30); });
}

TEST_CASE("Below64 stays in range and is unbiased where a plain multiply-shift is not") {
  Rng rng(11);
  for (int i = 0; i < 1000; ++i) CHECK(rng.Below64(1) == 0);
  uint64_t max_seen = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t x = rng.Below64(~uint64_t{0});
    CHECK(x < ~uint64_t{0});
    max_seen = std::max(max_seen, x);
  }
  CHECK(max_seen > (uint64_t{1} << 63));
  // As for Below, with a bound of 3 * 2^62.
  CheckAThirdAreMultiplesOf3([&] { return rng.Below64(uint64_t{3} << 62); });
}

TEST_CASE("NextDouble is in [0, 1) and Chance follows its probability") {
  Rng rng(17);
  double sum = 0;
  int heads = 0;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) {
    const double x = rng.NextDouble();
    CHECK(x >= 0.0);
    CHECK(x < 1.0);
    sum += x;
    heads += rng.Chance(0.25) ? 1 : 0;
  }
  // Means: 0.5 (sd 0.0009) and 0.25 (sd 0.0014) over 100000 draws.
  CHECK(sum / kDraws == doctest::Approx(0.5).epsilon(0.01));
  CHECK(static_cast<double>(heads) / kDraws == doctest::Approx(0.25).epsilon(0.03));
  CHECK(!rng.Chance(0.0));
  CHECK(rng.Chance(1.0));
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
}  // namespace reef
