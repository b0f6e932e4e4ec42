#include "server/http/http_tracker.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <variant>

#include "protocol/http/errors.h"
#include "protocol/http/response.h"
#include "server/http/response_size.h"
#include "server/tracker/from_wire.h"

namespace reef::http_server {
namespace {

// The core's answer as an HTTP announce response, written front to back into the
// connection's output: the head, then the body's counts and the peer list's length
// prefix once the core says how many peers follow, then each peer from the store.
class AnnounceResponseWriter {
 public:
  AnnounceResponseWriter(std::span<uint8_t> out, bool keep_alive, bool compact, bool with_peer_id)
      : http_(out, 200, keep_alive), compact_(compact), with_peer_id_(with_peer_id) {}

  uint32_t Capacity(AddressFamily family) const {
    const size_t room = http_.body().size();
    if (room <= kAnnounceBodyBytes) return 0;
    const size_t per_peer = !compact_ ? kDictPeerBytes
                            : family == AddressFamily::kV4 ? http::kCompactPeerBytes
                                                            : http::kCompactPeer6Bytes;
    return static_cast<uint32_t>(std::min<size_t>((room - kAnnounceBodyBytes) / per_peer,
                                                  std::numeric_limits<uint32_t>::max()));
  }

  void Begin(AddressFamily family, const tracker::AnnounceReply& reply, uint32_t n) {
    http::AnnounceCounts counts;
    counts.interval = reply.interval_s;
    counts.min_interval = reply.min_interval_s;
    counts.complete = reply.counts.seeders;
    counts.incomplete = reply.counts.leechers;
    body_.emplace(http_.body(), counts);
    if (!compact_) {
      body_->BeginPeerList();
    } else if (family == AddressFamily::kV4) {
      body_->BeginPeers(n);
    } else {
      body_->BeginPeers6(n);  // "peers" stays empty
    }
  }

  void Add(const swarm::CompactPeerV4& peer, const swarm::PeerIdBytes& peer_id) {
    const uint16_t port = static_cast<uint16_t>(peer[4] << 8 | peer[5]);
    if (compact_) {
      body_->AddPeer(std::span<const uint8_t, 4>(peer.data(), 4), port);
    } else {
      AddDict(IpAddress::V4({peer[0], peer[1], peer[2], peer[3]}), port, peer_id);
    }
  }
  void Add(const swarm::CompactPeerV6& peer, const swarm::PeerIdBytes& peer_id) {
    const uint16_t port = static_cast<uint16_t>(peer[16] << 8 | peer[17]);
    if (compact_) {
      body_->AddPeer6(std::span<const uint8_t, 16>(peer.data(), 16), port);
    } else {
      std::array<uint8_t, 16> address;
      std::memcpy(address.data(), peer.data(), 16);
      AddDict(IpAddress::V6(address), port, peer_id);
    }
  }

  // The whole response's length; 0 if something did not fit (it always does: Capacity).
  size_t Finish() {
    if (!body_.has_value()) return 0;
    if (!compact_) body_->EndPeerList();
    const WriteResult total = http_.Finish(body_->Finish());
    return total.ok() ? total.length() : 0;
  }

 private:
  void AddDict(const IpAddress& address, uint16_t port, const swarm::PeerIdBytes& peer_id) {
    const PeerId id(peer_id);
    body_->AddPeerDict(address, port, with_peer_id_ ? &id : nullptr);
  }

  http::HttpResponseWriter http_;
  std::optional<http::AnnounceBodyWriter> body_;
  const bool compact_;
  const bool with_peer_id_;
};
static_assert(tracker::AnnounceWriter<AnnounceResponseWriter>);

}  // namespace

HttpTracker::HttpTracker(const HttpTrackerOptions& options, tracker::Tracker& core)
    : options_(options),
      core_(core),
      max_response_bytes_(std::max(MaxResponseBytes(core.options()),
                                   kResponseHeadBytes + options.max_page_bytes)) {
  query_limits_.max_scrape_info_hashes = core.options().max_scrape_hashes;
  scrape_hashes_.reserve(core.options().max_scrape_hashes);
}

size_t HttpTracker::MaxResponseBytes(const tracker::Options& options) {
  return MaxHttpResponseBytes(options.max_response_peers, options.max_scrape_hashes);
}

tcp::HandlerResponse HttpTracker::Respond(const http::Request& request,
                                          const tcp::RequestContext& context, bool keep_alive,
                                          std::span<uint8_t> out) {
  const bool announce = request.path == "/announce";
  const bool scrape = request.path == "/scrape";
  if (!announce && !scrape) {
    const HttpPage* page =
        options_.pages == nullptr ? nullptr : FindHttpPage(options_.pages->pages, request.path);
    if (page != nullptr) return {Page(*page, keep_alive, out), false};
    return {Failure(kReasonUnknownPath, keep_alive, out, 404), false};
  }
  const auto address = ResolveClientAddress(context.peer.address, request, options_.proxy);
  if (const auto* reason = std::get_if<std::string_view>(&address)) {
    return {Failure(*reason, keep_alive, out), false};
  }
  const tracker::Client client{context.tls ? tracker::Protocol::kHttps : tracker::Protocol::kHttp,
                               std::get<IpAddress>(address)};
  return {announce ? Announce(request, client, keep_alive, out)
                   : Scrape(request, client, keep_alive, out),
          false};
}

size_t HttpTracker::Announce(const http::Request& request, const tracker::Client& client,
                             bool keep_alive, std::span<uint8_t> out) {
  auto parsed = http::ParseAnnounceQuery(request.query, query_limits_);
  if (!parsed.ok()) return Failure(http::ErrorReason(parsed.error()), keep_alive, out);
  const http::AnnounceRequest& query = parsed.value();
  AnnounceResponseWriter writer(out, keep_alive, query.compact.value_or(true), !query.no_peer_id);
  const tracker::AnnounceOutcome outcome = core_.Announce(client, tracker::FromHttp(query), writer);
  if (!outcome.ok()) return Failure(tracker::RefusalReason(*outcome.refusal), keep_alive, out);
  return writer.Finish();
}

size_t HttpTracker::Scrape(const http::Request& request, const tracker::Client& client,
                           bool keep_alive, std::span<uint8_t> out) {
  auto parsed = http::ParseScrapeQuery(request.query, query_limits_);
  if (!parsed.ok()) return Failure(http::ErrorReason(parsed.error()), keep_alive, out);
  // A bencoded dictionary's keys are sorted and unique: sort the hashes first (a client
  // that asks twice for one hash gets it once).
  scrape_hashes_.clear();
  for (const InfoHash& hash : parsed.value().info_hashes) scrape_hashes_.push_back(hash);
  const size_t unique = http::SortUniqueInfoHashes(scrape_hashes_);
  http::HttpResponseWriter http(out, 200, keep_alive);
  http::ScrapeBodyWriter body(http.body());
  const std::optional<tracker::Refusal> refusal =
      core_.Scrape(client, std::span<const InfoHash>(scrape_hashes_).first(unique),
                   [&body](const InfoHash& hash, const tracker::Counts& counts) {
                     body.AddFile(hash, {counts.seeders, counts.completed, counts.leechers});
                   });
  if (refusal.has_value()) return Failure(tracker::RefusalReason(*refusal), keep_alive, out);
  const WriteResult total = http.Finish(body.Finish());
  return total.ok() ? total.length() : 0;
}

size_t HttpTracker::Page(const HttpPage& page, bool keep_alive, std::span<uint8_t> out) {
  const std::string body = page.render();
  http::HttpResponseWriter http(out, 200, keep_alive, page.content_type);
  if (body.size() > options_.max_page_bytes || body.size() > http.body().size()) {
    return Failure(kReasonPageTooLarge, keep_alive, out, 503);
  }
  std::memcpy(http.body().data(), body.data(), body.size());
  const WriteResult total = http.Finish(body.size());
  return total.ok() ? total.length() : 0;
}

size_t HttpTracker::Failure(std::string_view reason, bool keep_alive, std::span<uint8_t> out,
                            int status) {
  const WriteResult written = http::WriteFailureResponse(reason, keep_alive, out, status);
  return written.ok() ? written.length() : 0;
}

}  // namespace reef::http_server
