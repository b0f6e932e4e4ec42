// reef::tracker::Tracker: the announce and scrape rules every protocol shares.
//
// UDP, HTTP(S) and WebTorrent are thin adapters: each turns its wire format into the
// requests below (from_wire.h), calls the core, and turns the answer back into bytes. A
// request means the same thing whichever way it arrives, because every rule is decided
// here, once, and tested here (tracker_test.cc, same_request_test.cc):
//
//   rule                                        where
//   client address -> the peer's endpoint       PeerEndpoint(): the address the request
//                                               came from (the adapter's ClientEndpoint,
//                                               or a trusted proxy's header address put
//                                               through IpAddress::Unmapped()) and the
//                                               announced port; an `ip` field is ignored
//   port 0 is refused                           CheckAnnounce()
//   the access list                             CheckInfoHash() refuses an announce;
//                                               Scrape() answers a refused hash as unknown
//   num_want -> peers wanted                    PeersWanted(): not given (UDP's -1, HTTP's
//                                               missing or negative numwant) means
//                                               max_response_peers; more is capped to it
//   events                                      Event; from_wire.h maps each protocol's
//                                               (paused, update, empty -> none)
//   left                                        IsSeeder(): left == 0 is a seeder; a left
//                                               the client did not give (HTTP without
//                                               left=, a magnet client; WebTorrent's
//                                               missing or null left; UDP's negative
//                                               left) is a leecher: a client that cannot
//                                               say it has everything is still
//                                               downloading
//   counts                                      ClampCount(): every protocol reports the
//                                               same figures, clamped to INT32_MAX (BEP
//                                               15's fields are signed 32-bit)
//   intervals                                   AnnounceReply: interval and min interval
//                                               (HTTP sends both, UDP the first,
//                                               WebTorrent the first)
//   scrape size                                 Scrape(): more than max_scrape_hashes is
//                                               refused
//   statistics                                  Counters (counters.h), per protocol x
//                                               action x family, per worker
//
// Errors are values: a refused request gets a Refusal, whose RefusalReason() is the text
// the protocol sends back, and the writer is never called.
//
// One Tracker per worker thread: it holds the worker's random generator (peer selection)
// and counters, and shares the store, the access list and the clock with the other
// workers' Trackers. Its methods are called by that thread only; counters() may be read
// from any.
//
// What adapters call:
//   Tracker core(shared, seed);                                   // one per worker
//   AnnounceOutcome out = core.Announce(client, request, writer); // writer: below
//   std::optional<Refusal> r = core.Scrape(client, hashes, sink); // sink(hash, counts)
#ifndef REEF_SERVER_TRACKER_TRACKER_H_
#define REEF_SERVER_TRACKER_TRACKER_H_

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"
#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/swarm/rng.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/counters.h"

namespace reef::tracker {

struct Options {
  // Seconds a client should wait between announces, and at least (HTTP's "min interval").
  int32_t announce_interval_s = 1800;
  int32_t min_announce_interval_s = 900;
  // Peers in an announce answer when the client does not say, and the most it gets when
  // it asks for more. The store caps it too (StoreConfig::max_response_peers).
  uint32_t max_response_peers = 50;
  // Info hashes per scrape; more is refused (kTooManyHashes).
  size_t max_scrape_hashes = 74;
};

// What every worker's Tracker shares, built once (BuildProtocolWorkers) and kept alive by
// each worker that holds a copy.
struct Shared {
  Options options;
  std::shared_ptr<swarm::TorrentStore> store;
  std::shared_ptr<const AccessList> access_list;
  const Clock* clock = &SystemClock();
};

// Who is asking, and how.
struct Client {
  Protocol protocol = Protocol::kUdp;
  // Where the request came from: ClientEndpoint() of the socket address (so IPv4-mapped
  // IPv6 is already IPv4), or, behind a trusted reverse proxy, the address its header
  // names, put through IpAddress::Unmapped() the same way.
  IpAddress address;
};

enum class Event : uint8_t { kNone, kStarted, kStopped, kCompleted };

struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  uint16_t port = 0;  // the port the client announced; 0 is refused
  // Bytes the client still needs; nullopt when it did not say (see IsSeeder).
  std::optional<uint64_t> left;
  Event event = Event::kNone;
  // How many peers it wants; nullopt when it did not say (see PeersWanted).
  std::optional<uint32_t> num_want;
};

// A swarm's counts as every protocol reports them.
struct Counts {
  int32_t seeders = 0;
  int32_t leechers = 0;
  int32_t completed = 0;  // times downloaded
  friend bool operator==(const Counts&, const Counts&) = default;
};

// What every announce answer carries besides the peers.
struct AnnounceReply {
  Counts counts;  // after the announce, the requester included
  int32_t interval_s = 0;
  int32_t min_interval_s = 0;
  friend bool operator==(const AnnounceReply&, const AnnounceReply&) = default;
};

// Where an announce's answer goes: the adapter's reply, written in one pass.
//   Capacity(family)            how many peers of the requester's family fit;
//   Begin(family, reply, n)     once: the counts and intervals, and exactly how many
//                               peers follow (n <= Capacity);
//   Add(peer, peer_id)          n times: a swarm::CompactPeerV4 or CompactPeerV6 (address
//                               then port big-endian, the bytes BEP 15 and BEP 23 send)
//                               and the peer's id (for HTTP's dictionary model).
// Begin and Add run under a store shard's lock: write into the reply, nothing else. Not
// called at all when the request is refused.
template <typename W>
concept AnnounceWriter = requires(W& w, AddressFamily family, const AnnounceReply& reply,
                                  uint32_t n, const swarm::CompactPeerV4& v4,
                                  const swarm::CompactPeerV6& v6,
                                  const swarm::PeerIdBytes& peer_id) {
  { w.Capacity(family) } -> std::convertible_to<uint32_t>;
  w.Begin(family, reply, n);
  w.Add(v4, peer_id);
  w.Add(v6, peer_id);
};

struct AnnounceOutcome {
  // Set: the request was refused, nothing was written; answer RefusalReason(*refusal).
  std::optional<Refusal> refusal;
  AnnounceReply reply;
  uint32_t peers = 0;  // written through the writer
  bool ok() const { return !refusal.has_value(); }
};

// Counts as every protocol reports them: at most INT32_MAX.
constexpr int32_t ClampCount(uint32_t n) {
  return static_cast<int32_t>(std::min<uint32_t>(n, std::numeric_limits<int32_t>::max()));
}
constexpr Counts ClampCounts(const swarm::SwarmCounts& counts) {
  return {ClampCount(counts.seeders), ClampCount(counts.leechers), ClampCount(counts.completed)};
}

// left == 0 is a seeder; anything else, and a left not given, a leecher.
constexpr bool IsSeeder(const std::optional<uint64_t>& left) {
  return left.has_value() && *left == 0;
}

// Where the peer is recorded: the address the request came from, the announced port.
constexpr Endpoint PeerEndpoint(const IpAddress& client, uint16_t announced_port) {
  return {client, announced_port};
}

class Tracker {
 public:
  // `store`, `access_list` and `clock` are shared by every worker's Tracker and outlive
  // them. `rng_seed` seeds this worker's peer selection.
  Tracker(const Options& options, swarm::TorrentStore& store, const AccessList& access_list,
          const Clock& clock, uint64_t rng_seed);
  // The same from what the workers share (which must outlive the Tracker).
  Tracker(const Shared& shared, uint64_t rng_seed)
      : Tracker(shared.options, *shared.store, *shared.access_list, *shared.clock, rng_seed) {}

  // Applies an announce and writes the answer through `writer`, or refuses it (port 0,
  // an info hash the access list refuses). Allocation-free unless the store adds a
  // torrent or a peer.
  template <AnnounceWriter Writer>
  AnnounceOutcome Announce(const Client& client, const AnnounceRequest& request,
                           Writer& writer);

  // Calls sink(const InfoHash&, const Counts&) for each hash of `hashes` (a range of
  // InfoHash with size()), in order; a hash the access list refuses gets zeros, as an
  // unknown torrent does, so a scrape does not tell whether the list holds it. Refuses
  // more than max_scrape_hashes (kTooManyHashes) without calling the sink.
  template <typename Hashes, typename Sink>
  std::optional<Refusal> Scrape(const Client& client, const Hashes& hashes, Sink&& sink);

  // The rules, for adapters whose peers are not endpoints (WebTorrent) and for tests.
  // CheckAnnounce: port 0, then CheckInfoHash. CheckInfoHash: the access list alone
  // (what a WebTorrent announce, which has no port, is checked against).
  std::optional<Refusal> CheckAnnounce(const AnnounceRequest& request) const;
  std::optional<Refusal> CheckInfoHash(const InfoHash& info_hash) const;
  uint32_t PeersWanted(const std::optional<uint32_t>& num_want) const;
  // The scrape counts of one hash, after the access list.
  Counts ScrapeOne(const Client& client, const InfoHash& info_hash);

  const Options& options() const { return options_; }
  const Clock& clock() const { return clock_; }
  const Counters& counters() const { return counters_; }

 private:
  // Passes the store's peers to the adapter's writer, and the counts as the core reports
  // them (clamped, with the intervals) to its Begin.
  template <typename Writer>
  struct StoreWriter {
    Writer& writer;
    const Options& options;
    AnnounceReply& reply;

    uint32_t Capacity(AddressFamily family) const {
      return static_cast<uint32_t>(writer.Capacity(family));
    }
    void Begin(AddressFamily family, const swarm::SwarmCounts& counts, uint32_t n) {
      reply = {ClampCounts(counts), options.announce_interval_s,
               options.min_announce_interval_s};
      writer.Begin(family, static_cast<const AnnounceReply&>(reply), n);
    }
    template <typename Peer>
    void Add(const Peer& peer, const swarm::PeerIdBytes& peer_id) {
      writer.Add(peer, peer_id);
    }
  };

  swarm::AnnounceRequest ToStoreRequest(const Client& client,
                                        const AnnounceRequest& request) const;

  const Options options_;
  swarm::TorrentStore& store_;
  const AccessList& access_list_;
  const Clock& clock_;
  swarm::Rng rng_;
  Counters counters_;
};

template <AnnounceWriter Writer>
AnnounceOutcome Tracker::Announce(const Client& client, const AnnounceRequest& request,
                                  Writer& writer) {
  AnnounceOutcome outcome;
  if (const std::optional<Refusal> refusal = CheckAnnounce(request)) {
    counters_.CountRefused(client.protocol, Action::kAnnounce, client.address.family,
                           *refusal);
    outcome.refusal = refusal;
    return outcome;
  }
  StoreWriter<Writer> store_writer{writer, options_, outcome.reply};
  const swarm::AnnounceResult result = store_.Announce(
      ToStoreRequest(client, request), clock_.MonotonicSeconds(), rng_, store_writer);
  outcome.peers = result.peers_written;
  counters_.CountServed(client.protocol, Action::kAnnounce, client.address.family);
  return outcome;
}

template <typename Hashes, typename Sink>
std::optional<Refusal> Tracker::Scrape(const Client& client, const Hashes& hashes,
                                       Sink&& sink) {
  if (hashes.size() > options_.max_scrape_hashes) {
    counters_.CountRefused(client.protocol, Action::kScrape, client.address.family,
                           Refusal::kTooManyHashes);
    return Refusal::kTooManyHashes;
  }
  for (const InfoHash& info_hash : hashes) sink(info_hash, ScrapeOne(client, info_hash));
  counters_.CountServed(client.protocol, Action::kScrape, client.address.family);
  return std::nullopt;
}

}  // namespace reef::tracker

#endif  // REEF_SERVER_TRACKER_TRACKER_H_
