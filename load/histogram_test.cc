// LatencyHistogram: exact below 256, within 1/128 above, quantiles against a sorted
// reference, merging equals recording everything in one.
#include "load/histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "protocol/common/rng.h"

namespace reef::load {
namespace {

using H = LatencyHistogram;

TEST_CASE("buckets tile the whole uint64 range") {
  CHECK(H::BucketLow(0) == 0);
  for (size_t i = 0; i + 1 < H::kNumBuckets; ++i) {
    REQUIRE(H::BucketHigh(i) + 1 == H::BucketLow(i + 1));
    REQUIRE(H::BucketOf(H::BucketLow(i)) == i);
    REQUIRE(H::BucketOf(H::BucketHigh(i)) == i);
  }
  CHECK(H::BucketHigh(H::kNumBuckets - 1) == std::numeric_limits<uint64_t>::max());
  // Relative width never exceeds 1/kSubBuckets.
  for (size_t i = 2 * H::kSubBuckets; i < H::kNumBuckets; ++i) {
    const double low = static_cast<double>(H::BucketLow(i));
    const double high = static_cast<double>(H::BucketHigh(i));
    REQUIRE((high - low) / low <= 1.0 / H::kSubBuckets);
  }
}

TEST_CASE("small values are exact") {
  auto h = std::make_unique<H>();
  for (uint64_t v = 0; v < 256; ++v) h->Record(v);
  CHECK(h->count() == 256);
  CHECK(h->min() == 0);
  CHECK(h->max() == 255);
  CHECK(h->ValueAt(0.5) == 127);
  CHECK(h->ValueAt(1.0) == 255);
  CHECK(h->ValueAt(0.0) == 0);
}

TEST_CASE("quantiles are within 1/128 of the exact ones") {
  Rng rng(42);
  std::vector<uint64_t> values;
  auto h = std::make_unique<H>();
  for (int i = 0; i < 200'000; ++i) {
    // Log-uniform between 1 us and 1 s, in ns.
    const double x = std::exp(std::log(1e3) + rng.NextDouble() * (std::log(1e9) - std::log(1e3)));
    const auto v = static_cast<uint64_t>(x);
    values.push_back(v);
    h->Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    const uint64_t exact = values[rank - 1];
    const uint64_t got = h->ValueAt(q);
    INFO("q=", q, " exact=", exact, " got=", got);
    CHECK(got >= exact);
    CHECK(static_cast<double>(got - exact) <= static_cast<double>(exact) / 128.0);
  }
  CHECK(h->ValueAt(1.0) == values.back());
}

TEST_CASE("merge equals recording everything in one histogram") {
  auto a = std::make_unique<H>();
  auto b = std::make_unique<H>();
  auto all = std::make_unique<H>();
  Rng rng(3);
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t v = rng.Below64(1'000'000'000);
    (i % 3 == 0 ? a : b)->Record(v);
    all->Record(v);
  }
  a->Merge(*b);
  CHECK(a->count() == all->count());
  CHECK(a->min() == all->min());
  CHECK(a->max() == all->max());
  CHECK(a->mean() == doctest::Approx(all->mean()));
  for (double q : {0.5, 0.99, 0.999}) CHECK(a->ValueAt(q) == all->ValueAt(q));
}

TEST_CASE("empty and extreme values") {
  auto h = std::make_unique<H>();
  CHECK(h->ValueAt(0.5) == 0);
  CHECK(h->min() == 0);
  h->Record(std::numeric_limits<uint64_t>::max());
  CHECK(h->ValueAt(0.5) == std::numeric_limits<uint64_t>::max());
  h->RecordN(5, 3);
  CHECK(h->count() == 4);
  CHECK(h->ValueAt(0.75) == 5);
}

}  // namespace
}  // namespace reef::load
