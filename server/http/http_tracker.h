// HttpTracker: what an HTTP(S) socket worker does with each request (BEP 3, 23, 7, 48),
// a thin adapter from protocol/http to the tracker core (server/tracker/tracker.h).
//
//   GET /announce?...  -> the core's announce; the answer is written in one pass from the
//                         store into the connection's output: compact by default ("peers",
//                         6 bytes a peer; an IPv6 client gets "peers6", 18 bytes a peer,
//                         and an empty "peers"); compact=0 gives BEP 3's list of
//                         dictionaries, with "peer id" unless no_peer_id=1
//   GET /scrape?...    -> the core's counts per info hash ("files", sorted, each hash once)
//   GET /scrape        -> "full scrapes are not supported" (see full_scrape.h when on)
//   GET <a page's path> -> the page (HttpTrackerOptions::pages: the statistics page and
//                         its JSON), as its content type, whole
//   anything else      -> 404 with a bencoded failure reason
//
// Every refusal reaches the client as a bencoded "failure reason" naming what was wrong:
// the query parser's reasons ("info_hash must be 20 bytes", ...), the core's ("port must
// be 1-65535", "info_hash not allowed on this tracker", ...), the reverse-proxy header's.
// Trackers answer failures with status 200, because clients show the reason only from a
// 200 response; only an unknown path is a 404 (and the connection layer's refusals of a
// malformed head keep their 4xx).
//
// The peer recorded for an announce is the address the request came from (the TCP peer,
// or a trusted proxy's header, client_address.h) with the announced port; the `ip`,
// `ipv4` and `ipv6` parameters are ignored, as UDP ignores its ip field. A missing `left`
// (magnet clients before they have the metadata) makes the client a leecher: the core's
// rule for every protocol.
#ifndef REEF_SERVER_HTTP_HTTP_TRACKER_H_
#define REEF_SERVER_HTTP_HTTP_TRACKER_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "protocol/common/fixed_bytes.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "server/common/http_page.h"
#include "server/http/client_address.h"
#include "server/tcp/handler.h"
#include "server/tracker/tracker.h"

namespace reef::http_server {

struct HttpTrackerOptions {
  ProxyPolicy proxy;
  // Pages served besides /announce and /scrape (the statistics page), or null. Read per
  // request, so they may be filled in after the handler is made, before it serves.
  const HttpPages* pages = nullptr;
  // The body room a page gets: MaxResponseBytes() grows to hold it (BuildHttpWorkers sets
  // pages->max_body_bytes, or 0 when http.max_output_size cannot hold that). A page
  // larger than this is answered 503 with a reason, never cut short.
  size_t max_page_bytes = 0;
};

// The reason an unknown path gets, with status 404.
inline constexpr std::string_view kReasonUnknownPath =
    "unknown path: this tracker serves /announce and /scrape";
// The reason a page larger than its room gets, with status 503.
inline constexpr std::string_view kReasonPageTooLarge =
    "this page is larger than http.max_output_size allows";

class HttpTracker final : public tcp::HttpHandler {
 public:
  // `core` is this worker's tracker core and outlives the handler.
  HttpTracker(const HttpTrackerOptions& options, tracker::Tracker& core);

  // The largest response for the core's options (peers per answer, hashes per scrape).
  static size_t MaxResponseBytes(const tracker::Options& options);
  size_t MaxResponseBytes() const override { return max_response_bytes_; }

  tcp::HandlerResponse Respond(const http::Request& request, const tcp::RequestContext& context,
                               bool keep_alive, std::span<uint8_t> out) override;

  const tracker::Tracker& core() const { return core_; }

 private:
  size_t Announce(const http::Request& request, const tracker::Client& client, bool keep_alive,
                  std::span<uint8_t> out);
  size_t Scrape(const http::Request& request, const tracker::Client& client, bool keep_alive,
                std::span<uint8_t> out);
  size_t Page(const HttpPage& page, bool keep_alive, std::span<uint8_t> out);
  size_t Failure(std::string_view reason, bool keep_alive, std::span<uint8_t> out,
                 int status = 200);

  const HttpTrackerOptions options_;
  tracker::Tracker& core_;
  const size_t max_response_bytes_;
  http::QueryLimits query_limits_;
  std::vector<InfoHash> scrape_hashes_;  // a scrape's hashes, sorted (scratch)
};

}  // namespace reef::http_server

#endif  // REEF_SERVER_HTTP_HTTP_TRACKER_H_
