// UdpTracker: what a UDP socket worker does with each datagram (BEP 15).
//
//   connect   -> a fresh stateless connection id for the sender's address
//   announce  -> (valid connection id) the swarm store; the response carries up to
//                num_want peers of the sender's address family, written straight from
//                the store into the reply
//   scrape    -> (valid connection id) the counts of each hash, in request order
//   malformed -> a BEP 15 error response with the reason, but only when the parser read
//                a transaction id AND the connection id is valid for the sender; else
//                silence, so spoofed datagrams cannot make reef reflect traffic
//
// A forged or expired connection id never reaches the store: it gets silence, or (when
// configured) an error response. The announced `ip` field is ignored: a peer is always
// recorded at the address its datagram came from, with the port it announced.
#ifndef REEF_SERVER_UDP_TRACKER_H_
#define REEF_SERVER_UDP_TRACKER_H_

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/udp/messages.h"
#include "server/common/access_list.h"
#include "server/swarm/rng.h"
#include "server/swarm/torrent_store.h"
#include "server/udp/connection_id.h"
#include "server/udp/event_loop.h"

namespace reef::udp {

// Times the tracker needs, injectable for tests.
class TrackerClock {
 public:
  virtual ~TrackerClock() = default;
  // Wall-clock seconds (connection ids, which instances sharing a secret must agree on).
  virtual int64_t WallSeconds() const;
  // Monotonic seconds (peer activity in the store).
  virtual int64_t MonotonicSeconds() const;
};

struct TrackerOptions {
  // Seconds a client should wait between announces.
  int32_t announce_interval_s = 1800;
  // Peers in a response when the client leaves num_want at -1 (or asks for more). At
  // most the store's max_response_peers.
  uint32_t max_response_peers = 50;
  // Info hashes per scrape; at most kMaxScrapeHashes (what fits in one datagram).
  size_t max_scrape_hashes = kMaxScrapeHashes;
  // Answer a forged or expired connection id with an error response instead of silence.
  // Off by default: an answer to a spoofed source is reflected traffic.
  bool reply_to_bad_connection_id = false;
};

// What happened to the datagrams, for metrics. Relaxed atomics: a worker writes, the
// metrics page reads.
struct TrackerStats {
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> announces{0};
  std::atomic<uint64_t> scrapes{0};
  std::atomic<uint64_t> errors_sent{0};        // error responses, any reason
  std::atomic<uint64_t> bad_connection_ids{0}; // forged or expired: never served
  std::atomic<uint64_t> dropped{0};            // malformed and not answerable
  std::atomic<uint64_t> refused_info_hashes{0};// the access list said no
};

// Reasons reef sends beyond the parser's own (udp::ErrorReason).
inline constexpr std::string_view kReasonBadConnectionId = "connection id expired or invalid";
inline constexpr std::string_view kReasonPortZero = "port must be 1-65535";
inline constexpr std::string_view kReasonNotAllowed = "info_hash not allowed on this tracker";
inline constexpr std::string_view kReasonTooManyHashes = "too many info hashes in one scrape";

class UdpTracker final : public DatagramHandler {
 public:
  // `store`, `access_list`, `ids` and `clock` must outlive the tracker; several trackers
  // (one per worker) share them. `rng_seed` seeds this worker's peer selection.
  UdpTracker(const TrackerOptions& options, swarm::TorrentStore& store,
             const AccessList& access_list, const ConnectionIds& ids, const TrackerClock& clock,
             uint64_t rng_seed);

  size_t Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                std::span<uint8_t> reply) override;

  const TrackerStats& stats() const { return stats_; }

  // The largest reply Handle() can write with these options: the event loop's reply
  // buffers must be at least this big.
  static size_t MaxReplySize(const TrackerOptions& options);

 private:
  size_t Connect(const ConnectRequest& request, const ClientAddress& client, int64_t now,
                 std::span<uint8_t> reply);
  size_t Announce(const AnnounceRequest& request, const sockaddr_storage& from,
                  std::span<uint8_t> reply);
  size_t Scrape(const ScrapeRequest& request, std::span<uint8_t> reply);
  size_t Error(uint32_t transaction_id, std::string_view reason, std::span<uint8_t> reply);

  const TrackerOptions options_;
  swarm::TorrentStore& store_;
  const AccessList& access_list_;
  const ConnectionIds& ids_;
  const TrackerClock& clock_;
  swarm::Rng rng_;
  TrackerStats stats_;
};

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_TRACKER_H_
