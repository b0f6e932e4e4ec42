#include "load/workload.h"

#include <utility>

#include "load/torrents.h"

namespace reef::load {

absl::StatusOr<std::shared_ptr<const Workload>> Workload::Create(const LoadOptions& options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  absl::StatusOr<PopularitySampler> sampler =
      PopularitySampler::Create(options.popularity, options.torrents, options.popularity_shape);
  if (!sampler.ok()) return sampler.status();
  auto w = std::shared_ptr<Workload>(new Workload(options, std::move(*sampler)));
  const double connect = options.protocol == Protocol::kUdp ? options.connect_share : 0;
  const double total = connect + options.announce_share + options.scrape_share;
  w->connect_cut_ = connect / total;
  w->announce_cut_ = (connect + options.announce_share) / total;
  w->started_cut_ = options.started_share;
  w->completed_cut_ = w->started_cut_ + options.completed_share;
  w->stopped_cut_ = w->completed_cut_ + options.stopped_share;
  return std::shared_ptr<const Workload>(std::move(w));
}

RequestType Workload::PickType(Rng& rng) const {
  const double x = rng.NextDouble();
  if (x < connect_cut_) return RequestType::kConnect;
  if (x < announce_cut_) return RequestType::kAnnounce;
  return RequestType::kScrape;
}

void Workload::PlanAnnounce(Rng& rng, PlannedAnnounce* out) const {
  out->torrent = sampler_.Sample(rng);
  out->peer = static_cast<uint32_t>(rng.Below64(options_.peers_per_torrent));
  out->info_hash = InfoHashOf(out->torrent);
  out->peer_id = PeerIdOf(out->torrent, out->peer);
  out->port = PeerPortOf(out->peer);
  const double e = rng.NextDouble();
  out->event = e < started_cut_     ? Event::kStarted
               : e < completed_cut_ ? Event::kCompleted
               : e < stopped_cut_   ? Event::kStopped
                                    : Event::kNone;
  // Whether a peer seeds is a property of the peer, so its announces agree.
  constexpr uint64_t kSeederSalt = 0x5eede25eede25eedULL;
  const uint64_t peer_key = (uint64_t{out->torrent} << 32 | out->peer) ^ kSeederSalt;
  const bool seeder =
      static_cast<double>(Mix64(peer_key) >> 11) * 0x1.0p-53 < options_.seeder_share;
  out->left = seeder || out->event == Event::kCompleted ? 0 : 1 << 20;
  out->downloaded = seeder ? 1 << 20 : 0;
  out->uploaded = 0;
  out->num_want = options_.num_want;
  out->key = static_cast<uint32_t>(Mix64(out->torrent ^ (uint64_t{out->peer} << 32)));
}

void Workload::PlanScrape(Rng& rng, PlannedScrape* out) const {
  out->count = options_.scrape_hashes;
  for (int i = 0; i < out->count; ++i) {
    out->info_hashes[static_cast<size_t>(i)] = InfoHashOf(sampler_.Sample(rng));
  }
}

}  // namespace reef::load
