// The popularity sampler draws from exactly the distribution its parameters name: a
// chi-square goodness-of-fit test with a fixed seed against the exact pmf, a check of the
// pmf against its closed form, a comparison with direct inverse-transform sampling of the
// bounded Pareto, and a power check (the same test rejects a slightly different shape, so
// it is able to fail).
#include "load/popularity.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "protocol/common/rng.h"

namespace reef::load {
namespace {

// The chi-square quantile at upper tail 0.001 for `df` degrees of freedom
// (Wilson-Hilferty; accurate to a fraction of a percent for df >= 10).
double ChiSquareCritical001(double df) {
  constexpr double kZ = 3.090232;  // the standard normal's 0.999 quantile
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + kZ * std::sqrt(a), 3);
}

struct ChiSquare {
  double statistic = 0;
  double df = 0;
};

// Pearson's statistic of `counts` against `pmf`, with adjacent bins merged until each
// expects at least kMinExpected draws.
ChiSquare Pearson(const std::vector<uint64_t>& counts, const std::vector<double>& pmf,
                  uint64_t draws) {
  constexpr double kMinExpected = 20;
  ChiSquare out;
  double expected = 0;
  double observed = 0;
  int bins = 0;
  for (size_t k = 0; k < pmf.size(); ++k) {
    expected += pmf[k] * static_cast<double>(draws);
    observed += static_cast<double>(counts[k]);
    if (expected >= kMinExpected || k + 1 == pmf.size()) {
      out.statistic += (observed - expected) * (observed - expected) / expected;
      ++bins;
      expected = 0;
      observed = 0;
    }
  }
  out.df = bins - 1;
  return out;
}

std::vector<uint64_t> Draw(const PopularitySampler& s, uint64_t draws, uint64_t seed) {
  std::vector<uint64_t> counts(s.size());
  Rng rng(seed);
  uint64_t out_of_range = 0;
  for (uint64_t i = 0; i < draws; ++i) {
    const uint32_t k = s.Sample(rng);
    if (k < s.size()) {
      ++counts[k];
    } else {
      ++out_of_range;
    }
  }
  CHECK(out_of_range == 0);
  return counts;
}

constexpr uint64_t kSeed = 20240601;
constexpr uint64_t kDraws = 2'000'000;

void CheckFits(PopularityModel model, uint32_t n, double shape) {
  auto pmf = PopularityPmf(model, n, shape);
  REQUIRE(pmf.ok());
  auto sampler = PopularitySampler::Create(model, n, shape);
  REQUIRE(sampler.ok());
  const ChiSquare chi = Pearson(Draw(*sampler, kDraws, kSeed), *pmf, kDraws);
  INFO("model ", PopularityName(model), " n=", n, " shape=", shape, " chi2=", chi.statistic,
       " df=", chi.df);
  CHECK(chi.df >= 10);
  CHECK(chi.statistic < ChiSquareCritical001(chi.df));
}

TEST_CASE("every model fits its pmf (chi-square, fixed seed)") {
  CheckFits(PopularityModel::kZipf, 1000, 1.0);
  CheckFits(PopularityModel::kZipf, 100'000, 1.2);
  CheckFits(PopularityModel::kPareto, 100'000, 1.0);
  CheckFits(PopularityModel::kPareto, 5000, 0.5);
  CheckFits(PopularityModel::kUniform, 1000, 0);
}

TEST_CASE("the test has power: a shape 5% off is rejected") {
  for (PopularityModel model : {PopularityModel::kZipf, PopularityModel::kPareto}) {
    auto sampler = PopularitySampler::Create(model, 10'000, 1.0);
    auto wrong = PopularityPmf(model, 10'000, 1.05);
    REQUIRE(sampler.ok());
    REQUIRE(wrong.ok());
    const ChiSquare chi = Pearson(Draw(*sampler, kDraws, kSeed), *wrong, kDraws);
    CHECK(chi.statistic > 3 * ChiSquareCritical001(chi.df));  // rejected, by far
  }
}

TEST_CASE("zipf pmf follows (k+1)^-s") {
  auto pmf = PopularityPmf(PopularityModel::kZipf, 100, 1.5);
  REQUIRE(pmf.ok());
  double total = 0;
  for (double p : *pmf) total += p;
  CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
  for (size_t k = 1; k < 100; ++k) {
    CHECK((*pmf)[0] / (*pmf)[k] ==
          doctest::Approx(std::pow(static_cast<double>(k + 1), 1.5)).epsilon(1e-9));
  }
}

TEST_CASE("pareto: the alias sampler matches inverse-transform sampling of X") {
  // Independent of PopularityPmf: draw X from the bounded Pareto on [1, n+1) by inverting
  // its CDF, take floor(X) - 1, and compare with the sampler in a two-sample chi-square.
  constexpr uint32_t kN = 2000;
  constexpr double kAlpha = 1.3;
  auto sampler = PopularitySampler::Create(PopularityModel::kPareto, kN, kAlpha);
  REQUIRE(sampler.ok());
  const std::vector<uint64_t> a = Draw(*sampler, kDraws, kSeed);
  std::vector<uint64_t> b(kN);
  Rng rng(kSeed + 1);
  const double tail = std::pow(kN + 1.0, -kAlpha);
  for (uint64_t i = 0; i < kDraws; ++i) {
    const double u = rng.NextDouble();
    const double x = std::pow(1.0 - u * (1.0 - tail), -1.0 / kAlpha);
    const auto k = static_cast<uint32_t>(std::floor(x)) - 1;
    ++b[std::min(k, kN - 1)];
  }
  // Two-sample chi-square with equal sample sizes: sum (a-b)^2/(a+b), bins merged to >= 40.
  double stat = 0;
  double sa = 0;
  double sb = 0;
  int bins = 0;
  for (uint32_t k = 0; k < kN; ++k) {
    sa += static_cast<double>(a[k]);
    sb += static_cast<double>(b[k]);
    if (sa + sb >= 40 || k + 1 == kN) {
      if (sa + sb > 0) stat += (sa - sb) * (sa - sb) / (sa + sb);
      ++bins;
      sa = sb = 0;
    }
  }
  CHECK(bins > 100);
  CHECK(stat < ChiSquareCritical001(bins - 1));
}

TEST_CASE("the same seed gives the same ranks") {
  auto s = PopularitySampler::Create(PopularityModel::kZipf, 1000, 1.0);
  REQUIRE(s.ok());
  Rng a(7);
  Rng b(7);
  Rng c(8);
  int differ = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint32_t x = s->Sample(a);
    CHECK(x == s->Sample(b));
    differ += x != s->Sample(c) ? 1 : 0;
  }
  CHECK(differ > 100);
}

TEST_CASE("limits and bad parameters are refused") {
  CHECK(PopularitySampler::Create(PopularityModel::kZipf, 0, 1.0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(PopularityPmf(PopularityModel::kUniform, kMaxTorrents + 1, 1.0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(PopularityPmf(PopularityModel::kUniform, 1, 0).ok());
  CHECK(PopularityPmf(PopularityModel::kZipf, 10, kMinShape).ok());
  CHECK(!PopularityPmf(PopularityModel::kZipf, 10, kMinShape / 2).ok());
  CHECK(PopularityPmf(PopularityModel::kPareto, 10, kMaxShape).ok());
  CHECK(!PopularityPmf(PopularityModel::kPareto, 10, kMaxShape * 1.01).ok());
  CHECK(!PopularityPmf(PopularityModel::kPareto, 10, std::numeric_limits<double>::quiet_NaN())
             .ok());
  CHECK(!PopularitySampler::FromWeights({0, 0}).ok());
  CHECK(!PopularitySampler::FromWeights({1, -1}).ok());
  CHECK(!PopularitySampler::FromWeights({}).ok());
  CHECK(ParsePopularity("zipf").value() == PopularityModel::kZipf);
  CHECK(!ParsePopularity("gamma").ok());
}

TEST_CASE("a single torrent and zero-weight ranks") {
  auto one = PopularitySampler::Create(PopularityModel::kZipf, 1, 1.0);
  REQUIRE(one.ok());
  Rng rng(1);
  for (int i = 0; i < 100; ++i) CHECK(one->Sample(rng) == 0);
  auto s = PopularitySampler::FromWeights({0, 3, 0, 1});
  REQUIRE(s.ok());
  std::vector<uint64_t> counts = Draw(*s, 100'000, kSeed);
  CHECK(counts[0] == 0);
  CHECK(counts[2] == 0);
  CHECK(static_cast<double>(counts[1]) / 100'000 == doctest::Approx(0.75).epsilon(0.01));
}

}  // namespace
}  // namespace reef::load
