// WebTorrentTracker: what a socket worker does with each WebTorrent message (the JSON
// text of protocol/ws/webtorrent.h), over the shared WebTorrentSwarm.
//
//   announce       -> the peer's entry is added or refreshed (or removed: `stopped`); the
//                     client gets {complete, incomplete, interval, info_hash}; each of its
//                     offers goes to a different other peer of the torrent, at random,
//                     at most min(offers, numwant) of them (numwant missing: one per
//                     offer), never the sender, each offer to at most one peer
//   answer         -> (an announce with `answer`, `to_peer_id`, `offer_id`) forwarded to
//                     the connection holding to_peer_id on that torrent, if the sender
//                     holds its own peer id there; else dropped and counted. No reply, and
//                     no change to the swarm: an answer carries no `left`
//   scrape         -> one info hash or an array of them: complete, incomplete, downloaded
//   anything else  -> {"failure reason": ...} with the parser's reason (and the action and
//                     info hash when they are known, so bittorrent-tracker's client takes
//                     it as a warning instead of dropping its socket); the connection
//                     stays open
//
// `left` given: 0 is a seeder, anything else a leecher. `left` missing or null (a
// browser that does not know the size yet, a magnet link) is a leecher, except with
// event `completed`, which says the client has everything.
//
// Refusals, each with a failure reason and a counter: a torrent the access list refuses,
// more offers than max_offers, more info hashes than max_scrape_hashes, a peer id another
// connection holds on that torrent, more than max_torrents_per_connection entries on one
// connection, the store's budget.
//
// The tracker keeps nothing per connection itself: the caller owns each connection's
// PeerSession (what it announced) and calls OnClosing when the connection ends, which
// removes every entry it made at once. Relayed frames go out through a Relay, which
// knows where connections live (this worker, or another one's mailbox).
//
// One tracker per socket worker; not thread-safe. Allocates nothing per message except
// what the swarm allocates for new entries and torrents.
#ifndef REEF_SERVER_WS_WEBTORRENT_TRACKER_H_
#define REEF_SERVER_WS_WEBTORRENT_TRACKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "protocol/ws/webtorrent.h"
#include "server/common/access_list.h"
#include "server/swarm/rng.h"
#include "server/ws/connection.h"
#include "server/ws/webtorrent_swarm.h"

namespace reef::ws {

// Defaults of the tracker's limits ([ws] keys).
//
// bittorrent-tracker's clients send 5 offers (browsers and Node alike); aquatic_ws
// accepts 10, as does the protocol library (kMaxOffers).
inline constexpr size_t kDefaultMaxOffers = kMaxOffers;
inline constexpr size_t kDefaultMaxScrapeHashes = kMaxScrapeInfoHashes;
// One browser tab seeding or leeching many torrents shares one WebSocket per tracker;
// 100 swarm entries per connection is far more than a page holds, and bounds what one
// connection can make the store hold.
inline constexpr size_t kDefaultMaxTorrentsPerConnection = 100;
inline constexpr size_t kMaxTorrentsPerConnectionLimit = 100'000;
// What bittorrent-tracker tells WebSocket clients: re-announce every 2 minutes.
inline constexpr uint32_t kDefaultWsAnnounceIntervalS = 120;

struct WebTorrentOptions {
  uint32_t announce_interval_s = kDefaultWsAnnounceIntervalS;
  size_t max_offers = kDefaultMaxOffers;                // 1..kMaxOffers
  size_t max_scrape_hashes = kDefaultMaxScrapeHashes;   // 1..kMaxScrapeInfoHashes
  size_t max_torrents_per_connection = kDefaultMaxTorrentsPerConnection;
  // The largest message a client may send (the connection refuses bigger ones); relayed
  // messages are built in a buffer this size plus room for the fields the tracker adds.
  size_t max_message_size = kDefaultMaxMessageSize;
};

absl::Status ValidateWebTorrentOptions(const WebTorrentOptions& options);

// Failure reasons reef sends beyond the parser's own (ErrorReason(MessageError)).
inline constexpr std::string_view kReasonNotAllowed = "info_hash not allowed on this tracker";
inline constexpr std::string_view kReasonTooManyOffers = "too many offers";
inline constexpr std::string_view kReasonTooManyInfoHashes = "too many info hashes";
inline constexpr std::string_view kReasonPeerIdInUse =
    "peer_id is in use on this torrent by another connection";
inline constexpr std::string_view kReasonTooManyTorrents = "too many torrents on one connection";
inline constexpr std::string_view kReasonTrackerFull = "tracker is full";

// Where relayed frames go.
class Relay {
 public:
  virtual ~Relay() = default;
  // Delivers a whole server frame (unmasked text) to connection `to`. The relay drops it
  // (and counts) if `to` is gone or cannot take it now.
  virtual void Deliver(const ConnectionHandle& to, std::span<const uint8_t> frame) = 0;
};

// What one connection has announced: the entries to remove when it ends.
struct PeerSession {
  struct Entry {
    InfoHash info_hash;
    PeerId peer_id;
  };
  ConnectionHandle handle;
  std::vector<Entry> entries;  // at most max_torrents_per_connection
};

// Counters of one worker's tracker. Relaxed atomics, one writer (see Bump).
struct WebTorrentStats {
  std::atomic<uint64_t> announces{0};
  std::atomic<uint64_t> answers{0};
  std::atomic<uint64_t> scrapes{0};
  std::atomic<uint64_t> offers_relayed{0};      // handed to Relay::Deliver
  std::atomic<uint64_t> answers_relayed{0};
  std::atomic<uint64_t> answers_no_peer{0};     // to_peer_id not on that torrent: dropped
  std::atomic<uint64_t> answers_not_in_swarm{0};// sender does not hold its peer id there
  std::atomic<uint64_t> errors_sent{0};         // failure reasons, any cause
  std::atomic<uint64_t> refused_access{0};
  std::atomic<uint64_t> refused_not_owner{0};
  std::atomic<uint64_t> refused_full{0};
  std::atomic<uint64_t> refused_too_many_torrents{0};
  std::atomic<uint64_t> relay_too_big{0};       // a relayed message over the buffer: dropped
  std::atomic<uint64_t> entries_removed_on_close{0};
};

class WebTorrentTracker {
 public:
  // `options` must pass ValidateWebTorrentOptions. `swarm`, `access_list` and `relay`
  // outlive the tracker.
  WebTorrentTracker(const WebTorrentOptions& options, WebTorrentSwarm& swarm,
                    const AccessList& access_list, Relay& relay, uint64_t rng_seed);

  // Handles one text message from `connection`, whose session is `session`. `now_s` is
  // the store's clock (monotonic seconds).
  void OnMessage(PeerSession& session, WsConnection& connection, std::string_view message,
                 int64_t now_s);
  // The connection ends: every entry it made leaves the swarm now.
  void OnClosing(PeerSession& session);

  const WebTorrentStats& stats() const { return stats_; }

  // Bytes of the buffer relayed frames are built in.
  static size_t RelayBufferSize(const WebTorrentOptions& options);

 private:
  void Announce(PeerSession& session, WsConnection& connection, const AnnounceRequest& request,
                int64_t now_s);
  void Answer(PeerSession& session, const AnnounceRequest& request, int64_t now_s);
  void Scrape(WsConnection& connection, const ScrapeRequest& request);
  void SendError(WsConnection& connection, std::optional<Action> action,
                 std::optional<InfoHash> info_hash, std::string_view reason);
  template <typename Message>
  void Reply(WsConnection& connection, const Message& message);
  // Writes `message` as a whole server frame into the relay buffer; empty if too big.
  template <typename Message>
  std::span<const uint8_t> BuildFrame(const Message& message);

  const WebTorrentOptions options_;
  WebTorrentSwarm& swarm_;
  const AccessList& access_list_;
  Relay& relay_;
  swarm::Rng rng_;
  // Replies and relayed frames are built here (not zeroed: only written bytes are read).
  const size_t buffer_size_;
  std::unique_ptr<uint8_t[]> buffer_data_;
  std::span<uint8_t> buffer_;
  WebTorrentStats stats_;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_WEBTORRENT_TRACKER_H_
