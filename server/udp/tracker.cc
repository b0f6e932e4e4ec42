#include "server/udp/tracker.h"

#include <netinet/in.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <variant>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"

namespace reef::udp {
namespace {

int64_t ClockSeconds(clockid_t clock) {
  timespec now{};
  clock_gettime(clock, &now);
  return static_cast<int64_t>(now.tv_sec);
}

swarm::AnnounceEvent ToStoreEvent(AnnounceEvent event) {
  switch (event) {
    case AnnounceEvent::kStarted: return swarm::AnnounceEvent::kStarted;
    case AnnounceEvent::kStopped: return swarm::AnnounceEvent::kStopped;
    case AnnounceEvent::kCompleted: return swarm::AnnounceEvent::kCompleted;
    case AnnounceEvent::kNone: break;
  }
  return swarm::AnnounceEvent::kNone;
}

// The sender's address with the announced port; IPv4-mapped IPv6 becomes IPv4.
swarm::PeerEndpoint EndpointOf(const sockaddr_storage& from, uint16_t port) {
  if (from.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(from);
    std::array<uint8_t, 4> address;
    std::memcpy(address.data(), &in4.sin_addr, 4);
    return swarm::PeerEndpoint::V4(address, port);
  }
  const auto& in6 = reinterpret_cast<const sockaddr_in6&>(from);
  std::array<uint8_t, 16> address;
  std::memcpy(address.data(), &in6.sin6_addr, 16);
  return swarm::PeerEndpoint::V6(address, port).Canonical();
}

int32_t Clamp32(uint32_t n) { return static_cast<int32_t>(std::min<uint32_t>(n, INT32_MAX)); }

}  // namespace

int64_t TrackerClock::WallSeconds() const { return ClockSeconds(CLOCK_REALTIME_COARSE); }
int64_t TrackerClock::MonotonicSeconds() const { return ClockSeconds(CLOCK_MONOTONIC_COARSE); }

UdpTracker::UdpTracker(const TrackerOptions& options, swarm::TorrentStore& store,
                       const AccessList& access_list, const ConnectionIds& ids,
                       const TrackerClock& clock, uint64_t rng_seed)
    : options_(options),
      store_(store),
      access_list_(access_list),
      ids_(ids),
      clock_(clock),
      rng_(rng_seed) {}

size_t UdpTracker::MaxReplySize(const TrackerOptions& options) {
  const size_t announce = kAnnounceResponseHeaderSize + options.max_response_peers * kPeerV6Size;
  const size_t scrape = kScrapeResponseHeaderSize + options.max_scrape_hashes * kTorrentStatsSize;
  const size_t error = kErrorResponseHeaderSize + kMaxErrorMessageSize;
  return std::max({announce, scrape, error, kConnectResponseSize});
}

size_t UdpTracker::Handle(const sockaddr_storage& from, std::span<const uint8_t> request,
                          std::span<uint8_t> reply) {
  const std::optional<ClientAddress> client = ClientAddress::FromSockaddr(from);
  if (!client) return 0;
  const int64_t now = clock_.WallSeconds();
  const RequestResult parsed = ParseRequest(request);
  if (!parsed.ok()) {
    // Answer only a sender that proved its address with a connection id.
    if (parsed.sendable() && ids_.Valid(parsed.connection_id(), *client, now)) {
      return Error(parsed.transaction_id(), ErrorReason(parsed.error()), reply);
    }
    stats_.dropped.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  if (const auto* connect = std::get_if<ConnectRequest>(&parsed.value())) {
    return Connect(*connect, *client, now, reply);
  }
  // Announce and scrape: the connection id must be ours, for this address, and fresh.
  if (!ids_.Valid(parsed.connection_id(), *client, now)) {
    stats_.bad_connection_ids.fetch_add(1, std::memory_order_relaxed);
    return options_.reply_to_bad_connection_id
               ? Error(parsed.transaction_id(), kReasonBadConnectionId, reply)
               : 0;
  }
  if (const auto* announce = std::get_if<AnnounceRequest>(&parsed.value())) {
    return Announce(*announce, from, reply);
  }
  return Scrape(std::get<ScrapeRequest>(parsed.value()), reply);
}

size_t UdpTracker::Connect(const ConnectRequest& request, const ClientAddress& client,
                           int64_t now, std::span<uint8_t> reply) {
  stats_.connects.fetch_add(1, std::memory_order_relaxed);
  const WriteResult written =
      WriteConnectResponse({request.transaction_id, ids_.Mint(client, now)}, reply);
  return written.ok() ? written.length() : 0;
}

size_t UdpTracker::Announce(const AnnounceRequest& request, const sockaddr_storage& from,
                            std::span<uint8_t> reply) {
  if (request.port == 0) return Error(request.transaction_id, kReasonPortZero, reply);
  if (!access_list_.Allows(request.info_hash)) {
    stats_.refused_info_hashes.fetch_add(1, std::memory_order_relaxed);
    return Error(request.transaction_id, kReasonNotAllowed, reply);
  }
  stats_.announces.fetch_add(1, std::memory_order_relaxed);
  swarm::AnnounceRequest store_request;
  store_request.info_hash = request.info_hash;
  store_request.peer_id = request.peer_id;
  store_request.endpoint = EndpointOf(from, request.port);
  // BEP 15 sends left as a signed 64-bit number; a negative one cannot mean "complete".
  store_request.left = request.left < 0 ? UINT64_MAX : static_cast<uint64_t>(request.left);
  store_request.event = ToStoreEvent(request.event);
  store_request.peers_wanted =
      request.num_want < 0
          ? options_.max_response_peers
          : std::min(static_cast<uint32_t>(request.num_want), options_.max_response_peers);
  const IpFamily family =
      store_request.endpoint.family == swarm::AddressFamily::kV6 ? IpFamily::kV6 : IpFamily::kV4;
  if (reply.size() < kAnnounceResponseHeaderSize) return 0;
  // The store writes compact peers straight after the header's place; the header, which
  // needs the counts the announce produces, is written last.
  const swarm::AnnounceResult result = store_.AnnounceCompact(
      store_request, clock_.MonotonicSeconds(), reply.subspan(kAnnounceResponseHeaderSize), rng_);
  AnnounceResponseWriter header(reply.first(kAnnounceResponseHeaderSize), family,
                                {request.transaction_id, options_.announce_interval_s,
                                 Clamp32(result.counts.leechers), Clamp32(result.counts.seeders)});
  const WriteResult written = header.Finish();
  if (!written.ok()) return 0;
  return written.length() + result.peers_written * PeerSize(family);
}

size_t UdpTracker::Scrape(const ScrapeRequest& request, std::span<uint8_t> reply) {
  if (request.info_hashes.size() > options_.max_scrape_hashes) {
    return Error(request.transaction_id, kReasonTooManyHashes, reply);
  }
  stats_.scrapes.fetch_add(1, std::memory_order_relaxed);
  ScrapeResponseWriter writer(reply, request.transaction_id);
  for (const InfoHash& info_hash : request.info_hashes) {
    // A refused hash scrapes as unknown, without saying whether the list holds it.
    TorrentStats stats;
    if (access_list_.Allows(info_hash)) {
      const swarm::SwarmCounts counts = store_.Scrape(info_hash);
      stats = {Clamp32(counts.seeders), Clamp32(counts.completed), Clamp32(counts.leechers)};
    }
    writer.Add(stats);
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
