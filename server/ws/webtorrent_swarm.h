// reef::ws::WebTorrentSwarm: the WebTorrent peers of every torrent, shared by all socket
// workers that hold WebTorrent connections.
//
// Why a store of its own rather than a family in server/swarm's TorrentStore:
//   - A WebTorrent peer is not an endpoint. Browsers are reachable only through the
//     WebSocket they announced on (offers and answers are relayed, never addresses
//     handed out), so a peer is keyed by its peer id and carries the connection that owns
//     it; an HTTP/UDP peer is keyed by address and port and carries nothing else. One
//     store generic over both would put a second key, a second value and a second
//     selection rule on the UDP/HTTP hot path, for peers that are never mixed in a reply.
//   - The two never meet: WebTorrent peers are never handed to UDP or HTTP clients (they
//     cannot open WebRTC), nor theirs to browsers (a browser cannot open TCP or UDP).
//   - Scrape and announce counts here are of WebTorrent peers only, and UDP/HTTP counts
//     never include these. A count tells a client how many peers it could get; counting
//     peers it can never reach would make it lie. (npm bittorrent-tracker keeps one swarm
//     per info hash with every kind of peer and counts them all; aquatic_ws, a separate
//     program, counts WebTorrent peers only, as reef does.)
// What it shares with TorrentStore is the shape: shards by info hash, one lock each, no
// call ever holding two; the same staggered cleaner calling CleanShard(i) for each shard
// in turn; and a budget (max_peers, max_torrents) enforced per shard, refusing new
// entries with "tracker is full" when reached while existing swarms keep working.
//
// Rules:
//   - An entry is (info hash, peer id), owned by the connection that made it
//     (ConnectionHandle: worker, slot, and the slot's generation, so a reused slot is
//     never taken for the connection that held it before). Another connection cannot
//     replace it, remove it (stopped), answer as it, or receive messages meant for it:
//     its announces with that peer id on that torrent are refused (kNotOwner). Every
//     entry a connection made is removed when it closes (Remove, called by the tracker).
//   - seeder: as the caller says (the tracker decides from `left` and the event). A
//     `completed` event adds one to the torrent's completed count once per entry.
//   - `stopped` removes the entry; a torrent left without peers is removed at once (with
//     its completed count), so a closed connection leaves nothing behind.
//   - Offers: Announce picks up to receivers_wanted other peers of the torrent, distinct,
//     never the announcing entry itself, at random (every subset of the right size equally
//     likely); a seeder's offers go to leechers first and to seeders only if there are not
//     enough leechers (two seeders have nothing to exchange). Each receiver gets one offer.
//   - Entries not refreshed (announce or answer) for peer_inactivity_timeout_s are removed
//     by CleanShard: a live connection whose client stopped announcing a torrent without
//     saying `stopped`.
//
// Threads: every method may be called from any number of threads at once.
#ifndef REEF_SERVER_WS_WEBTORRENT_SWARM_H_
#define REEF_SERVER_WS_WEBTORRENT_SWARM_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "absl/status/statusor.h"
#include "protocol/common/fixed_bytes.h"
#include "server/swarm/rng.h"
#include "server/swarm/torrent_store.h"

namespace reef::ws {

// Which connection, on which worker. The generation changes each time a slot is reused,
// so a handle kept after its connection closed matches nothing.
struct ConnectionHandle {
  uint16_t worker = 0;
  uint32_t slot = 0;
  uint32_t generation = 0;
  friend bool operator==(const ConnectionHandle&, const ConnectionHandle&) = default;
};

// Counts as announce and scrape responses give them: seeders ("complete"), leechers
// ("incomplete"), completed events ("downloaded").
using SwarmCounts = swarm::SwarmCounts;

// Defaults and bounds of the store's configuration ([ws] keys).
//
// About 100 bytes per peer (see webtorrent_swarm_test's measurement and
// docs/benchmarks.md): 4 million peers are ~400 MiB.
inline constexpr uint64_t kDefaultMaxPeers = 4'000'000;
inline constexpr uint64_t kDefaultMaxTorrents = 1'000'000;
// Browsers re-announce every 120 s; an entry silent for 10 announces is gone.
inline constexpr uint32_t kDefaultPeerInactivityTimeoutS = 1200;

struct WebTorrentSwarmConfig {
  // Independent locks: 1..swarm::kMaxShards.
  size_t shards = 64;
  // The budget, across the store; each shard takes its share (rounded up), so a shard
  // may refuse a little before the whole store is full. >= 1 each.
  uint64_t max_peers = kDefaultMaxPeers;
  uint64_t max_torrents = kDefaultMaxTorrents;
  // 1..swarm::kMaxPeerInactivityTimeoutS.
  uint32_t peer_inactivity_timeout_s = kDefaultPeerInactivityTimeoutS;
};

// OK, or InvalidArgument naming the field and the allowed range.
absl::Status ValidateWebTorrentSwarmConfig(const WebTorrentSwarmConfig& config);

enum class PeerEvent : uint8_t { kUpdate, kStarted, kStopped, kCompleted };

struct PeerAnnounce {
  InfoHash info_hash;
  PeerId peer_id;
  ConnectionHandle connection;
  bool seeder = false;
  PeerEvent event = PeerEvent::kUpdate;
  // How many other peers to pick as receivers of the announce's offers.
  uint32_t receivers_wanted = 0;
};

enum class AnnounceStatus : uint8_t {
  kOk,
  kNotOwner,  // the peer id is held on this torrent by another connection: refused
  kFull,      // a new torrent or peer over the budget: refused, nothing changed
};

struct AnnounceOutcome {
  AnnounceStatus status = AnnounceStatus::kOk;
  SwarmCounts counts;      // after the announce (the announcing peer included)
  bool added = false;      // a new entry was made (the connection should remember it)
  bool removed = false;    // `stopped` removed the entry
  uint32_t receivers = 0;  // handles written to `receivers`
};

enum class AnswerStatus : uint8_t {
  kForward,      // deliver to `to`
  kNotInSwarm,   // the answering peer id is not this connection's entry on the torrent
  kNoSuchPeer,   // no peer with to_peer_id on the torrent
};

struct AnswerRoute {
  AnswerStatus status = AnswerStatus::kNoSuchPeer;
  ConnectionHandle to;
};

struct WebTorrentCleanStats {
  uint64_t peers_removed = 0;
  uint64_t torrents_removed = 0;
  friend bool operator==(const WebTorrentCleanStats&, const WebTorrentCleanStats&) = default;
};

struct WebTorrentStoreStats {
  uint64_t torrents = 0;
  uint64_t seeders = 0;
  uint64_t leechers = 0;
  uint64_t refused_full = 0;  // announces refused by the budget
  friend bool operator==(const WebTorrentStoreStats&, const WebTorrentStoreStats&) = default;
};

class WebTorrentSwarm {
 public:
  static absl::StatusOr<std::unique_ptr<WebTorrentSwarm>> Create(
      const WebTorrentSwarmConfig& config);
  ~WebTorrentSwarm();
  WebTorrentSwarm(const WebTorrentSwarm&) = delete;
  WebTorrentSwarm& operator=(const WebTorrentSwarm&) = delete;

  // Applies the announce at `now` (seconds, the caller's monotonic clock) and writes up
  // to min(receivers_wanted, receivers.size()) offer receivers. `stopped` removes the
  // entry and picks nobody. `rng` is the calling thread's own.
  AnnounceOutcome Announce(const PeerAnnounce& announce, int64_t now,
                           std::span<ConnectionHandle> receivers, swarm::Rng& rng);

  // Where an answer from `from_peer_id` (on `from`) to `to_peer_id` goes. Refreshes the
  // answering entry. Changes nothing else: an answer is not an announce.
  AnswerRoute RouteAnswer(const InfoHash& info_hash, const PeerId& from_peer_id,
                          const ConnectionHandle& from, const PeerId& to_peer_id, int64_t now);

  // Removes the entry if `connection` owns it; true if it did.
  bool Remove(const InfoHash& info_hash, const PeerId& peer_id,
              const ConnectionHandle& connection);

  // Zeros for a torrent the store does not hold.
  SwarmCounts Scrape(const InfoHash& info_hash) const;

  // Removes the entries of shard `shard` idle for more than peer_inactivity_timeout_s,
  // and the torrents they leave empty. Index out of range: nothing.
  WebTorrentCleanStats CleanShard(size_t shard, int64_t now);

  size_t shard_count() const { return shard_count_; }
  size_t ShardOf(const InfoHash& info_hash) const;
  // Summed one shard at a time.
  WebTorrentStoreStats Stats() const;
  const WebTorrentSwarmConfig& config() const { return config_; }

 private:
  struct Shard;
  explicit WebTorrentSwarm(const WebTorrentSwarmConfig& config);

  WebTorrentSwarmConfig config_;
  size_t shard_count_;
  uint64_t max_peers_per_shard_;
  uint64_t max_torrents_per_shard_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_WEBTORRENT_SWARM_H_
