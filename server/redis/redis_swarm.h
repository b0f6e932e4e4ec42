// RedisSwarm: the swarm store's announce and scrape over a Redis Cluster, so several reef
// instances share their swarms (issue 16). One RedisSwarm per socket worker, on that
// worker's ClusterClient and event loop; nothing blocks, answers come back by callback.
//
// One round trip per announce: one EVALSHA of the announce script (swarm_scripts.h) on
// the master serving the info hash's slot does, atomically there, what
// TorrentStore::Announce does: drop expired entries, upsert the peer (endpoint, peer id,
// key, seeder), or remove it on `stopped` (with the same key when the entry has one),
// count `completed`, apply the prefix cap and the budget, choose up to N random peers of
// the requester's family (never the requester; a seeder gets leechers first), and return
// the counts and the peers in compact form. A node that has not seen the script yet
// answers NOSCRIPT; the request is sent again once as EVAL, which also loads the script
// there. A scrape is one read-only script call per info hash (different hashes live in
// different slots, so no one call can read them all), pipelined: every hash of the same
// node goes out in the same write.
//
// The same as the memory store (torrent_store.h):
//   - a peer is its endpoint; the peer id is stored, identifies nothing; a new peer id
//     from the same endpoint replaces the stored one;
//   - left == 0 is a seeder; `stopped` removes, never creates a torrent, returns no peers;
//   - key ownership: `stopped` removes an entry that has a key only with the same key; a
//     normal announce replaces entry and key;
//   - `completed` counts once per peer entry, and once per address prefix per
//     completed_window_s;
//   - at most prefix_cap entries of one swarm per address prefix (prefix_bits_v4 /
//     prefix_bits_v6), the least recently announced giving way, also when full;
//   - IPv4 and IPv6 apart, counts of both; random choice, never the requester.
// What differs, and why:
//   - Expiry instead of cleaning: an entry's score is the time it expires (Redis's clock,
//     TIME, so every instance agrees); expired entries stop being counted at once (ZCOUNT
//     from now) and are removed by the next announce to the torrent (up to trim_per_call
//     per family and role per call); a torrent's keys carry a PEXPIRE of the peer lifetime,
//     so a torrent nobody announces to vanishes by itself with its completed count, as
//     the memory store's cleaner would remove it. No instance cleans the others' peers.
//   - The budget is per hash slot, not per shard: at most max_peers_per_slot peers and
//     max_torrents_per_slot torrents in one slot (counted by the script in the slot's own
//     keys; a torrent that expired as a whole is subtracted by the next announce in its
//     slot), so no torrent or slot can take a node's memory. Dividing a
//     global max_peers over 16384 slots, as the memory store divides it over its shards,
//     would cap a popular swarm at a few thousand peers; the defaults instead allow a
//     swarm as large as the memory store's default shard share. The global budget is
//     Redis's own: every node runs with `maxmemory` and `maxmemory-policy noeviction`
//     (the operator sizes it); a node at maxmemory refuses the script's writes, and the
//     announce gets AnnounceStatus::kFull ("tracker is full") like a full shard.
//   - A torrent left with no peer keeps its completed count until its keys expire (the
//     memory store keeps it until the next cleaning).
//   - An expired entry not yet trimmed (more than trim_per_call expired at once) may still
//     be handed out once; it is never counted.
//
// Errors: the ClusterClient's (Unavailable, "tracker temporarily unavailable ...", when a
// node is down, slow, or redirects too often; ResourceExhausted past max_pending), and
// Internal for a reply of the wrong shape.
//
// ---------------------------------------------------------------------------------------
// Plugging it into the workers (the next step; this package does not touch them):
//   1. [swarm] backend = "memory" | "redis", and a [redis] section: seeds, timeouts,
//      key_prefix, the per-slot limits (RedisSwarmOptions, ClusterOptions).
//   2. Each UDP / HTTP worker makes its own ClusterClient on its own epoll fd
//      (epoll_token_base above any token it uses itself) and a RedisSwarm on it. Its loop
//      waits with epoll_wait(..., client.NextTimeoutMs()) instead of -1, hands events
//      whose token client.OwnsToken() to client.HandleEvent(), calls client.Tick() after
//      each wakeup, and client.Flush() after each recvmmsg batch (one write per node for
//      the whole batch).
//   3. Deferred replies: the handler keeps what the reply needs (UDP: the sender's
//      address and transaction id; HTTP: the connection's slot and generation) in the
//      AnnounceCallback and returns "no reply now". The callback builds the reply through
//      RedisAnnounce::WritePeers into the same writers the memory path uses
//      (AnnounceWriter / PeerWriter), and queues it: UDP through a pending sendmmsg batch,
//      HTTP into the connection's output buffer (if the connection is still the same
//      generation; else it is dropped). A status that is not OK answers "tracker
//      temporarily unavailable" (BEP 15 error / failure reason), counted; kFull answers
//      "tracker is full".
//   4. The UDP loop's DatagramHandler interface returns the reply synchronously; it needs
//      a second path (a "reply later" sink) for the Redis backend. The io_uring loop the
//      same, through its send SQEs.
//   5. seccomp: the workers' filter must allow connect(), getsockopt(SO_ERROR) and
//      socket() for the Redis connections.
//   6. The tracker core's tests run against both backends (a RedisSwarm behind the same
//      interface, driven by a loop in the test).
// ---------------------------------------------------------------------------------------
#ifndef REEF_SERVER_REDIS_REDIS_SWARM_H_
#define REEF_SERVER_REDIS_REDIS_SWARM_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"
#include "server/redis/cluster_client.h"
#include "server/swarm/rng.h"
#include "server/swarm/torrent_store.h"

namespace reef::redis {

inline constexpr size_t kMaxKeyPrefixBytes = 64;
inline constexpr uint32_t kMaxTrimPerCall = 100'000;

struct RedisSwarmOptions {
  // Every key starts with it: "<key_prefix>:{<info hash hex>}:..."; 1..kMaxKeyPrefixBytes
  // bytes, no '{' or '}'.
  std::string key_prefix = "reef";
  // swarm::StoreConfig's meaning and ranges for these.
  uint32_t max_response_peers = 50;
  uint32_t peer_inactivity_timeout_s = 1200;  // the entries' lifetime
  uint32_t prefix_cap = 16;
  uint32_t prefix_bits_v4 = 32;
  uint32_t prefix_bits_v6 = 64;
  uint32_t completed_window_s = 1200;
  // The per-slot budget (see above); 1..swarm::kMaxPeersLimit / kMaxTorrentsLimit.
  uint64_t max_peers_per_slot = 300'000;
  uint64_t max_torrents_per_slot = 40'000;
  // Expired entries (and expired torrents of the slot) removed per announce at most;
  // 1..kMaxTrimPerCall. Bounds the time one script call holds the node.
  uint32_t trim_per_call = 1000;
};

absl::Status ValidateRedisSwarmOptions(const RedisSwarmOptions& options);

// An announce's answer. The views point into the Redis reply: valid only during the
// callback.
struct RedisAnnounce {
  swarm::AnnounceStatus status = swarm::AnnounceStatus::kOk;
  swarm::SwarmCounts counts;  // after the announce, both families
  bool prefix_evicted = false;
  bool stop_key_mismatch = false;
  bool completed_not_counted = false;
  AddressFamily family = AddressFamily::kV4;  // the requester's, and of every peer
  uint32_t peer_count = 0;
  std::string_view peers;     // peer_count compact entries (6 or 18 bytes each)
  std::string_view peer_ids;  // peer_count peer ids (20 bytes each), in the same order

  // Through a swarm::PeerWriter as TorrentStore::Announce does: Begin(family, counts, n)
  // with n = min(peer_count, writer.Capacity(family)), then n Adds. Returns n.
  template <swarm::PeerWriter Writer>
  uint32_t WritePeers(Writer& writer) const;
};

class RedisSwarm {
 public:
  using AnnounceCallback = absl::AnyInvocable<void(absl::StatusOr<RedisAnnounce>)>;
  // The counts of each hash asked, in order; an unknown torrent is zeros.
  using ScrapeCallback =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<swarm::SwarmCounts>>)>;

  // `client` outlives the RedisSwarm. InvalidArgument for options out of range.
  static absl::StatusOr<std::unique_ptr<RedisSwarm>> Create(ClusterClient& client,
                                                           const RedisSwarmOptions& options,
                                                           uint64_t rng_seed);

  // The announce: `request` as for TorrentStore::Announce (the caller has canonicalized
  // the endpoint and refused port 0), up to min(peers_wanted, max_response_peers) peers.
  // `done` is called once, maybe before Announce returns (ClusterClient's rules).
  void Announce(const swarm::AnnounceRequest& request, AnnounceCallback done);
  // The counts of every hash in `hashes` (the caller bounds how many).
  void Scrape(std::span<const InfoHash> hashes, ScrapeCallback done);

  const RedisSwarmOptions& options() const { return options_; }

 private:
  RedisSwarm(ClusterClient& client, const RedisSwarmOptions& options, uint64_t rng_seed);
  // EVALSHA `sha` with `keys` and `args` on the slot's master; EVAL `script` once on
  // NOSCRIPT.
  void RunScript(uint16_t slot, std::string_view script, const std::string& sha,
                 std::vector<std::string> keys_and_args, size_t key_count,
                 ClusterClient::Callback done);

  ClusterClient& client_;
  RedisSwarmOptions options_;
  swarm::Rng rng_;
  std::string announce_sha_;
  std::string scrape_sha_;
};

template <swarm::PeerWriter Writer>
uint32_t RedisAnnounce::WritePeers(Writer& writer) const {
  const size_t entry = swarm::TorrentStore::CompactEntrySize(family);
  const uint32_t n = std::min<uint32_t>(peer_count, writer.Capacity(family));
  writer.Begin(family, counts, n);
  swarm::PeerIdBytes id;
  for (uint32_t i = 0; i < n; ++i) {
    std::memcpy(id.data(), peer_ids.data() + size_t{i} * kPeerIdSize, kPeerIdSize);
    if (family == AddressFamily::kV4) {
      swarm::CompactPeerV4 peer;
      std::memcpy(peer.data(), peers.data() + i * entry, entry);
      writer.Add(peer, id);
    } else {
      swarm::CompactPeerV6 peer;
      std::memcpy(peer.data(), peers.data() + i * entry, entry);
      writer.Add(peer, id);
    }
  }
  return n;
}

}  // namespace reef::redis

#endif  // REEF_SERVER_REDIS_REDIS_SWARM_H_
