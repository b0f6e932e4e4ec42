// Internal to server/swarm, included by torrent_store.h: the shard and the announce
// path, which are templates over the caller's PeerWriter (so each writer's Add is
// inlined into the selection loop) and so live in a header.
#ifndef REEF_SERVER_SWARM_TORRENT_STORE_INL_H_
#define REEF_SERVER_SWARM_TORRENT_STORE_INL_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "server/common/mutex.h"
#include "server/swarm/peer_set.h"
#include "server/swarm/torrent_store.h"

namespace reef::swarm {
namespace internal {

static_assert(kMaxResponsePeersLimit <= kMaxSelection);

using SwarmV4 = PeerSet<kIpv4AddressSize, kInlinePeers>;
using SwarmV6 = PeerSet<kIpv6AddressSize, kInlinePeers>;
static_assert(std::is_same_v<SwarmV4::Endpoint, CompactPeerV4>);
static_assert(std::is_same_v<SwarmV6::Endpoint, CompactPeerV6>);
template <typename Swarm>
using SwarmMap = absl::flat_hash_map<InfoHash, Swarm>;

// The low 32 bits of the caller's clock (a peer keeps 31 of them, see Stamp).
inline uint32_t Clock32(int64_t now) {
  return static_cast<uint32_t>(static_cast<uint64_t>(now));
}

// The top 32 bits of the info hash's hash scaled to [0, shards) (Lemire's "fastrange").
// The tables inside a shard probe with the low bits, so the two uses do not interfere.
inline size_t ShardIndex(size_t hash, size_t shards) {
  return static_cast<size_t>(((static_cast<uint64_t>(hash) >> 32) * shards) >> 32);
}

inline uint32_t SaturatingAdd(uint32_t a, uint32_t b) {
  const uint32_t sum = a + b;
  return sum < a ? std::numeric_limits<uint32_t>::max() : sum;
}

template <typename Swarm>
constexpr AddressFamily FamilyOf() {
  return Swarm::kEndpointBytes == sizeof(CompactPeerV4) ? AddressFamily::kV4
                                                         : AddressFamily::kV6;
}

// The request's endpoint in the stored (compact) form of its family.
template <typename Stored>
Stored StoredEndpoint(const Endpoint& e) {
  Stored out;
  constexpr size_t kAddressBytes = std::tuple_size_v<Stored> - 2;
  std::memcpy(out.data(), e.address.bytes.data(), kAddressBytes);
  out[kAddressBytes] = static_cast<uint8_t>(e.port >> 8);
  out[kAddressBytes + 1] = static_cast<uint8_t>(e.port & 0xff);
  return out;
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

struct alignas(64) Shard {
  mutable Mutex mu;
  SwarmMap<SwarmV4> v4 ABSL_GUARDED_BY(mu);
  SwarmMap<SwarmV6> v6 ABSL_GUARDED_BY(mu);
  ShardCounters counters ABSL_GUARDED_BY(mu);
};

// The announce within one shard, for the swarm map of the requester's family (`mine`)
// and the other family's (`other`, read only for the counts).
template <typename Swarm, typename OtherSwarm, typename Writer>
AnnounceResult AnnounceInShard(SwarmMap<Swarm>& mine, const SwarmMap<OtherSwarm>& other,
                               ShardCounters& counters, const AnnounceRequest& request,
                               size_t hash, uint32_t now, uint32_t wanted, Rng& rng,
                               Writer& writer) {
  using Stored = typename Swarm::Endpoint;
  constexpr AddressFamily kFamily = FamilyOf<Swarm>();
  const Stored endpoint = StoredEndpoint<Stored>(request.endpoint);
  auto it = mine.find(request.info_hash, hash);
  if (it != mine.end()) it->second.Prefetch();  // overlaps with the other family's lookup
  const OtherSwarm* other_swarm = FindSwarm(other, request.info_hash, hash);

  AnnounceResult result;
  if (request.event == AnnounceEvent::kStopped) {
    if (it == mine.end()) {
      result.counts = CountsOf<Swarm>(nullptr, other_swarm);
    } else {
      Swarm& swarm = it->second;
      const uint32_t seeders = swarm.seeders();
      const uint32_t leechers = swarm.leechers();
      swarm.Remove(endpoint);
      counters.Adjust(seeders, leechers, swarm);
      // An emptied torrent stays until its shard is cleaned: removing it here would make
      // its completed count depend on the order of stops and cleanings.
      result.counts = CountsOf(&swarm, other_swarm);
    }
    writer.Begin(kFamily, result.counts, 0);
    return result;
  }

  if (it == mine.end()) {
    it = mine.try_emplace(request.info_hash).first;
    if (other_swarm == nullptr) ++counters.torrents;
  }
  Swarm& swarm = it->second;
  const uint32_t seeders = swarm.seeders();
  const uint32_t leechers = swarm.leechers();
  PeerIdBytes peer_id;
  std::copy_n(request.peer_id.data(), kPeerIdSize, peer_id.begin());
  const uint32_t position =
      swarm.Upsert(endpoint, peer_id, /*seeder=*/request.left == 0,
                   /*completed_event=*/request.event == AnnounceEvent::kCompleted, now);
  counters.Adjust(seeders, leechers, swarm);
  result.counts = CountsOf(&swarm, other_swarm);
  // Select chooses min(wanted, every peer but the requester): the writer learns that
  // number before the first peer.
  writer.Begin(kFamily, result.counts, std::min(wanted, swarm.size() - 1));
  // The requester is a seeder iff it sits in the seeders' part of the array.
  const bool requester_is_seeder = position >= swarm.leechers();
  result.peers_written =
      swarm.Select(position, /*leechers_first=*/requester_is_seeder, wanted, rng,
                   [&writer](const Stored& peer, const PeerIdBytes& id) { writer.Add(peer, id); });
  return result;
}

}  // namespace internal

template <size_t N>
Endpoint EndpointOf(const std::array<uint8_t, N>& peer) {
  static_assert(N == sizeof(CompactPeerV4) || N == sizeof(CompactPeerV6));
  constexpr size_t kAddressBytes = N - 2;
  Endpoint out;
  out.address.family = kAddressBytes == kIpv4AddressSize ? AddressFamily::kV4
                                                         : AddressFamily::kV6;
  std::memcpy(out.address.bytes.data(), peer.data(), kAddressBytes);
  out.port = static_cast<uint16_t>((peer[kAddressBytes] << 8) | peer[kAddressBytes + 1]);
  return out;
}

template <typename Entry>
template <size_t N>
void ArrayPeerWriter<Entry>::Add(const std::array<uint8_t, N>& peer,
                                 const PeerIdBytes& peer_id) {
  // Field by field into the array, never a whole Endpoint built on the stack and copied:
  // gcc then reloads it whole right after a partial store, a store-forwarding stall that
  // cost ~10 ns per peer in BM_ReannounceEndpoints.
  Entry& entry = out_[written_++];
  Endpoint* out;
  if constexpr (std::is_same_v<Entry, PeerRecord>) {
    entry.peer_id = PeerId(peer_id);
    out = &entry.endpoint;
  } else {
    out = &entry;
  }
  constexpr size_t kAddressBytes = N - 2;
  out->address.family = kAddressBytes == kIpv4AddressSize ? AddressFamily::kV4
                                                          : AddressFamily::kV6;
  std::memcpy(out->address.bytes.data(), peer.data(), kAddressBytes);
  if constexpr (kAddressBytes < kIpv6AddressSize) {
    std::memset(out->address.bytes.data() + kAddressBytes, 0, kIpv6AddressSize - kAddressBytes);
  }
  out->port = static_cast<uint16_t>((peer[kAddressBytes] << 8) | peer[kAddressBytes + 1]);
}

template <PeerWriter Writer>
AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now, Rng& rng,
                                      Writer& writer) {
  const size_t hash = absl::Hash<InfoHash>{}(request.info_hash);
  const uint32_t capacity = static_cast<uint32_t>(writer.Capacity(request.endpoint.family()));
  const uint32_t wanted = std::min({request.peers_wanted, config_.max_response_peers, capacity});
  internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (request.endpoint.address.is_v4()) {
    return internal::AnnounceInShard(shard.v4, shard.v6, shard.counters, request, hash,
                                     internal::Clock32(now), wanted, rng, writer);
  }
  return internal::AnnounceInShard(shard.v6, shard.v4, shard.counters, request, hash,
                                   internal::Clock32(now), wanted, rng, writer);
}

}  // namespace reef::swarm

#endif  // REEF_SERVER_SWARM_TORRENT_STORE_INL_H_
