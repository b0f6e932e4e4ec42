// http::ParseError: every way an HTTP tracker request, query string, bencode value or
// tracker response can be refused, each with a short human reason that the HTTP server
// sends back as the bencoded "failure reason".
#ifndef REEF_PROTOCOL_HTTP_ERRORS_H_
#define REEF_PROTOCOL_HTTP_ERRORS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/common/errors.h"

namespace reef::http {

enum class ParseError : uint8_t {
  // The request head (request.h).
  kBadRequestLine,       // not "METHOD SP target SP HTTP/1.x"
  kMethodNotAllowed,     // a method other than GET
  kBadTarget,            // the target is not origin-form ("/path?query")
  kUnsupportedVersion,   // HTTP/2.0, HTTP/0.9, ...
  kRequestLineTooLong,   // over RequestLimits::max_request_line_bytes
  kBadHeader,            // malformed header line (or obsolete line folding)
  kHeaderLineTooLong,    // over RequestLimits::max_header_line_bytes
  kTooManyHeaders,       // over RequestLimits::max_headers or the caller's storage
  kRequestTooLarge,      // the head is over RequestLimits::max_request_bytes
  kBadContentLength,     // Content-Length is not a number, or given twice
  kBodyNotAllowed,       // Content-Length > 0 or Transfer-Encoding: a tracker takes none

  // The query string (query.h).
  kBadPercentEncoding,   // '%' not followed by two hex digits
  kTooManyParameters,    // over QueryLimits::max_parameters
  kRepeatedParameter,    // an announce parameter given twice
  kMissingInfoHash,
  kBadInfoHash,          // not exactly 20 bytes after decoding
  kMissingPeerId,
  kBadPeerId,
  kMissingPort,
  kBadPort,
  kBadUploaded,
  kBadDownloaded,
  kBadLeft,
  kBadEvent,
  kBadCompact,
  kBadNoPeerId,
  kBadNumwant,
  kBadKey,               // longer than QueryLimits::max_key_bytes
  kBadTrackerId,         // longer than QueryLimits::max_tracker_id_bytes
  kBadIp,                // ip= is an address literal that does not parse
  kBadIpv4,
  kBadIpv6,
  kFullScrapeNotSupported,
  kTooManyInfoHashes,    // a scrape over QueryLimits::max_scrape_info_hashes

  // Bencode (bencode_reader.h).
  kBencodeTruncated,
  kBencodeBadInteger,     // not canonical: leading zero, -0, no digits, overflow
  kBencodeBadLength,      // string length not canonical, or past the end of the input
  kBencodeUnexpectedByte,
  kBencodeTooDeep,        // over BencodeLimits::max_depth
  kBencodeKeyNotString,
  kBencodeMissingValue,   // a dictionary ended after a key
  kBencodeKeyOrder,       // strict mode: keys not sorted or not unique
  kBencodeTrailingBytes,  // bytes after the one top-level value

  // Responses (response_parser.h).
  kBadStatusLine,
  kBadResponse,           // the body is not a tracker response of the expected shape
  kBadPeers,              // compact peers not a multiple of 6 (peers6: 18) bytes
  kBadScrapeFile,         // a "files" key that is not 20 bytes, or an entry not a dict
  kMissingContentLength,

  kNumErrors,
};

inline constexpr std::array<ErrorInfo, static_cast<size_t>(ParseError::kNumErrors)> kParseErrors =
    {{
        {"kBadRequestLine", "malformed request line"},
        {"kMethodNotAllowed", "only GET requests are accepted"},
        {"kBadTarget", "request target must start with /"},
        {"kUnsupportedVersion", "only HTTP/1.0 and HTTP/1.1 are supported"},
        {"kRequestLineTooLong", "request line too long"},
        {"kBadHeader", "malformed header line"},
        {"kHeaderLineTooLong", "header line too long"},
        {"kTooManyHeaders", "too many headers"},
        {"kRequestTooLarge", "request too large"},
        {"kBadContentLength", "malformed content-length"},
        {"kBodyNotAllowed", "request bodies are not accepted"},

        {"kBadPercentEncoding", "malformed percent-encoding in query string"},
        {"kTooManyParameters", "too many query parameters"},
        {"kRepeatedParameter", "query parameter given more than once"},
        {"kMissingInfoHash", "info_hash is missing"},
        {"kBadInfoHash", "info_hash must be 20 bytes"},
        {"kMissingPeerId", "peer_id is missing"},
        {"kBadPeerId", "peer_id must be 20 bytes"},
        {"kMissingPort", "port is missing"},
        {"kBadPort", "port must be a number from 0 to 65535"},
        {"kBadUploaded", "uploaded must be a number"},
        {"kBadDownloaded", "downloaded must be a number"},
        {"kBadLeft", "left must be a number"},
        {"kBadEvent", "event must be started, stopped, completed, paused or empty"},
        {"kBadCompact", "compact must be 0 or 1"},
        {"kBadNoPeerId", "no_peer_id must be 0 or 1"},
        {"kBadNumwant", "numwant must be a number"},
        {"kBadKey", "key too long"},
        {"kBadTrackerId", "trackerid too long"},
        {"kBadIp", "ip is not a valid address"},
        {"kBadIpv4", "ipv4 must be an IPv4 address or address:port"},
        {"kBadIpv6", "ipv6 must be an IPv6 address or [address]:port"},
        {"kFullScrapeNotSupported", "full scrapes are not supported"},
        {"kTooManyInfoHashes", "too many info hashes in one scrape"},

        {"kBencodeTruncated", "bencode ended early"},
        {"kBencodeBadInteger", "malformed bencode integer"},
        {"kBencodeBadLength", "malformed bencode string length"},
        {"kBencodeUnexpectedByte", "unexpected byte in bencode"},
        {"kBencodeTooDeep", "bencode nested too deep"},
        {"kBencodeKeyNotString", "bencode dictionary key must be a string"},
        {"kBencodeMissingValue", "bencode dictionary key without a value"},
        {"kBencodeKeyOrder", "bencode dictionary keys must be sorted and unique"},
        {"kBencodeTrailingBytes", "bytes after the bencode value"},

        {"kBadStatusLine", "malformed status line"},
        {"kBadResponse", "not a valid tracker response"},
        {"kBadPeers", "compact peer list has a partial entry"},
        {"kBadScrapeFile", "malformed scrape entry"},
        {"kMissingContentLength", "response has no content-length"},
    }};

constexpr std::string_view ErrorName(ParseError e) { return LookUpError(kParseErrors, e).name; }
constexpr std::string_view ErrorReason(ParseError e) {
  return LookUpError(kParseErrors, e).reason;
}

static_assert(ProtocolError<ParseError>);

// The HTTP status a server answers a refused request head with. Query errors are
// answered 200 with a bencoded failure reason, as trackers do (clients show the reason
// only from a 200 response), so they map to 200.
constexpr int HttpStatusFor(ParseError e) {
  switch (e) {
    case ParseError::kMethodNotAllowed:
      return 405;
    case ParseError::kUnsupportedVersion:
      return 505;
    case ParseError::kRequestLineTooLong:
      return 414;
    case ParseError::kHeaderLineTooLong:
    case ParseError::kTooManyHeaders:
    case ParseError::kRequestTooLarge:
      return 431;
    case ParseError::kBodyNotAllowed:
      return 413;
    case ParseError::kBadRequestLine:
    case ParseError::kBadTarget:
    case ParseError::kBadHeader:
    case ParseError::kBadContentLength:
      return 400;
    default:
      return 200;
  }
}

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_ERRORS_H_
