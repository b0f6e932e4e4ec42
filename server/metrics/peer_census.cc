#include "server/metrics/peer_census.h"

#include <algorithm>
#include <utility>

namespace reef::metrics {

void PeerClientCensus::Tally::Add(const PeerId& peer_id) {
  ++total_;
  PeerClient client = IdentifyPeerClient(peer_id);
  auto it = counts_.find(client);
  if (it == counts_.end()) {
    // A full tally counts new pairs as "other" (the bound holds per shard too).
    if (counts_.size() + 1 >= kMaxPeerClientSeries) client = PeerClient{};
    it = counts_.try_emplace(client, 0).first;
  }
  ++it->second;
}

PeerClientCensus::PeerClientCensus(size_t shards, size_t max_series)
    : max_series_(std::clamp(max_series, kMinPeerClientSeries, kMaxPeerClientSeries)),
      shards_(shards) {}

void PeerClientCensus::Replace(size_t shard, Tally tally) {
  MutexLock lock(&mu_);
  if (shard >= shards_.size()) return;
  shards_[shard] = std::move(tally.counts_);
}

void PeerClientCensus::Collect(Exposition& out) const {
  absl::flat_hash_map<PeerClient, uint64_t> sum;
  {
    MutexLock lock(&mu_);
    for (const auto& shard : shards_) {
      for (const auto& [client, count] : shard) sum[client] += count;
    }
  }
  std::vector<std::pair<PeerClient, uint64_t>> ranked;
  uint64_t other = 0;
  for (const auto& [client, count] : sum) {
    if (client.is_other()) {
      other += count;
    } else {
      ranked.emplace_back(client, count);
    }
  }
  // Most peers first; ties by name and version, so the output does not depend on hashing.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    if (a.first.name() != b.first.name()) return a.first.name() < b.first.name();
    return a.first.version() < b.first.version();
  });
  const size_t named = std::min(ranked.size(), max_series_ - 1);
  for (size_t i = named; i < ranked.size(); ++i) other += ranked[i].second;
  ranked.resize(named);
  out.Declare(kPeerClients);
  for (const auto& [client, count] : ranked) {
    out.Add(kPeerClients, {{"client", client.name()}, {"version", client.version()}}, count);
  }
  if (other > 0) out.Add(kPeerClients, {{"client", "other"}, {"version", ""}}, other);
}

}  // namespace reef::metrics
