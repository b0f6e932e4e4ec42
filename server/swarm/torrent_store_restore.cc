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

template <typename Swarm, typename Other>
void Restore(SwarmMap<Swarm>& mine, const SwarmMap<Other>& other,
             internal::ShardCounters& counters, const InfoHash& info_hash, size_t hash,
             const StoredPeer& peer, uint32_t last_seen) {
  using Stored = typename Swarm::Endpoint;
  Swarm& swarm = SwarmFor(mine, other, counters, info_hash, hash);
  const uint32_t seeders = swarm.seeders();
  const uint32_t leechers = swarm.leechers();
  const uint32_t completed = swarm.completed();
  // A completed event marks the peer, so that a repeat after the restart is not counted
  // again; the count stays what RestoreCompleted says, whichever comes first.
  swarm.Upsert(internal::StoredEndpoint<Stored>(peer.endpoint), peer.peer_id, peer.seeder,
               /*completed_event=*/peer.completed, last_seen);
  swarm.set_completed(completed);
  counters.Adjust(seeders, leechers, swarm);
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
  if (peer.endpoint.address.is_v4()) {
    Restore(shard.v4, shard.v6, shard.counters, info_hash, hash, peer, last_seen);
  } else {
    Restore(shard.v6, shard.v4, shard.counters, info_hash, hash, peer, last_seen);
  }
  return true;
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
