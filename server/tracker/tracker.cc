#include "server/tracker/tracker.h"

namespace reef::tracker {
namespace {

swarm::AnnounceEvent ToStoreEvent(Event event) {
  switch (event) {
    case Event::kStarted: return swarm::AnnounceEvent::kStarted;
    case Event::kStopped: return swarm::AnnounceEvent::kStopped;
    case Event::kCompleted: return swarm::AnnounceEvent::kCompleted;
    case Event::kNone: break;
  }
  return swarm::AnnounceEvent::kNone;
}

}  // namespace

Tracker::Tracker(const Options& options, swarm::TorrentStore& store,
                 const AccessList& access_list, const Clock& clock, uint64_t rng_seed)
    : options_(options),
      store_(store),
      access_list_(access_list),
      clock_(clock),
      rng_(rng_seed) {}

std::optional<Refusal> Tracker::CheckAnnounce(const AnnounceRequest& request) const {
  if (request.port == 0) return Refusal::kPortZero;
  return CheckInfoHash(request.info_hash);
}

std::optional<Refusal> Tracker::CheckInfoHash(const InfoHash& info_hash) const {
  if (!access_list_.Allows(info_hash)) return Refusal::kNotAllowed;
  return std::nullopt;
}

uint32_t Tracker::PeersWanted(const std::optional<uint32_t>& num_want) const {
  return std::min(num_want.value_or(options_.max_response_peers), options_.max_response_peers);
}

Counts Tracker::ScrapeOne(const Client& client, const InfoHash& info_hash) {
  if (!access_list_.Allows(info_hash)) {
    counters_.CountHiddenInfoHash(client.protocol);
    return {};
  }
  return ClampCounts(store_.Scrape(info_hash));
}

swarm::AnnounceRequest Tracker::ToStoreRequest(const Client& client,
                                               const AnnounceRequest& request) const {
  swarm::AnnounceRequest out;
  out.info_hash = request.info_hash;
  out.peer_id = request.peer_id;
  out.endpoint = PeerEndpoint(client.address, request.port);
  // The store's rule is left == 0: a left not given must not look like 0.
  out.left = IsSeeder(request.left) ? 0 : std::numeric_limits<uint64_t>::max();
  out.event = ToStoreEvent(request.event);
  out.peers_wanted = PeersWanted(request.num_want);
  return out;
}

}  // namespace reef::tracker
