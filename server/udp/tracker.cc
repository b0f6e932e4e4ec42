#include "server/udp/tracker.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <variant>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/common/socket_address.h"
#include "server/tracker/from_wire.h"

namespace reef::udp {
namespace {

// The core's answer as a BEP 15 announce response, written in one pass into the reply:
// the 20-byte header when the core says how many peers follow, then each peer's compact
// entry straight from the store.
class AnnounceReplyWriter {
 public:
  // `reply` holds at least kAnnounceResponseHeaderSize bytes.
  AnnounceReplyWriter(std::span<uint8_t> reply, uint32_t transaction_id)
      : reply_(reply), transaction_id_(transaction_id), next_(reply.data()) {}

  uint32_t Capacity(AddressFamily family) const {
    return static_cast<uint32_t>(
        std::min<size_t>((reply_.size() - kAnnounceResponseHeaderSize) / PeerSize(family),
                         std::numeric_limits<uint32_t>::max()));
  }
  void Begin(AddressFamily family, const tracker::AnnounceReply& answer, uint32_t) {
    AnnounceResponseWriter header(reply_.first(kAnnounceResponseHeaderSize), family,
                                  {transaction_id_, answer.interval_s,
                                   answer.counts.leechers, answer.counts.seeders});
    header_ok_ = header.Finish().ok();
    next_ = reply_.data() + kAnnounceResponseHeaderSize;
  }
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const swarm::PeerIdBytes&) {
    std::memcpy(next_, peer.data(), N);
    next_ += N;
  }
  // The reply's length; 0 if the header could not be written.
  size_t length() const { return header_ok_ ? static_cast<size_t>(next_ - reply_.data()) : 0; }

 private:
  std::span<uint8_t> reply_;
  uint32_t transaction_id_;
  uint8_t* next_;
  bool header_ok_ = false;
};
static_assert(tracker::AnnounceWriter<AnnounceReplyWriter>);

}  // namespace

UdpTracker::UdpTracker(const UdpOptions& options, tracker::Tracker& core,
                       const ConnectionIds& ids)
    : options_(options), core_(core), ids_(ids) {}

size_t UdpTracker::MaxReplySize(const tracker::Options& options) {
  const size_t announce = kAnnounceResponseHeaderSize + options.max_response_peers * kPeerV6Size;
  const size_t scrape = kScrapeResponseHeaderSize + options.max_scrape_hashes * kTorrentStatsSize;
  const size_t error = kErrorResponseHeaderSize + kMaxErrorMessageSize;
  return std::max({announce, scrape, error, kConnectResponseSize});
}

size_t UdpTracker::Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                          std::span<uint8_t> reply) {
  const std::optional<Endpoint> sender = ClientEndpoint(from);
  if (!sender) return 0;
  const IpAddress& client = sender->address;
  const int64_t now = core_.clock().WallSeconds();
  const RequestResult parsed = ParseRequest(request);
  if (!parsed.ok()) {
    // Answer only a sender that proved its address with a connection id.
    if (parsed.sendable() && ids_.Valid(parsed.connection_id(), client, now)) {
      stats_.malformed_answered.fetch_add(1, std::memory_order_relaxed);
      return Error(parsed.transaction_id(), ErrorReason(parsed.error()), reply);
    }
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (const auto* connect = std::get_if<ConnectRequest>(&parsed.value())) {
    return Connect(*connect, client, now, reply);
  }
  // Announce and scrape: the connection id must be ours, for this address, and fresh.
  if (!ids_.Valid(parsed.connection_id(), client, now)) {
    stats_.bad_connection_ids.fetch_add(1, std::memory_order_relaxed);
    if (!options_.reply_to_bad_connection_id) return 0;
    stats_.bad_connection_ids_answered.fetch_add(1, std::memory_order_relaxed);
    return Error(parsed.transaction_id(), kReasonBadConnectionId, reply);
  }
  if (const auto* announce = std::get_if<AnnounceRequest>(&parsed.value())) {
    return Announce(*announce, client, reply);
  }
  return Scrape(std::get<ScrapeRequest>(parsed.value()), client, reply);
}

size_t UdpTracker::Connect(const ConnectRequest& request, const IpAddress& client,
                           int64_t now, std::span<uint8_t> reply) {
  stats_.connects[static_cast<size_t>(client.family)].fetch_add(1, std::memory_order_relaxed);
  const WriteResult written =
      WriteConnectResponse({request.transaction_id, ids_.Mint(client, now)}, reply);
  return written.ok() ? written.length() : 0;
}

size_t UdpTracker::Announce(const AnnounceRequest& request, const IpAddress& client,
                            std::span<uint8_t> reply) {
  if (reply.size() < kAnnounceResponseHeaderSize) return 0;
  AnnounceReplyWriter writer(reply, request.transaction_id);
  const tracker::AnnounceOutcome outcome =
      core_.Announce({tracker::Protocol::kUdp, client}, tracker::FromUdp(request), writer);
  if (!outcome.ok()) {
    return Error(request.transaction_id, tracker::RefusalReason(*outcome.refusal), reply);
  }
  return writer.length();
}

size_t UdpTracker::Scrape(const ScrapeRequest& request, const IpAddress& client,
                          std::span<uint8_t> reply) {
  ScrapeResponseWriter writer(reply, request.transaction_id);
  const std::optional<tracker::Refusal> refusal = core_.Scrape(
      {tracker::Protocol::kUdp, client}, request.info_hashes,
      [&writer](const InfoHash&, const tracker::Counts& counts) {
        writer.Add({counts.seeders, counts.completed, counts.leechers});
      });
  if (refusal.has_value()) {
    return Error(request.transaction_id, tracker::RefusalReason(*refusal), reply);
  }
  const WriteResult written = writer.Finish();
  return written.ok() ? written.length() : 0;
}

size_t UdpTracker::Error(uint32_t transaction_id, std::string_view reason,
                         std::span<uint8_t> reply) {
  const WriteResult written = WriteErrorResponse({transaction_id, reason}, reply);
  if (!written.ok()) return 0;
  stats_.errors_sent.fetch_add(1, std::memory_order_relaxed);
  return written.length();
}

}  // namespace reef::udp
