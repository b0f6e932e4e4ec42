// reef::swarm::TorrentStore: every torrent's peers, shared by all socket workers.
//
// Rules:
//   - Sharded by info hash: each shard has its own lock, so workers announcing to
//     different torrents rarely wait for each other.
//   - A peer is identified by its endpoint: the address the request came from and the
//     port it announced. The peer id is stored (HTTP non-compact responses need it) but
//     identifies nothing, so a client at another address cannot remove or replace an
//     entry by reusing someone's peer id. An announce from an existing endpoint with a
//     new peer id replaces the stored id (the same client restarted).
//   - left == 0 makes the peer a seeder, anything else a leecher; `stopped` removes the
//     peer; `completed` adds one to the torrent's completed count, once per peer entry
//     and at most once per address prefix per completed_window_s (so a loop of
//     `completed` and `stopped` from one host counts once).
//   - Key ownership: an entry keeps the `key` its last announce carried (BEP 15's key,
//     HTTP's key=). A `stopped` removes an entry that has a key only when it carries the
//     same key; a normal announce replaces the entry, key and all (a restarted client).
//   - A budget: at most max_peers peers and max_torrents torrents, enforced per shard
//     (each shard holds its share, see StoreConfig). When a shard is full, a peer
//     already there is still updated and answered, and stopped and cleaned as always; a
//     new peer or a new torrent is refused (AnnounceStatus::kFull), nothing is written.
//   - At most prefix_cap entries of one swarm from one address prefix (the first
//     prefix_bits_v4 / prefix_bits_v6 bits): a new endpoint of a prefix at its cap
//     replaces the entry of that prefix that announced least recently. This holds when
//     the shard is full too (the count does not grow).
//   - IPv4 and IPv6 peers are kept apart and a peer is only ever given peers of its own
//     family. The counts (seeders, leechers, completed) are of both families together.
//   - Peers are chosen at random (every subset of the right size equally likely), never
//     the requester itself; a seeder is given leechers first, and seeders only if there
//     are not enough leechers.
//   - Peers idle longer than peer_inactivity_timeout_s, and then torrents left without
//     peers, are removed by CleanShard, one shard at a time (see CleanShard).
//
// Output: the chosen peers go straight from the shard into the caller's reply through a
// PeerWriter (see the concept below), told the counts and the number of peers before the
// first peer, so a compact HTTP body writes "5:peers<6n>:" and then the peers, and a UDP
// reply its header and then the peers, with no list in between. The writer is a template
// parameter: no call through a pointer per peer.
//
// Threads: Announce, Scrape, Stats, InspectSwarm and CleanShard may be called from any
// number of threads at once. Each locks one shard (Stats locks them one after another);
// none ever holds two locks. A PeerWriter runs under the shard's lock: it must only write
// into its buffer.
//
// ---------------------------------------------------------------------------------------
// WebTorrent peers (the design; the WebTorrent server implements it)
//
// A WebTorrent peer is a browser reachable only over WebRTC, through offers and answers
// the tracker relays over its WebSocket. It has no endpoint anyone could connect to, so:
//   - Its own peer family. Beside `v4` and `v6`, each shard gets a third map,
//     info hash -> WebRtcSwarm. A WebRtcSwarm is a PeerSet (peer_set.h) whose key is the
//     20-byte peer id instead of a compact endpoint, and whose per-peer payload is the
//     ConnectionHandle of the WebSocket that announced it ({worker index, connection
//     slot, generation}: 8 bytes, the generation telling a reused slot from the
//     connection that made the entry) and the last-announce stamp. PeerSet already
//     treats its key as opaque fixed-size bytes (compared by SameEndpoint, hashed by the
//     index); templating it on the key size (20) and on the payload (handle instead of
//     peer id) gives WebRTC swarms inline small sets, O(1) lookup and uniform random
//     selection without a second implementation.
//   - Found by peer id: AnnounceWebRtc(info_hash, peer_id, handle, seeder, event, now,
//     rng, writer) upserts and then chooses up to min(offers, numwant,
//     max_response_peers) other WebRTC peers at random for the offers (the writer gets
//     each one's handle and peer id, as the endpoint writers get endpoints);
//     FindWebRtcPeer(info_hash, to_peer_id) returns the handle an answer is relayed to.
//   - Owned by its connection: an entry is changed or removed only by a call carrying the
//     same handle. An announce of a peer id that another live connection holds in that
//     swarm is refused ("peer_id in use"), so no connection can take over, stop or
//     receive messages for another's peer.
//   - Never handed to UDP or HTTP clients, nor theirs to browsers: endpoint announces
//     read only `v4`/`v6`, AnnounceWebRtc only the WebRTC map; the two APIs cannot mix
//     them. Counts: a WebTorrent announce and scrape report the WebRTC swarm's seeders
//     and leechers (the peers a browser can use); UDP and HTTP report v4 + v6, as now.
//     `completed` is one count per torrent, summed over the families as today.
//   - Cleaned when the connection closes: the WebSocket connection keeps the info hashes
//     it announced (bounded by its torrents-per-connection limit) and on close, for each,
//     calls RemoveWebRtcPeer(info_hash, peer_id, handle), which removes the entry only if
//     the handle still matches. The staggered CleanShard also removes WebRTC peers idle
//     past the timeout (a connection that vanished without a close), and a torrent is
//     removed when all three families are empty.
//   - Bounded by the same budget: the store's peer and torrent limits count WebRTC peers
//     and torrents with the others, per shard.
// ---------------------------------------------------------------------------------------
#ifndef REEF_SERVER_SWARM_TORRENT_STORE_H_
#define REEF_SERVER_SWARM_TORRENT_STORE_H_

#include <algorithm>
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <type_traits>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"
#include "server/swarm/rng.h"

namespace reef::swarm {

// A peer as the store keeps it for compact replies: the address, then the port
// big-endian (BEP 15, BEP 23 and BEP 7 send exactly these bytes).
using CompactPeerV4 = std::array<uint8_t, kIpv4AddressSize + 2>;
using CompactPeerV6 = std::array<uint8_t, kIpv6AddressSize + 2>;
using PeerIdBytes = std::array<uint8_t, kPeerIdSize>;

// A peer as an HTTP non-compact response lists it.
struct PeerRecord {
  Endpoint endpoint;
  PeerId peer_id;
};

// The announce event. kPaused is BEP 21's partial seed; the store treats it as kNone.
enum class AnnounceEvent : uint8_t { kNone, kStarted, kStopped, kCompleted, kPaused };

struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  // The caller canonicalizes it (ClientEndpoint in server/common/socket_address.h) and
  // refuses port 0 before calling; the store takes any endpoint as given.
  Endpoint endpoint;
  uint64_t left = 0;  // bytes left to download; 0 makes the peer a seeder
  AnnounceEvent event = AnnounceEvent::kNone;
  // How many peers the client wants. The caller maps "default" (UDP's -1, HTTP's missing
  // numwant) to what it likes, e.g. UINT32_MAX for "as many as the config allows".
  uint32_t peers_wanted = 0;
  // The client's key (BEP 15's key, HTTP's key=), if it sent one; see key ownership.
  std::optional<uint32_t> key;
};

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;  // `completed` events counted; saturates at UINT32_MAX
  friend bool operator==(const SwarmCounts&, const SwarmCounts&) = default;
};

enum class AnnounceStatus : uint8_t {
  kOk,
  // The shard holding the torrent has no room for a new torrent or a new peer: nothing
  // changed and nothing was written.
  kFull,
};

struct AnnounceResult {
  AnnounceStatus status = AnnounceStatus::kOk;
  SwarmCounts counts;           // of both families, after the announce
  uint32_t peers_written = 0;   // entries written to the output
  // An older entry of the requester's address prefix was removed to make room (the
  // prefix was at prefix_cap in this swarm).
  bool prefix_evicted = false;
  // A `stopped` whose key did not match the entry's: the entry stays.
  bool stop_key_mismatch = false;
  // A `completed` not counted because its address prefix was counted for this torrent
  // within completed_window_s (or the shard's record of that is full).
  bool completed_not_counted = false;
};

// Where an announce's peers go. Announce calls, in this order (and only Capacity when it
// refuses the announce, AnnounceStatus::kFull):
//   Capacity(family)        once, before taking the shard's lock: how many peers of
//                           `family` (the requester's) fit;
//   Begin(family, counts, n) once, under the lock: the counts after the announce and
//                           exactly how many peers follow (n <= Capacity; 0 for a
//                           `stopped` announce);
//   Add(peer, peer_id)      n times, under the lock, with a CompactPeerV4 or
//                           CompactPeerV6 (the requester's family) and the peer's id.
template <typename W>
concept PeerWriter = requires(W& w, AddressFamily family, const SwarmCounts& counts,
                              uint32_t n, const CompactPeerV4& v4, const CompactPeerV6& v6,
                              const PeerIdBytes& peer_id) {
  { w.Capacity(family) } -> std::convertible_to<uint32_t>;
  w.Begin(family, counts, n);
  w.Add(v4, peer_id);
  w.Add(v6, peer_id);
};

// Compact entries into a byte buffer, one after another: CompactEntrySize(family) bytes
// each. What the UDP reply and tests use; an HTTP body writes its own prefix in Begin.
class CompactPeerWriter {
 public:
  explicit CompactPeerWriter(std::span<uint8_t> out) : out_(out) {}
  uint32_t Capacity(AddressFamily family) const;
  void Begin(AddressFamily, const SwarmCounts&, uint32_t) {}
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const PeerIdBytes&) {
    std::memcpy(out_.data() + written_, peer.data(), N);
    written_ += N;
  }
  size_t bytes_written() const { return written_; }

 private:
  std::span<uint8_t> out_;
  size_t written_ = 0;
};

// Peers into an array: of Endpoint, or of PeerRecord (with each peer's id).
template <typename Entry>
class ArrayPeerWriter {
 public:
  static_assert(std::is_same_v<Entry, Endpoint> || std::is_same_v<Entry, PeerRecord>);
  explicit ArrayPeerWriter(std::span<Entry> out) : out_(out) {}
  uint32_t Capacity(AddressFamily) const {
    return static_cast<uint32_t>(
        std::min<size_t>(out_.size() - written_, std::numeric_limits<uint32_t>::max()));
  }
  void Begin(AddressFamily, const SwarmCounts&, uint32_t) {}
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const PeerIdBytes& peer_id);

 private:
  std::span<Entry> out_;
  size_t written_ = 0;
};
using EndpointWriter = ArrayPeerWriter<Endpoint>;
using RecordWriter = ArrayPeerWriter<PeerRecord>;

// The Endpoint a compact entry stands for.
template <size_t N>
Endpoint EndpointOf(const std::array<uint8_t, N>& peer);

// Limits on StoreConfig (ValidateStoreConfig checks them).
inline constexpr size_t kMaxShards = 4096;
inline constexpr uint32_t kMaxResponsePeersLimit = 1024;
inline constexpr uint32_t kMaxPeerInactivityTimeoutS = 30 * 24 * 3600;  // 30 days
inline constexpr uint64_t kMaxPeersLimit = uint64_t{1} << 32;
inline constexpr uint64_t kMaxTorrentsLimit = uint64_t{1} << 32;

// A swarm (the peers of one family of one torrent) keeps up to this many peers inside
// the torrent's map slot, with no heap allocation; more move it to a heap array with a
// hashed index. Cleaning moves a swarm back inline once it has this many or fewer.
inline constexpr uint32_t kInlinePeers = 2;

struct StoreConfig {
  // Independent locks. More shards mean less waiting between workers and shorter pauses
  // when one is cleaned; 1..kMaxShards.
  size_t shards = 256;
  // The most peers one announce returns; 1..kMaxResponsePeersLimit.
  uint32_t max_response_peers = 50;
  // A peer that has not announced for longer than this is removed by the next cleaning
  // of its shard; 1..kMaxPeerInactivityTimeoutS.
  uint32_t peer_inactivity_timeout_s = 1200;
  // The budget: peers (both families) and torrents (distinct info hashes) in the whole
  // store, shards..kMaxPeersLimit / kMaxTorrentsLimit. Shard i holds at most
  // limit / shards, plus one for i < limit % shards, so the shares add up to the limit.
  uint64_t max_peers = 75'000'000;
  uint64_t max_torrents = 10'000'000;
  // Entries of one swarm from one address prefix: the first prefix_bits_v4 (1..32) or
  // prefix_bits_v6 (1..128) bits of the address. 0 turns the cap off.
  uint32_t prefix_cap = 16;
  uint32_t prefix_bits_v4 = 32;
  uint32_t prefix_bits_v6 = 64;
  // A torrent counts a `completed` from one address prefix at most once in this many
  // seconds; 1..kMaxPeerInactivityTimeoutS. Each shard remembers at most its share of
  // max_torrents such (torrent, prefix) pairs at once; past that a `completed` from a
  // prefix it does not remember is not counted.
  uint32_t completed_window_s = 1200;
};

// OK, or InvalidArgument naming the field and the allowed range.
absl::Status ValidateStoreConfig(const StoreConfig& config);

struct CleanStats {
  uint64_t peers_removed = 0;
  uint64_t torrents_removed = 0;  // info hashes left with no peer of either family
  uint64_t completions_forgotten = 0;  // (torrent, prefix) records past the window
  friend bool operator==(const CleanStats&, const CleanStats&) = default;
};

// Totals over the whole store, for the metrics page.
struct StoreStats {
  uint64_t torrents = 0;  // distinct info hashes held (either family)
  uint64_t seeders = 0;
  uint64_t leechers = 0;
  uint64_t peers_v4 = 0;
  uint64_t peers_v6 = 0;
  uint64_t completion_records = 0;  // (torrent, prefix) pairs remembered for `completed`
  friend bool operator==(const StoreStats&, const StoreStats&) = default;
};

// How one swarm is stored, for tests and debugging.
struct SwarmInfo {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;  // this family's share of the torrent's count
  bool is_inline = true;   // peers inside the map slot, no heap
  size_t heap_bytes = 0;   // array and index capacity when not inline
};

// A torrent and a peer as VisitShard shows them and Restore* put them back: what a
// snapshot of the store keeps across a restart (server/snapshot).
struct StoredTorrent {
  InfoHash info_hash;
  uint32_t completed_v4 = 0;  // each family's share of the completed count
  uint32_t completed_v6 = 0;
  uint32_t peers_v4 = 0;      // how many peers VisitShard shows next, IPv4 ones first
  uint32_t peers_v6 = 0;
};
struct StoredPeer {
  Endpoint endpoint;
  PeerIdBytes peer_id{};
  bool seeder = false;
  bool completed = false;  // its `completed` event has been counted
  uint32_t idle_s = 0;     // seconds since its last announce
};

namespace internal {
struct Shard;  // torrent_store_inl.h
}  // namespace internal

class TorrentStore {
 public:
  // Bytes per compact peer entry: 6 for IPv4, 18 for IPv6 (address, port big-endian).
  static constexpr size_t CompactEntrySize(AddressFamily family) {
    return family == AddressFamily::kV4 ? sizeof(CompactPeerV4) : sizeof(CompactPeerV6);
  }

  // A store of config.shards empty shards, or InvalidArgument (ValidateStoreConfig's
  // reason) for a config out of range.
  static absl::StatusOr<TorrentStore> Create(const StoreConfig& config);
  TorrentStore(TorrentStore&&) noexcept;
  TorrentStore& operator=(TorrentStore&&) noexcept;
  ~TorrentStore();

  // Applies the announce at time `now` (seconds on the caller's monotonic clock; only
  // differences matter) and writes up to min(peers_wanted, max_response_peers,
  // writer.Capacity(family)) peers of the requester's family through `writer`, never the
  // requester. A `stopped` announce removes the peer and writes none; it never creates a
  // torrent. Returns the counts after the announce (the requester included) and the
  // number of peers written, or AnnounceStatus::kFull (see the budget above) with
  // nothing changed and nothing written. `rng` is the calling thread's own. Allocates only when it
  // adds a torrent or a peer (and then not always). Uses about 12 KiB of the caller's
  // stack (the drawn positions), and holds one shard's lock for its duration.
  template <PeerWriter Writer>
  AnnounceResult Announce(const AnnounceRequest& request, int64_t now, Rng& rng,
                          Writer& writer);

  // The same into an array of endpoints, of records with each peer's id, or of compact
  // entries (bytes written = peers_written * CompactEntrySize(family)).
  AnnounceResult Announce(const AnnounceRequest& request, int64_t now,
                          std::span<Endpoint> out, Rng& rng);
  AnnounceResult Announce(const AnnounceRequest& request, int64_t now,
                          std::span<PeerRecord> out, Rng& rng);
  AnnounceResult AnnounceCompact(const AnnounceRequest& request, int64_t now,
                                 std::span<uint8_t> out, Rng& rng);

  // The torrent's counts (both families); zeros for a torrent the store does not hold.
  SwarmCounts Scrape(const InfoHash& info_hash) const;

  // Removes the peers of shard `shard` idle for more than peer_inactivity_timeout_s at
  // `now`, then the torrents of that shard left without peers (their completed count
  // goes with them), and the (torrent, prefix) records of `completed` older than the
  // window, and gives back heap memory the shard no longer needs. Holds only that
  // shard's lock.
  //
  // A cleaner thread calls it for shard 0, 1, ..., shard_count() - 1 in turn, spaced
  // evenly over the cleaning interval (interval / shard_count() apart), so workers only
  // ever wait on one shard at a time, and each shard is cleaned once per interval.
  // A shard index out of range cleans nothing.
  //
  // It works in slices: it takes the shard's lock, looks at up to 2048 peers (a large
  // swarm over several slices), releases the lock and takes it again for the next slice,
  // so announces to that shard never wait for the whole shard. A torrent added while it
  // runs waits for the next cleaning. With `longest_slice_cpu_s`, it also stores there
  // the CPU time of its longest slice, if longer (for swarm_benchmark).
  CleanStats CleanShard(size_t shard, int64_t now, double* longest_slice_cpu_s = nullptr);

  size_t shard_count() const { return shard_count_; }
  // The shard that holds `info_hash`.
  size_t ShardOf(const InfoHash& info_hash) const;
  // Shard `shard`'s share of the budget.
  uint64_t ShardPeerLimit(size_t shard) const;
  uint64_t ShardTorrentLimit(size_t shard) const;

  // Totals, summed over the shards one lock at a time (so not one instant's snapshot).
  StoreStats Stats() const;

  // How the swarm of `family` of `info_hash` is stored, or nullopt if there is none.
  std::optional<SwarmInfo> InspectSwarm(const InfoHash& info_hash,
                                        AddressFamily family) const;

  // Snapshots (server/snapshot) and the peer-client census: calls torrent(t) for each
  // torrent of shard `shard`, then peer(p) for each of its t.peers_v4 + t.peers_v6 peers
  // (IPv4 first), idle times taken at `now`. Runs under the shard's lock: copy, do not
  // block. A shard index out of range visits nothing.
  void VisitShard(size_t shard, int64_t now,
                  absl::FunctionRef<void(const StoredTorrent&)> torrent,
                  absl::FunctionRef<void(const StoredPeer&)> peer) const;
  // Putting a snapshot back, on a store that is not serving yet: the peer as it was,
  // idle for peer.idle_s before `now`, marked completed if it was (the torrent's count
  // is left alone: RestoreCompleted sets it, before or after the peers), without a key.
  // False if the store refuses it: the budget (max_torrents, max_peers) or the prefix cap
  // is reached, as an announce would find it.
  bool RestorePeer(const InfoHash& info_hash, const StoredPeer& peer, int64_t now);
  // Sets the torrent's completed counts per family (each family's swarm is made if it has
  // no peer, so the count survives until the torrent is cleaned, as it would have).
  void RestoreCompleted(const InfoHash& info_hash, uint32_t completed_v4,
                        uint32_t completed_v6);

  const StoreConfig& config() const { return config_; }

 private:
  explicit TorrentStore(const StoreConfig& config);

  StoreConfig config_;
  size_t shard_count_;
  std::unique_ptr<internal::Shard[]> shards_;
};

}  // namespace reef::swarm

#include "server/swarm/torrent_store_inl.h"  // IWYU pragma: export

#endif  // REEF_SERVER_SWARM_TORRENT_STORE_H_
