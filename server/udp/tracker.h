// UdpTracker: what a UDP socket worker does with each datagram (BEP 15), as a thin
// adapter between BEP 15's bytes and the tracker core (server/tracker/tracker.h).
//
//   connect   -> a fresh stateless connection id for the sender's address
//   announce  -> (valid connection id) the core; the response carries up to num_want
//                peers of the sender's address family, written straight from the store
//                into the reply
//   scrape    -> (valid connection id) the core's counts of each hash, in request order
//   malformed -> a BEP 15 error response with the reason, but only when the parser read
//                a transaction id AND the connection id is valid for the sender; else
//                silence, so spoofed datagrams cannot make reef reflect traffic
//
// What is UDP's own stays here: connection ids (a forged or expired one never reaches
// the core: it gets silence, or, when configured, an error response), the BEP 15 byte
// layout, and the rule that only a proven sender gets an error. Everything an announce or
// scrape means (the peer's endpoint, port 0, the access list, num_want, left, events,
// counts) is the core's, shared with HTTP and WebTorrent.
#ifndef REEF_SERVER_UDP_TRACKER_H_
#define REEF_SERVER_UDP_TRACKER_H_

#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/common/ip_address.h"
#include "protocol/udp/messages.h"
#include "server/tracker/tracker.h"
#include "server/udp/connection_id.h"
#include "server/udp/event_loop.h"

namespace reef::udp {

struct UdpOptions {
  // Answer a forged or expired connection id with an error response instead of silence.
  // Off by default: an answer to a spoofed source is reflected traffic.
  bool reply_to_bad_connection_id = false;
};

// What happened to the datagrams that only UDP has, for metrics: the core counts
// announces, scrapes and refusals (tracker::Counters). Relaxed atomics: a worker writes,
// the metrics page reads.
struct UdpStats {
  std::array<std::atomic<uint64_t>, tracker::kFamilyCount> connects{};  // [AddressFamily]
  std::atomic<uint64_t> errors_sent{0};        // error responses, any reason
  std::atomic<uint64_t> malformed_answered{0}; // of those: the parser's reason
  std::atomic<uint64_t> bad_connection_ids{0}; // forged or expired: never served
  std::atomic<uint64_t> bad_connection_ids_answered{0};  // of those, given an error
  std::atomic<uint64_t> dropped{0};            // malformed and not answerable

  uint64_t Connects() const { return connects[0].load() + connects[1].load(); }
};

// The reason reef sends beyond the parser's own (udp::ErrorReason) and the core's
// (tracker::RefusalReason).
inline constexpr std::string_view kReasonBadConnectionId = "connection id expired or invalid";

class UdpTracker final : public DatagramHandler {
 public:
  // `core` is this worker's tracker core; `ids` is shared by every worker. Both must
  // outlive the UdpTracker.
  UdpTracker(const UdpOptions& options, tracker::Tracker& core, const ConnectionIds& ids);

  size_t Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                std::span<uint8_t> reply) override;

  const UdpStats& stats() const { return stats_; }

  // The largest reply Handle() can write with these core options: the event loop's reply
  // buffers must be at least this big.
  static size_t MaxReplySize(const tracker::Options& options);

 private:
  size_t Connect(const ConnectRequest& request, const IpAddress& client, int64_t now,
                 std::span<uint8_t> reply);
  size_t Announce(const AnnounceRequest& request, const IpAddress& client,
                  std::span<uint8_t> reply);
  size_t Scrape(const ScrapeRequest& request, const IpAddress& client,
                std::span<uint8_t> reply);
  size_t Error(uint32_t transaction_id, std::string_view reason, std::span<uint8_t> reply);

  const UdpOptions options_;
  tracker::Tracker& core_;
  const ConnectionIds& ids_;
  UdpStats stats_;
};

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_TRACKER_H_
