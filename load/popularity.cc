#include "load/popularity.h"

#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace reef::load {

std::string_view PopularityName(PopularityModel model) {
  switch (model) {
    case PopularityModel::kUniform:
      return "uniform";
    case PopularityModel::kZipf:
      return "zipf";
    case PopularityModel::kPareto:
      return "pareto";
  }
  return "?";
}

absl::StatusOr<PopularityModel> ParsePopularity(std::string_view name) {
  for (PopularityModel m :
       {PopularityModel::kUniform, PopularityModel::kZipf, PopularityModel::kPareto}) {
    if (name == PopularityName(m)) return m;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown popularity model '", std::string(name), "' (uniform, zipf, pareto)"));
}

absl::StatusOr<std::vector<double>> PopularityPmf(PopularityModel model, uint32_t torrents,
                                                  double shape) {
  if (torrents == 0 || torrents > kMaxTorrents) {
    return absl::InvalidArgumentError(
        absl::StrCat("torrents must be in 1..", kMaxTorrents, ", got ", torrents));
  }
  if (model != PopularityModel::kUniform &&
      !(shape >= kMinShape && shape <= kMaxShape)) {  // also refuses NaN
    return absl::InvalidArgumentError(absl::StrCat("popularity shape must be in ", kMinShape,
                                                   "..", kMaxShape, ", got ", shape));
  }
  std::vector<double> pmf(torrents);
  const double n = static_cast<double>(torrents);
  switch (model) {
    case PopularityModel::kUniform:
      for (double& p : pmf) p = 1.0 / n;
      return pmf;
    case PopularityModel::kZipf: {
      double total = 0;
      for (uint32_t k = 0; k < torrents; ++k) {
        pmf[k] = std::pow(static_cast<double>(k) + 1.0, -shape);
        total += pmf[k];
      }
      for (double& p : pmf) p /= total;
      return pmf;
    }
    case PopularityModel::kPareto: {
      // 1 - x^-α computed as -expm1(-α ln x), accurate for x near 1 and small α.
      const double norm = -std::expm1(-shape * std::log(n + 1.0));
      auto cdf = [&](double x) { return -std::expm1(-shape * std::log(x)) / norm; };
      for (uint32_t k = 0; k < torrents; ++k) {
        const double x = static_cast<double>(k) + 1.0;
        pmf[k] = cdf(x + 1.0) - cdf(x);
      }
      return pmf;
    }
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<PopularitySampler> PopularitySampler::Create(PopularityModel model,
                                                            uint32_t torrents, double shape) {
  absl::StatusOr<std::vector<double>> pmf = PopularityPmf(model, torrents, shape);
  if (!pmf.ok()) return pmf.status();
  return FromWeights(*pmf);
}

absl::StatusOr<PopularitySampler> PopularitySampler::FromWeights(
    const std::vector<double>& weights) {
  const size_t n = weights.size();
  if (n == 0 || n > kMaxTorrents) {
    return absl::InvalidArgumentError(absl::StrCat("weights: need 1..", kMaxTorrents));
  }
  double total = 0;
  for (double w : weights) {
    if (!(w >= 0) || !std::isfinite(w)) {
      return absl::InvalidArgumentError("weights must be finite and non-negative");
    }
    total += w;
  }
  if (!(total > 0)) return absl::InvalidArgumentError("weights are all zero");

  // Vose's alias method: scale so the average is 1, then pair each column under 1 with
  // one over 1 until every column is exactly full.
  PopularitySampler s;
  s.prob_.assign(n, 1.0);
  s.alias_.resize(n);
  std::vector<double> scaled(n);
  std::vector<uint32_t> small;
  std::vector<uint32_t> large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = weights[i] * static_cast<double>(n) / total;
    s.alias_[i] = static_cast<uint32_t>(i);
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  while (!small.empty() && !large.empty()) {
    const uint32_t l = small.back();
    small.pop_back();
    const uint32_t g = large.back();
    large.pop_back();
    s.prob_[l] = scaled[l];
    s.alias_[l] = g;
    scaled[g] = (scaled[g] + scaled[l]) - 1.0;
    (scaled[g] < 1.0 ? small : large).push_back(g);
  }
  // What is left is full up to rounding.
  for (uint32_t i : large) s.prob_[i] = 1.0;
  for (uint32_t i : small) s.prob_[i] = 1.0;
  return s;
}

}  // namespace reef::load
