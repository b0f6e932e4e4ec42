#include "server/swarm/torrent_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/common/mutex.h"
#include "server/swarm/peer_set.h"

namespace reef::swarm {
namespace {

static_assert(kMaxResponsePeersLimit <= internal::kMaxSelection);

using SwarmV4 = internal::PeerSet<4, kInlinePeers>;
using SwarmV6 = internal::PeerSet<16, kInlinePeers>;
template <typename Swarm>
using SwarmMap = absl::flat_hash_map<InfoHash, Swarm>;

// The low 32 bits of the caller's clock (a peer keeps 31 of them, see internal::Stamp).
uint32_t Clock32(int64_t now) { return static_cast<uint32_t>(static_cast<uint64_t>(now)); }

// How many peers fit in an output of `entries` entries, as the uint32_t Select counts in.
uint32_t Room(size_t entries) {
  return static_cast<uint32_t>(
      std::min<size_t>(entries, std::numeric_limits<uint32_t>::max()));
}

// The top 32 bits of the info hash's hash scaled to [0, shards) (Lemire's "fastrange").
// The tables inside a shard probe with the low bits, so the two uses do not interfere.
size_t ShardIndex(size_t hash, size_t shards) {
  return static_cast<size_t>(((static_cast<uint64_t>(hash) >> 32) * shards) >> 32);
}

uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
  const uint32_t sum = a + b;
  return sum < a ? std::numeric_limits<uint32_t>::max() : sum;
}

template <typename Swarm>
constexpr AddressFamily FamilyOf() {
  return Swarm::kEndpointBytes == 6 ? AddressFamily::kV4 : AddressFamily::kV6;
}

// The request's endpoint in the stored (compact) form of its family.
template <typename Endpoint>
Endpoint StoredEndpoint(const PeerEndpoint& e) {
  Endpoint out;
  constexpr size_t kAddressBytes = std::tuple_size_v<Endpoint> - 2;
  std::memcpy(out.data(), e.address.data(), kAddressBytes);
  out[kAddressBytes] = static_cast<uint8_t>(e.port >> 8);
  out[kAddressBytes + 1] = static_cast<uint8_t>(e.port & 0xff);
  return out;
}

// Writes the stored endpoint into `out` field by field. (Building a PeerEndpoint on the
// stack and copying it made gcc reload it whole right after a partial store, a
// store-forwarding stall that cost ~10 ns per peer in BM_ReannounceEndpoints.)
template <size_t kEndpointBytes>
void WritePeerEndpoint(const std::array<uint8_t, kEndpointBytes>& endpoint,
                       PeerEndpoint& out) {
  constexpr size_t kAddressBytes = kEndpointBytes - 2;
  out.family = kAddressBytes == 4 ? AddressFamily::kV4 : AddressFamily::kV6;
  std::memcpy(out.address.data(), endpoint.data(), kAddressBytes);
  if constexpr (kAddressBytes < 16) {
    std::memset(out.address.data() + kAddressBytes, 0, 16 - kAddressBytes);
  }
  out.port = static_cast<uint16_t>((endpoint[kAddressBytes] << 8) | endpoint[kAddressBytes + 1]);
}

// Per-shard totals behind Stats(), kept up to date by every change.
struct ShardCounters {
  uint64_t torrents = 0;
  uint64_t seeders_v4 = 0;
  uint64_t leechers_v4 = 0;
  uint64_t seeders_v6 = 0;
  uint64_t leechers_v6 = 0;

  template <typename Swarm>
  void Adjust(uint32_t seeders_before, uint32_t leechers_before, const Swarm& swarm) {
    constexpr bool kV4 = FamilyOf<Swarm>() == AddressFamily::kV4;
    uint64_t& seeders = kV4 ? seeders_v4 : seeders_v6;
    uint64_t& leechers = kV4 ? leechers_v4 : leechers_v6;
    seeders = seeders - seeders_before + swarm.seeders();
    leechers = leechers - leechers_before + swarm.leechers();
  }
};

template <typename Swarm, typename Other>
SwarmCounts CountsOf(const Swarm* swarm, const Other* other) {
  SwarmCounts counts;
  if (swarm != nullptr) {
    counts.seeders = swarm->seeders();
    counts.leechers = swarm->leechers();
    counts.completed = swarm->completed();
  }
  if (other != nullptr) {
    counts.seeders += other->seeders();
    counts.leechers += other->leechers();
    counts.completed = SaturatingAdd(counts.completed, other->completed());
  }
  return counts;
}

template <typename Map>
const typename Map::mapped_type* FindSwarm(const Map& map, const InfoHash& info_hash,
                                           size_t hash) {
  const auto it = map.find(info_hash, hash);
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

struct alignas(64) TorrentStore::Shard {
  mutable Mutex mu;
  SwarmMap<SwarmV4> v4 ABSL_GUARDED_BY(mu);
  SwarmMap<SwarmV6> v6 ABSL_GUARDED_BY(mu);
  ShardCounters counters ABSL_GUARDED_BY(mu);
};

namespace {

// The announce within one shard, for the swarm map of the requester's family (`mine`)
// and the other family's (`other`, read only for the counts).
template <typename Swarm, typename OtherSwarm, typename Sink>
AnnounceResult AnnounceInShard(SwarmMap<Swarm>& mine, const SwarmMap<OtherSwarm>& other,
                               ShardCounters& counters, const AnnounceRequest& request,
                               size_t hash, uint32_t now, uint32_t wanted, Rng& rng,
                               Sink& sink) {
  using Endpoint = typename Swarm::Endpoint;
  const Endpoint endpoint = StoredEndpoint<Endpoint>(request.endpoint);
  auto it = mine.find(request.info_hash, hash);
  if (it != mine.end()) it->second.Prefetch();  // overlaps with the other family's lookup
  const OtherSwarm* other_swarm = FindSwarm(other, request.info_hash, hash);

  AnnounceResult result;
  if (request.event == AnnounceEvent::kStopped) {
    if (it == mine.end()) {
      result.counts = CountsOf<Swarm>(nullptr, other_swarm);
      return result;
    }
    Swarm& swarm = it->second;
    const uint32_t seeders = swarm.seeders();
    const uint32_t leechers = swarm.leechers();
    swarm.Remove(endpoint);
    counters.Adjust(seeders, leechers, swarm);
    // An emptied torrent stays until its shard is cleaned: removing it here would make
    // its completed count depend on the order of stops and cleanings.
    result.counts = CountsOf(&swarm, other_swarm);
    return result;
  }

  if (it == mine.end()) {
    it = mine.try_emplace(request.info_hash).first;
    if (other_swarm == nullptr) ++counters.torrents;
  }
  Swarm& swarm = it->second;
  const uint32_t seeders = swarm.seeders();
  const uint32_t leechers = swarm.leechers();
  std::array<uint8_t, kPeerIdSize> peer_id;
  std::copy_n(request.peer_id.data(), kPeerIdSize, peer_id.begin());
  const uint32_t position =
      swarm.Upsert(endpoint, peer_id, /*seeder=*/request.left == 0,
                   /*completed_event=*/request.event == AnnounceEvent::kCompleted, now);
  counters.Adjust(seeders, leechers, swarm);
  result.counts = CountsOf(&swarm, other_swarm);
  // The requester is a seeder iff it sits in the seeders' part of the array.
  const bool requester_is_seeder = position >= swarm.leechers();
  result.peers_written = swarm.Select(position, /*leechers_first=*/requester_is_seeder,
                                      wanted, rng, sink);
  return result;
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

TorrentStore::TorrentStore(const StoreConfig& config)
    : config_(config), shard_count_(config.shards) {
  if (const absl::Status status = ValidateStoreConfig(config); !status.ok()) {
    std::fprintf(stderr, "reef::swarm::TorrentStore: invalid config: %s\n",
                 std::string(status.message()).c_str());
    std::abort();
  }
  shards_ = std::make_unique<Shard[]>(shard_count_);
}

TorrentStore::~TorrentStore() = default;

size_t TorrentStore::ShardOf(const InfoHash& info_hash) const {
  return ShardIndex(absl::Hash<InfoHash>{}(info_hash), shard_count_);
}

template <typename Sink>
AnnounceResult TorrentStore::AnnounceWith(const AnnounceRequest& request, int64_t now,
                                          uint32_t room, Rng& rng, Sink&& sink) {
  const size_t hash = absl::Hash<InfoHash>{}(request.info_hash);
  const uint32_t wanted =
      std::min({request.peers_wanted, config_.max_response_peers, room});
  Shard& shard = shards_[ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (request.endpoint.family == AddressFamily::kV4) {
    return AnnounceInShard(shard.v4, shard.v6, shard.counters, request, hash, Clock32(now),
                           wanted, rng, sink);
  }
  return AnnounceInShard(shard.v6, shard.v4, shard.counters, request, hash, Clock32(now),
                         wanted, rng, sink);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<PeerEndpoint> out, Rng& rng) {
  PeerEndpoint* next = out.data();
  auto sink = [&next](const auto& endpoint, const auto&) { WritePeerEndpoint(endpoint, *next++); };
  return AnnounceWith(request, now, Room(out.size()), rng, sink);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<PeerRecord> out, Rng& rng) {
  PeerRecord* next = out.data();
  auto sink = [&next](const auto& endpoint, const auto& peer_id) {
    WritePeerEndpoint(endpoint, next->endpoint);
    next->peer_id = PeerId(peer_id);
    ++next;
  };
  return AnnounceWith(request, now, Room(out.size()), rng, sink);
}

AnnounceResult TorrentStore::AnnounceCompact(const AnnounceRequest& request, int64_t now,
                                             std::span<uint8_t> out, Rng& rng) {
  uint8_t* next = out.data();
  auto sink = [&next](const auto& endpoint, const auto&) {
    std::memcpy(next, endpoint.data(), endpoint.size());
    next += endpoint.size();
  };
  return AnnounceWith(request, now,
                      Room(out.size() / CompactEntrySize(request.endpoint.family)), rng,
                      sink);
}

SwarmCounts TorrentStore::Scrape(const InfoHash& info_hash) const {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  const Shard& shard = shards_[ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  return CountsOf(FindSwarm(shard.v4, info_hash, hash), FindSwarm(shard.v6, info_hash, hash));
}

CleanStats TorrentStore::CleanShard(size_t shard_index, int64_t now) {
  CleanStats stats;
  if (shard_index >= shard_count_) return stats;
  Shard& shard = shards_[shard_index];
  MutexLock lock(&shard.mu);
  const uint32_t now32 = Clock32(now);
  CleanMap(shard.v4, shard.v6, shard.counters, now32, config_.peer_inactivity_timeout_s,
           stats);
  CleanMap(shard.v6, shard.v4, shard.counters, now32, config_.peer_inactivity_timeout_s,
           stats);
  return stats;
}

StoreStats TorrentStore::Stats() const {
  StoreStats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    const ShardCounters& c = shard.counters;
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
  const Shard& shard = shards_[ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (family == AddressFamily::kV4) {
    if (const SwarmV4* swarm = FindSwarm(shard.v4, info_hash, hash)) return InfoOf(*swarm);
  } else {
    if (const SwarmV6* swarm = FindSwarm(shard.v6, info_hash, hash)) return InfoOf(*swarm);
  }
  return std::nullopt;
}

}  // namespace reef::swarm
