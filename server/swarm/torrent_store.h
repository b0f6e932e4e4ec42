// reef::swarm::TorrentStore: every torrent's peers, shared by all socket workers.
//
// Rules (issue 6):
//   - Sharded by info hash: each shard has its own lock, so workers announcing to
//     different torrents rarely wait for each other.
//   - A peer is identified by its endpoint: the address the request came from and the
//     port it announced. The peer id is stored (HTTP non-compact responses need it) but
//     identifies nothing, so a client at another address cannot remove or replace an
//     entry by reusing someone's peer id. An announce from an existing endpoint with a
//     new peer id replaces the stored id (the same client restarted).
//   - left == 0 makes the peer a seeder, anything else a leecher; `stopped` removes the
//     peer; `completed` adds one to the torrent's completed count, once per peer entry
//     (a peer that stops, or is cleaned, and comes back is a new entry).
//   - IPv4 and IPv6 peers are kept apart and a peer is only ever given peers of its own
//     family. The counts (seeders, leechers, completed) are of both families together.
//   - Peers are chosen at random (every subset of the right size equally likely), never
//     the requester itself; a seeder is given leechers first, and seeders only if there
//     are not enough leechers.
//   - Peers idle longer than peer_inactivity_timeout_s, and then torrents left without
//     peers, are removed by CleanShard, one shard at a time (see CleanShard).
//
// Threads: Announce, Scrape, Stats, InspectSwarm and CleanShard may be called from any
// number of threads at once. Each locks one shard (Stats locks them one after another);
// none ever holds two locks.
#ifndef REEF_SERVER_SWARM_TORRENT_STORE_H_
#define REEF_SERVER_SWARM_TORRENT_STORE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "absl/status/status.h"
#include "protocol/common/fixed_bytes.h"
#include "server/swarm/rng.h"

namespace reef::swarm {

enum class AddressFamily : uint8_t { kV4, kV6 };

// Where a peer can be reached: the address its request came from and the port it
// announced.
struct PeerEndpoint {
  AddressFamily family = AddressFamily::kV4;
  // IPv4: the 4 bytes of the address come first, the other 12 are ignored (V4() zeroes
  // them). IPv6: all 16. Network byte order, as in sockaddr_in/sockaddr_in6.
  std::array<uint8_t, 16> address{};
  uint16_t port = 0;  // host byte order

  static constexpr PeerEndpoint V4(const std::array<uint8_t, 4>& address, uint16_t port) {
    PeerEndpoint e;
    e.family = AddressFamily::kV4;
    for (size_t i = 0; i < 4; ++i) e.address[i] = address[i];
    e.port = port;
    return e;
  }
  static constexpr PeerEndpoint V6(const std::array<uint8_t, 16>& address, uint16_t port) {
    PeerEndpoint e;
    e.family = AddressFamily::kV6;
    e.address = address;
    e.port = port;
    return e;
  }

  // The address bytes that count: 4 for IPv4, 16 for IPv6.
  constexpr size_t address_size() const { return family == AddressFamily::kV4 ? 4 : 16; }

  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports for an
  // IPv4 client) as the IPv4 endpoint a.b.c.d; any other endpoint unchanged. The store
  // does not do this itself: the socket worker decides which family a client is.
  constexpr PeerEndpoint Canonical() const {
    if (family != AddressFamily::kV6) return *this;
    for (size_t i = 0; i < 10; ++i) {
      if (address[i] != 0) return *this;
    }
    if (address[10] != 0xff || address[11] != 0xff) return *this;
    return V4({address[12], address[13], address[14], address[15]}, port);
  }

  // Equal family, port and address bytes that count.
  friend constexpr bool operator==(const PeerEndpoint& a, const PeerEndpoint& b) {
    if (a.family != b.family || a.port != b.port) return false;
    for (size_t i = 0; i < a.address_size(); ++i) {
      if (a.address[i] != b.address[i]) return false;
    }
    return true;
  }

  template <typename H>
  friend H AbslHashValue(H state, const PeerEndpoint& e) {
    return H::combine(H::combine_contiguous(std::move(state), e.address.data(),
                                            e.address_size()),
                      e.family, e.port);
  }
};

// A peer as an HTTP non-compact response lists it.
struct PeerRecord {
  PeerEndpoint endpoint;
  PeerId peer_id;
};

// The announce event. kPaused is BEP 21's partial seed; the store treats it as kNone.
enum class AnnounceEvent : uint8_t { kNone, kStarted, kStopped, kCompleted, kPaused };

struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  // The caller canonicalizes it (PeerEndpoint::Canonical) and refuses port 0 before
  // calling; the store takes any endpoint as given.
  PeerEndpoint endpoint;
  uint64_t left = 0;  // bytes left to download; 0 makes the peer a seeder
  AnnounceEvent event = AnnounceEvent::kNone;
  // How many peers the client wants. The caller maps "default" (UDP's -1, HTTP's missing
  // numwant) to what it likes, e.g. UINT32_MAX for "as many as the config allows".
  uint32_t peers_wanted = 0;
};

struct SwarmCounts {
  uint32_t seeders = 0;
  uint32_t leechers = 0;
  uint32_t completed = 0;  // `completed` events counted; saturates at UINT32_MAX
  friend bool operator==(const SwarmCounts&, const SwarmCounts&) = default;
};

struct AnnounceResult {
  SwarmCounts counts;           // of both families, after the announce
  uint32_t peers_written = 0;   // entries written to the output
};

// Limits on StoreConfig (ValidateStoreConfig checks them).
inline constexpr size_t kMaxShards = 4096;
inline constexpr uint32_t kMaxResponsePeersLimit = 1024;
inline constexpr uint32_t kMaxPeerInactivityTimeoutS = 30 * 24 * 3600;  // 30 days

// A swarm (the peers of one family of one torrent) keeps up to this many peers inside
// the torrent's map slot, with no heap allocation; more move it to a heap array with a
// hashed index. Cleaning moves a swarm back inline once it has this many or fewer.
inline constexpr uint32_t kInlinePeers = 2;

struct StoreConfig {
  // Independent locks. More shards mean less waiting between workers and shorter pauses
  // when one is cleaned; 1..kMaxShards.
  size_t shards = 64;
  // The most peers one announce returns; 1..kMaxResponsePeersLimit.
  uint32_t max_response_peers = 50;
  // A peer that has not announced for longer than this is removed by the next cleaning
  // of its shard; 1..kMaxPeerInactivityTimeoutS.
  uint32_t peer_inactivity_timeout_s = 1200;
};

// OK, or InvalidArgument naming the field and the allowed range.
absl::Status ValidateStoreConfig(const StoreConfig& config);

struct CleanStats {
  uint64_t peers_removed = 0;
  uint64_t torrents_removed = 0;  // info hashes left with no peer of either family
  friend bool operator==(const CleanStats&, const CleanStats&) = default;
};

// Totals over the whole store, for the metrics page.
struct StoreStats {
  uint64_t torrents = 0;  // distinct info hashes held (either family)
  uint64_t seeders = 0;
  uint64_t leechers = 0;
  uint64_t peers_v4 = 0;
  uint64_t peers_v6 = 0;
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

class TorrentStore {
 public:
  // Bytes per compact peer entry: 6 for IPv4, 18 for IPv6 (address, port big-endian).
  static constexpr size_t CompactEntrySize(AddressFamily family) {
    return family == AddressFamily::kV4 ? 6 : 18;
  }

  // `config` must pass ValidateStoreConfig (the config loader checks it and reports
  // errors); an invalid one aborts with the reason.
  explicit TorrentStore(const StoreConfig& config);
  ~TorrentStore();
  TorrentStore(const TorrentStore&) = delete;
  TorrentStore& operator=(const TorrentStore&) = delete;

  // Applies the announce at time `now` (seconds on the caller's monotonic clock; only
  // differences matter) and writes up to min(peers_wanted, max_response_peers,
  // out.size()) peers of the requester's family into `out`, never the requester. A
  // `stopped` announce removes the peer and writes none; it never creates a torrent.
  // Returns the counts after the announce (the requester included) and the number of
  // peers written. `rng` is the calling thread's own. Allocates only when it adds a
  // torrent or a peer (and then not always). Uses about 12 KiB of the caller's stack
  // (the drawn positions), and holds one shard's lock for its duration.
  AnnounceResult Announce(const AnnounceRequest& request, int64_t now,
                          std::span<PeerEndpoint> out, Rng& rng);
  // The same, with each peer's id (HTTP non-compact responses).
  AnnounceResult Announce(const AnnounceRequest& request, int64_t now,
                          std::span<PeerRecord> out, Rng& rng);
  // The same, writing each peer straight in its compact form: CompactEntrySize(family)
  // bytes per peer, address then port big-endian, as BEP 15 and BEP 23 send them. Writes
  // up to out.size() / CompactEntrySize(family) peers; bytes written =
  // peers_written * CompactEntrySize(family).
  AnnounceResult AnnounceCompact(const AnnounceRequest& request, int64_t now,
                                 std::span<uint8_t> out, Rng& rng);

  // The torrent's counts (both families); zeros for a torrent the store does not hold.
  SwarmCounts Scrape(const InfoHash& info_hash) const;

  // Removes the peers of shard `shard` idle for more than peer_inactivity_timeout_s at
  // `now`, then the torrents of that shard left without peers (their completed count
  // goes with them), and gives back heap memory the shard no longer needs. Holds only
  // that shard's lock, for time proportional to the shard's torrents and peers.
  //
  // A cleaner thread calls it for shard 0, 1, ..., shard_count() - 1 in turn, spaced
  // evenly over the cleaning interval (interval / shard_count() apart), so workers only
  // ever wait on one shard at a time, and each shard is cleaned once per interval.
  // A shard index out of range cleans nothing.
  CleanStats CleanShard(size_t shard, int64_t now);

  size_t shard_count() const { return shard_count_; }
  // The shard that holds `info_hash`.
  size_t ShardOf(const InfoHash& info_hash) const;

  // Totals, summed over the shards one lock at a time (so not one instant's snapshot).
  StoreStats Stats() const;

  // How the swarm of `family` of `info_hash` is stored, or nullopt if there is none.
  std::optional<SwarmInfo> InspectSwarm(const InfoHash& info_hash,
                                        AddressFamily family) const;

  const StoreConfig& config() const { return config_; }

 private:
  struct Shard;

  template <typename Sink>
  AnnounceResult AnnounceWith(const AnnounceRequest& request, int64_t now, uint32_t room,
                              Rng& rng, Sink&& sink);

  StoreConfig config_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace reef::swarm

#endif  // REEF_SERVER_SWARM_TORRENT_STORE_H_
