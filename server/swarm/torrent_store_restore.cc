// TorrentStore's side of a snapshot: showing a shard's torrents and peers (VisitShard)
// and putting them back at the next start (RestorePeer, RestoreCompleted).
#include "absl/hash/hash.h"
#include "server/swarm/torrent_store.h"

namespace reef::swarm {
namespace {

using internal::SwarmMap;

template <typename Swarm>
void VisitPeers(const Swarm* swarm, uint32_t now,
                absl::FunctionRef<void(const StoredPeer&)> peer) {
  if (swarm == nullptr) return;
  swarm->ForEach([&](const typename Swarm::Endpoint& endpoint,
                     const internal::PeerMeta& meta, bool seeder) {
    StoredPeer stored;
    stored.endpoint = EndpointOf(endpoint);
    stored.peer_id = meta.peer_id;
    stored.seeder = seeder;
    stored.completed = meta.stamp.completed();
    stored.idle_s = static_cast<uint32_t>(meta.stamp.IdleSeconds(now));
    peer(stored);
  });
}

StoredTorrent Describe(const InfoHash& info_hash, const internal::SwarmV4* v4,
                       const internal::SwarmV6* v6) {
  StoredTorrent torrent;
  torrent.info_hash = info_hash;
  if (v4 != nullptr) {
    torrent.completed_v4 = v4->completed();
    torrent.peers_v4 = v4->size();
  }
  if (v6 != nullptr) {
    torrent.completed_v6 = v6->completed();
    torrent.peers_v6 = v6->size();
  }
  return torrent;
}

// The swarm of `info_hash` in `mine`, made if there is none (and the torrent counted if
// the other family has none either).
template <typename Swarm, typename Other>
Swarm& SwarmFor(SwarmMap<Swarm>& mine, const SwarmMap<Other>& other,
                internal::ShardCounters& counters, const InfoHash& info_hash, size_t hash) {
  auto [it, added] = mine.try_emplace(info_hash);
  if (added && internal::FindSwarm(other, info_hash, hash) == nullptr) ++counters.torrents;
  return it->second;
}

// Puts one peer back under the rules an announce is held to: the shard's budget (a new
// torrent or peer past it is refused) and the prefix cap (a restored entry past it is
// refused rather than evicting another, since records come in no particular order), with
// the shard's prefix rule, so the set's prefix bookkeeping stays what announces expect.
// The entry comes back without a key (the snapshot does not keep keys): its client's next
// announce sets it again.
template <typename Swarm, typename Other>
bool Restore(internal::Shard& shard, SwarmMap<Swarm>& mine, const SwarmMap<Other>& other,
             const InfoHash& info_hash, size_t hash, const StoredPeer& peer,
             uint32_t last_seen) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
  using Stored = typename Swarm::Endpoint;
  internal::ShardCounters& counters = shard.counters;
  const internal::ShardRules& rules = shard.rules;
  const internal::PrefixRule& prefix_rule = rules.PrefixFor<Swarm>();
  const Stored endpoint = internal::StoredEndpoint<Stored>(peer.endpoint);
  auto it = mine.find(info_hash, hash);
  if (it == mine.end()) {
    if ((internal::FindSwarm(other, info_hash, hash) == nullptr &&
         counters.torrents >= rules.torrent_limit) ||
        counters.peers() >= rules.peer_limit) {
      return false;
    }
  }
  Swarm& swarm = SwarmFor(mine, other, counters, info_hash, hash);
  const uint32_t seeders = swarm.seeders();
  const uint32_t leechers = swarm.leechers();
  uint32_t position = swarm.Find(endpoint);
  if (position == Swarm::kNotFound) {
    const bool prefix_full =
        prefix_rule.cap > 0 &&
        swarm.PrefixCount(internal::PrefixOf(endpoint, prefix_rule.bits), prefix_rule) >=
            prefix_rule.cap;
    if (prefix_full || counters.peers() >= rules.peer_limit) {
      // A torrent made just above keeps its place until cleaned, as a stop leaves it.
      return false;
    }
    position = swarm.Insert(endpoint, peer.peer_id, std::nullopt, peer.seeder, last_seen,
                            prefix_rule);
  } else {
    position = swarm.Update(position, peer.peer_id, std::nullopt, peer.seeder, last_seen,
                            prefix_rule);
  }
  // A completed event marks the peer, so that a repeat after the restart is not counted
  // again; the count stays what RestoreCompleted says, whichever comes first.
  if (peer.completed) swarm.MarkCompleted(position);
  counters.Adjust(seeders, leechers, swarm);
  return true;
}

}  // namespace

void TorrentStore::VisitShard(size_t shard_index, int64_t now,
                              absl::FunctionRef<void(const StoredTorrent&)> torrent,
                              absl::FunctionRef<void(const StoredPeer&)> peer) const {
  if (shard_index >= shard_count_) return;
  const internal::Shard& shard = shards_[shard_index];
  MutexLock lock(&shard.mu);
  const uint32_t now32 = internal::Clock32(now);
  for (const auto& [info_hash, v4] : shard.v4) {
    const internal::SwarmV6* v6 = internal::FindSwarm(
        shard.v6, info_hash, absl::Hash<InfoHash>{}(info_hash));
    torrent(Describe(info_hash, &v4, v6));
    VisitPeers(&v4, now32, peer);
    VisitPeers(v6, now32, peer);
  }
  for (const auto& [info_hash, v6] : shard.v6) {
    if (shard.v4.contains(info_hash)) continue;  // shown with its IPv4 swarm
    torrent(Describe(info_hash, nullptr, &v6));
    VisitPeers(&v6, now32, peer);
  }
}

bool TorrentStore::RestorePeer(const InfoHash& info_hash, const StoredPeer& peer,
                               int64_t now) {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  const uint32_t last_seen = internal::Clock32(now - int64_t{peer.idle_s});
  return peer.endpoint.address.is_v4()
             ? Restore(shard, shard.v4, shard.v6, info_hash, hash, peer, last_seen)
             : Restore(shard, shard.v6, shard.v4, info_hash, hash, peer, last_seen);
}

void TorrentStore::RestoreCompleted(const InfoHash& info_hash, uint32_t completed_v4,
                                    uint32_t completed_v6) {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (completed_v4 > 0 || shard.v4.contains(info_hash)) {
    SwarmFor(shard.v4, shard.v6, shard.counters, info_hash, hash).set_completed(completed_v4);
  }
  if (completed_v6 > 0 || shard.v6.contains(info_hash)) {
    SwarmFor(shard.v6, shard.v4, shard.counters, info_hash, hash).set_completed(completed_v6);
  }
}

}  // namespace reef::swarm
