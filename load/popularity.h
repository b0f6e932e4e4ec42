// Which torrent each request is about: a skewed popularity over N torrents.
//
// Real trackers see a few very popular torrents and a long tail. Three models:
//   - uniform: every torrent alike;
//   - zipf, exponent s > 0: P(rank k) ∝ (k + 1)^-s, k = 0..N-1 (s = 1 is classic Zipf);
//   - pareto, shape α > 0: a bounded Pareto variable X on [1, N + 1) with
//     P(X > x) ∝ x^-α, cut to the integer rank floor(X) - 1; so
//     P(rank k) = (F(k + 2) - F(k + 1)) with F(x) = (1 - x^-α) / (1 - (N + 1)^-α).
//     Its tail falls like k^-(α+1), a Zipf of exponent α + 1.
// Rank 0 is the most popular torrent. Sampling uses Vose's alias method: O(N) set-up,
// O(1) per draw, deterministic for a given Rng.
#ifndef REEF_LOAD_POPULARITY_H_
#define REEF_LOAD_POPULARITY_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "protocol/common/rng.h"

namespace reef::load {

enum class PopularityModel : uint8_t { kUniform, kZipf, kPareto };

// "uniform", "zipf", "pareto".
std::string_view PopularityName(PopularityModel model);
absl::StatusOr<PopularityModel> ParsePopularity(std::string_view name);

// The most torrents a sampler can hold: its tables take 12 bytes per torrent, 120 MB here.
inline constexpr uint32_t kMaxTorrents = 10'000'000;
// The shape/exponent range accepted. Outside it the distribution is either flat to within
// rounding or puts all but a vanishing share on rank 0.
inline constexpr double kMinShape = 0.01;
inline constexpr double kMaxShape = 20.0;

// The exact probability of every rank, summing to 1: what the sampler draws from.
absl::StatusOr<std::vector<double>> PopularityPmf(PopularityModel model, uint32_t torrents,
                                                  double shape);

class PopularitySampler {
 public:
  // Fails on 0 torrents, more than kMaxTorrents, or a shape outside
  // [kMinShape, kMaxShape] (ignored for uniform).
  static absl::StatusOr<PopularitySampler> Create(PopularityModel model, uint32_t torrents,
                                                  double shape);
  // From any weights (non-negative, finite, not all zero).
  static absl::StatusOr<PopularitySampler> FromWeights(const std::vector<double>& weights);

  // A rank in [0, size()).
  uint32_t Sample(Rng& rng) const {
    const uint64_t column = rng.Below64(prob_.size());
    return rng.NextDouble() < prob_[column] ? static_cast<uint32_t>(column) : alias_[column];
  }

  size_t size() const { return prob_.size(); }

 private:
  PopularitySampler() = default;

  std::vector<double> prob_;     // chance of keeping the column
  std::vector<uint32_t> alias_;  // the rank taken otherwise
};

}  // namespace reef::load

#endif  // REEF_LOAD_POPULARITY_H_
