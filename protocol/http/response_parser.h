// Parsers for what a tracker sends back, for the load generator and tests: the HTTP
// response head, and announce and scrape bodies (including failure responses).
//
// Like every parser here they never allocate and never read past the input. A body is
// checked completely when parsed (every peer entry, every scrape file), and keeps views
// of the peer lists and the files dictionary; PeerCursor and ScrapeFileCursor then walk
// them without further checks failing.
#ifndef REEF_PROTOCOL_HTTP_RESPONSE_PARSER_H_
#define REEF_PROTOCOL_HTTP_RESPONSE_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"
#include "protocol/http/bencode.h"
#include "protocol/http/errors.h"
#include "protocol/http/query.h"
#include "protocol/http/request.h"
#include "protocol/http/response.h"

namespace reef::http {

struct ResponseHead {
  int version_minor = 1;
  int status = 0;
  std::string_view reason;
  std::span<const Header> headers;
  std::optional<uint64_t> content_length;
  bool keep_alive = true;

  std::optional<std::string_view> FindHeader(std::string_view name) const;
};

// Parses a response head through its empty line; consumed() is the head's length, the
// body follows. Same limits, errors and incomplete/error split as ParseRequest.
ParseResult<ResponseHead, ParseError> ParseResponseHead(std::string_view in,
                                                        std::span<Header> header_storage,
                                                        const RequestLimits& limits = {});

struct AnnounceResponseView {
  std::optional<std::string_view> failure_reason;
  std::optional<std::string_view> warning_message;
  std::optional<int64_t> interval;
  std::optional<int64_t> min_interval;
  std::optional<int64_t> complete;
  std::optional<int64_t> incomplete;
  std::optional<std::string_view> tracker_id;
  std::string_view peers;      // compact IPv4 entries (a multiple of 6 bytes)
  std::string_view peers6;     // compact IPv6 entries (a multiple of 18 bytes)
  std::string_view peer_list;  // the bencoded list of peer dicts when not compact
  size_t peer_list_size = 0;

  size_t peer_count() const {
    return peers.size() / kCompactPeerBytes + peers6.size() / kCompactPeer6Bytes +
           peer_list_size;
  }
};

// Parses an announce body: one bencoded dict filling `body`. Needs "failure reason", or
// "interval" and "peers". Integers must be integers, strings strings; compact lists must
// hold whole entries (kBadPeers); a non-compact entry needs "ip" (string) and "port"
// (0-65535), and "peer id", if there, must be 20 bytes. Unknown keys are skipped.
ParseResult<AnnounceResponseView, ParseError> ParseAnnounceResponse(
    std::string_view body, const BencodeLimits& limits = {});

struct ParsedPeer {
  std::optional<IpAddress> address;  // nullopt: a non-compact "ip" that is a DNS name
  std::string_view ip_text;          // non-compact only: "ip" as sent
  uint16_t port = 0;
  std::optional<PeerId> peer_id;     // non-compact only, when sent
};

// Walks the peers of a parsed announce response: IPv4 compact, then IPv6 compact, then
// the non-compact list.
class PeerCursor {
 public:
  explicit PeerCursor(const AnnounceResponseView& view);
  bool Next(ParsedPeer* peer);

 private:
  std::string_view peers_;
  std::string_view peers6_;
  BencodeReader list_;
  bool list_started_ = false;
};

struct ScrapeResponseView {
  std::optional<std::string_view> failure_reason;
  std::string_view files;  // the bencoded "files" dict
  size_t file_count = 0;
};

// Parses a scrape body: "files" maps 20-byte hashes to dicts of integers (complete,
// downloaded, incomplete; others skipped), or a "failure reason".
ParseResult<ScrapeResponseView, ParseError> ParseScrapeResponse(
    std::string_view body, const BencodeLimits& limits = {});

struct ScrapeFile {
  InfoHash info_hash;
  ScrapeStats stats;  // a count the tracker left out reads as 0
};

class ScrapeFileCursor {
 public:
  explicit ScrapeFileCursor(const ScrapeResponseView& view);
  bool Next(ScrapeFile* file);

 private:
  BencodeReader reader_;
  bool started_ = false;
};

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_RESPONSE_PARSER_H_
