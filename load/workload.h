// What each request asks: its type by the mix, its torrent by the popularity model, the
// simulated peer, event, left and num_want. Protocol-independent; the UDP and HTTP
// clients turn a PlannedRequest into bytes.
#ifndef REEF_LOAD_WORKLOAD_H_
#define REEF_LOAD_WORKLOAD_H_

#include <array>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "load/options.h"
#include "load/popularity.h"
#include "load/stats.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/rng.h"

namespace reef::load {

// The most info hashes in one scrape (BEP 15's 74, also used for HTTP).
inline constexpr int kMaxScrapeHashes = 74;

enum class Event : uint8_t { kNone, kCompleted, kStarted, kStopped };

struct PlannedAnnounce {
  uint32_t torrent = 0;
  uint32_t peer = 0;
  InfoHash info_hash;
  PeerId peer_id;
  uint16_t port = 0;
  Event event = Event::kNone;
  int64_t left = 0;  // 0: a seeder
  int64_t downloaded = 0;
  int64_t uploaded = 0;
  int32_t num_want = -1;
  uint32_t key = 0;
};

struct PlannedScrape {
  int count = 0;
  std::array<InfoHash, kMaxScrapeHashes> info_hashes;
};

// Shared by every thread of a run, read-only once built.
class Workload {
 public:
  static absl::StatusOr<std::shared_ptr<const Workload>> Create(const LoadOptions& options);

  const LoadOptions& options() const { return options_; }

  // The next request type by the mix shares.
  RequestType PickType(Rng& rng) const;
  void PlanAnnounce(Rng& rng, PlannedAnnounce* out) const;
  void PlanScrape(Rng& rng, PlannedScrape* out) const;

 private:
  Workload(LoadOptions options, PopularitySampler sampler)
      : options_(std::move(options)), sampler_(std::move(sampler)) {}

  LoadOptions options_;
  PopularitySampler sampler_;
  double connect_cut_ = 0;   // draws below this are connects
  double announce_cut_ = 0;  // below this (and above connect_cut_) announces
  double started_cut_ = 0;
  double completed_cut_ = 0;
  double stopped_cut_ = 0;
};

}  // namespace reef::load

#endif  // REEF_LOAD_WORKLOAD_H_
