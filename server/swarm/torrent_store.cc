#include "server/swarm/torrent_store.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace reef::swarm {
namespace {

using internal::ShardCounters;
using internal::SwarmMap;
using internal::SwarmV4;
using internal::SwarmV6;

// How many entries of an output of `entries` the store may fill, as the uint32_t Select
// counts in.
uint32_t Room(size_t entries) {
  return static_cast<uint32_t>(
      std::min<size_t>(entries, std::numeric_limits<uint32_t>::max()));
}

// Removes the idle peers of every swarm in `mine`, then the swarms left empty.
template <typename Swarm, typename OtherSwarm>
void CleanMap(SwarmMap<Swarm>& mine, const SwarmMap<OtherSwarm>& other,
              ShardCounters& counters, uint32_t now, uint32_t timeout_s,
              CleanStats& stats) {
  for (auto it = mine.begin(); it != mine.end();) {
    Swarm& swarm = it->second;
    const uint32_t seeders = swarm.seeders();
    const uint32_t leechers = swarm.leechers();
    stats.peers_removed += swarm.RemoveIdle(now, timeout_s);
    counters.Adjust(seeders, leechers, swarm);
    if (!swarm.empty()) {
      ++it;
      continue;
    }
    if (!other.contains(it->first)) {
      --counters.torrents;
      ++stats.torrents_removed;
    }
    // absl's erase(iterator) leaves every other iterator valid.
    mine.erase(it++);
  }
  // absl tables never shrink by themselves; give back most of a table that emptied.
  if (mine.capacity() > 64 && mine.size() < mine.capacity() / 8) mine.rehash(0);
}

template <typename Swarm>
SwarmInfo InfoOf(const Swarm& swarm) {
  SwarmInfo info;
  info.seeders = swarm.seeders();
  info.leechers = swarm.leechers();
  info.completed = swarm.completed();
  info.is_inline = swarm.is_inline();
  info.heap_bytes = swarm.HeapBytes();
  return info;
}

}  // namespace

uint32_t CompactPeerWriter::Capacity(AddressFamily family) const {
  return Room((out_.size() - written_) / TorrentStore::CompactEntrySize(family));
}

absl::Status ValidateStoreConfig(const StoreConfig& config) {
  if (config.shards < 1 || config.shards > kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shards must be between 1 and ", kMaxShards, ", not ", config.shards));
  }
  if (config.max_response_peers < 1 || config.max_response_peers > kMaxResponsePeersLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_response_peers must be between 1 and ", kMaxResponsePeersLimit,
                     ", not ", config.max_response_peers));
  }
  if (config.peer_inactivity_timeout_s < 1 ||
      config.peer_inactivity_timeout_s > kMaxPeerInactivityTimeoutS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer_inactivity_timeout_s must be between 1 and ", kMaxPeerInactivityTimeoutS,
        " (30 days), not ", config.peer_inactivity_timeout_s));
  }
  return absl::OkStatus();
}

absl::StatusOr<TorrentStore> TorrentStore::Create(const StoreConfig& config) {
  if (absl::Status status = ValidateStoreConfig(config); !status.ok()) return status;
  return TorrentStore(config);
}

TorrentStore::TorrentStore(const StoreConfig& config)
    : config_(config),
      shard_count_(config.shards),
      shards_(std::make_unique<internal::Shard[]>(config.shards)) {}

TorrentStore::TorrentStore(TorrentStore&&) noexcept = default;
TorrentStore& TorrentStore::operator=(TorrentStore&&) noexcept = default;
TorrentStore::~TorrentStore() = default;

size_t TorrentStore::ShardOf(const InfoHash& info_hash) const {
  return internal::ShardIndex(absl::Hash<InfoHash>{}(info_hash), shard_count_);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<Endpoint> out, Rng& rng) {
  EndpointWriter writer(out);
  return Announce(request, now, rng, writer);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<PeerRecord> out, Rng& rng) {
  RecordWriter writer(out);
  return Announce(request, now, rng, writer);
}

AnnounceResult TorrentStore::AnnounceCompact(const AnnounceRequest& request, int64_t now,
                                             std::span<uint8_t> out, Rng& rng) {
  CompactPeerWriter writer(out);
  return Announce(request, now, rng, writer);
}

SwarmCounts TorrentStore::Scrape(const InfoHash& info_hash) const {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  const internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  return internal::CountsOf(internal::FindSwarm(shard.v4, info_hash, hash),
                           internal::FindSwarm(shard.v6, info_hash, hash));
}

CleanStats TorrentStore::CleanShard(size_t shard_index, int64_t now) {
  CleanStats stats;
  if (shard_index >= shard_count_) return stats;
  internal::Shard& shard = shards_[shard_index];
  MutexLock lock(&shard.mu);
  const uint32_t now32 = internal::Clock32(now);
  CleanMap(shard.v4, shard.v6, shard.counters, now32, config_.peer_inactivity_timeout_s,
           stats);
  CleanMap(shard.v6, shard.v4, shard.counters, now32, config_.peer_inactivity_timeout_s,
           stats);
  return stats;
}

StoreStats TorrentStore::Stats() const {
  StoreStats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    const internal::Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    const internal::ShardCounters& c = shard.counters;
    stats.torrents += c.torrents;
    stats.seeders += c.seeders_v4 + c.seeders_v6;
    stats.leechers += c.leechers_v4 + c.leechers_v6;
    stats.peers_v4 += c.seeders_v4 + c.leechers_v4;
    stats.peers_v6 += c.seeders_v6 + c.leechers_v6;
  }
  return stats;
}

std::optional<SwarmInfo> TorrentStore::InspectSwarm(const InfoHash& info_hash,
                                                    AddressFamily family) const {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  const internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (family == AddressFamily::kV4) {
    if (const SwarmV4* swarm = internal::FindSwarm(shard.v4, info_hash, hash)) return InfoOf(*swarm);
  } else {
    if (const SwarmV6* swarm = internal::FindSwarm(shard.v6, info_hash, hash)) return InfoOf(*swarm);
  }
  return std::nullopt;
}

}  // namespace reef::swarm
