// The HTTP/1.x request head a tracker receives: request line and headers.
//
// ParseRequest reads one request head (through the empty line) from the bytes received
// so far. It says "incomplete" while the head is a valid beginning that needs more bytes,
// "error" (with an http::ParseError) as soon as the bytes can never become a request the
// tracker accepts, and "ok" with consumed() = the length of the head. Nothing allocates:
// method, target, path, query and every header are views into `in`, and the header list
// lives in the caller's storage (picohttpparser's phr_header model). Never reads past `in`.
//
// A tracker takes GET only (announce, scrape, and the WebSocket upgrade are all GETs), so
// any other method is refused with kMethodNotAllowed, and a request that announces a body
// (Content-Length > 0, or any Transfer-Encoding) with kBodyNotAllowed.
//
// Accepted: HTTP/1.0 and HTTP/1.1; CRLF or bare LF line ends; empty lines before the
// request line (RFC 9112 2.2); origin-form targets only ("/announce?..."). Refused:
// obsolete line folding, control characters in the target or a header value, header
// names that are not tokens. Host is not required even on HTTP/1.1 (the tracker does not
// route on it).
#ifndef REEF_PROTOCOL_HTTP_REQUEST_H_
#define REEF_PROTOCOL_HTTP_REQUEST_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/parse_result.h"
#include "protocol/http/errors.h"

namespace reef::http {

struct Header {
  std::string_view name;   // as sent (compare case-insensitively)
  std::string_view value;  // leading and trailing spaces and tabs removed

  friend bool operator==(const Header&, const Header&) = default;
};

// Bounds on one request head. The defaults fit every real client's announce and a scrape
// of QueryLimits' default number of info hashes with room to spare.
inline constexpr size_t kDefaultMaxRequestBytes = 8192;
inline constexpr size_t kDefaultMaxRequestLineBytes = 8192;
inline constexpr size_t kDefaultMaxHeaders = 32;
inline constexpr size_t kDefaultMaxHeaderLineBytes = 4096;

struct RequestLimits {
  size_t max_request_bytes = kDefaultMaxRequestBytes;            // the whole head, CRLFs included
  size_t max_request_line_bytes = kDefaultMaxRequestLineBytes;   // without its line end
  size_t max_headers = kDefaultMaxHeaders;                       // also capped by the storage
  size_t max_header_line_bytes = kDefaultMaxHeaderLineBytes;     // one header, without line end
};

struct Request {
  std::string_view method;  // always "GET" in a parsed request
  std::string_view target;  // "/announce?info_hash=..."
  std::string_view path;    // "/announce"
  std::string_view query;   // "info_hash=..." (no '?'), empty if none
  int version_minor = 1;    // 0 or 1 (HTTP/1.x)
  std::span<const Header> headers;  // views into the caller's storage
  bool keep_alive = true;           // from the version's default and Connection

  // Value of the first header with this name (case-insensitive), or nullopt.
  std::optional<std::string_view> FindHeader(std::string_view name) const;
};

// Parses one request head from `in`; see the top of this file.
ParseResult<Request, ParseError> ParseRequest(std::string_view in,
                                              std::span<Header> header_storage,
                                              const RequestLimits& limits = {});

// ASCII case-insensitive equality, as header names and tokens compare.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Whether the comma-separated header value `list` holds `token` (case-insensitive), as
// in "Connection: keep-alive, Upgrade".
bool HeaderListContains(std::string_view list, std::string_view token);

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_REQUEST_H_
