// Query strings of /announce and /scrape (BEP 3, 7, 23), and percent-decoding.
//
// ParseAnnounceQuery and ParseScrapeQuery read the query part of a request target (no
// '?'). They never allocate and never read past the input: info_hash and peer_id are
// percent-decoded straight into FixedBytes<20> (exactly 20 bytes after decoding, or an
// error), the scrape's info hashes are checked and counted but kept as a view of the
// query, and `key` / `trackerid` are views of the raw (still percent-encoded) value.
//
// Decoding rules: "%XX" (either case) is the byte XX, '+' is a space (form encoding, as
// opentracker reads it), every other byte is itself. A '%' not followed by two hex digits
// is kBadPercentEncoding. Empty parameters ("a=1&&b=2", a trailing '&') are skipped, a
// parameter without '=' has an empty value, unknown keys are ignored.
//
// Numbers as real clients send them: uploaded and downloaded default to 0 when absent,
// left is nullopt when absent. A value past UINT64_MAX saturates there (a "huge" value
// still means "a lot"), and a negative value, which clients with a signed 32-bit
// counter have sent after overflowing, reads as 0. numwant saturates at UINT32_MAX and a
// negative numwant ("-1": "the tracker's default") reads as absent.
#ifndef REEF_PROTOCOL_HTTP_QUERY_H_
#define REEF_PROTOCOL_HTTP_QUERY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/fixed_bytes.h"
#include "protocol/common/ip_address.h"
#include "protocol/common/parse_result.h"
#include "protocol/http/errors.h"

namespace reef::http {

inline constexpr size_t kDefaultMaxQueryParameters = 128;
inline constexpr size_t kDefaultMaxScrapeInfoHashes = 64;
inline constexpr size_t kDefaultMaxKeyBytes = 64;        // raw (encoded) length of key=
inline constexpr size_t kDefaultMaxTrackerIdBytes = 64;  // raw length of trackerid=
// Longest decoded ip/ipv4/ipv6 value: "[" + 45-char IPv6 + "]:65535".
inline constexpr size_t kMaxAddressTextBytes = 54;

struct QueryLimits {
  size_t max_parameters = kDefaultMaxQueryParameters;
  size_t max_scrape_info_hashes = kDefaultMaxScrapeInfoHashes;
  size_t max_key_bytes = kDefaultMaxKeyBytes;
  size_t max_tracker_id_bytes = kDefaultMaxTrackerIdBytes;
};

// ---- Percent-decoding ----------------------------------------------------------------

// Decodes `encoded` into `out`. Returns the decoded length; nullopt on a bad escape or
// when the result does not fit in `out` (then `out` may be partly written).
std::optional<size_t> PercentDecode(std::string_view encoded, std::span<uint8_t> out);

// The decoded length of `encoded`, or nullopt on a bad escape.
std::optional<size_t> PercentDecodedLength(std::string_view encoded);

// Decodes straight into `out`, which must come out exactly full: kBadPercentEncoding on a
// bad escape, `wrong_length` when the decoded value is shorter or longer. `out` may be
// partly written on failure.
std::optional<ParseError> PercentDecodeExact(std::string_view encoded, std::span<uint8_t> out,
                                             ParseError wrong_length);

template <size_t N>
std::optional<ParseError> PercentDecodeFixed(std::string_view encoded, FixedBytes<N>* out,
                                             ParseError wrong_length) {
  return PercentDecodeExact(encoded, out->mutable_bytes(), wrong_length);
}

// ---- Parameters ------------------------------------------------------------------------

// One key=value of a query, both still encoded.
struct QueryParam {
  std::string_view key;
  std::string_view value;
};

// Takes the next non-empty parameter off the front of *query. False when none is left.
bool NextQueryParam(std::string_view* query, QueryParam* param);

// ---- Addresses (ip, ipv4, ipv6) --------------------------------------------------------

// reef's one address type (protocol/common/ip_address.h), under its old name here.
using IpAddress = ::reef::IpAddress;

// An address with an optional port (BEP 7: "ipv4=1.2.3.4:6881", "ipv6=[2001:db8::1]:6881";
// without a port the announce's port= applies).
struct IpEndpoint {
  IpAddress address;
  std::optional<uint16_t> port;
  friend bool operator==(const IpEndpoint&, const IpEndpoint&) = default;
};

// Parses the text of an address ("1.2.3.4", "2001:db8::1"), no port. Allocation-free.
std::optional<IpAddress> ParseIpAddress(std::string_view text);
// Writes the text of an address into `out` (room for 46 bytes is always enough); returns
// its length, 0 if `out` is too small.
size_t FormatIpAddress(const IpAddress& address, std::span<char> out);

// ---- Announce --------------------------------------------------------------------------

enum class Event : uint8_t { kNone, kStarted, kStopped, kCompleted, kPaused };
std::string_view EventName(Event e);  // "" for kNone

struct AnnounceRequest {
  InfoHash info_hash;
  PeerId peer_id;
  uint16_t port = 0;
  uint64_t uploaded = 0;
  uint64_t downloaded = 0;
  std::optional<uint64_t> left;      // nullopt when absent
  Event event = Event::kNone;        // absent, "", "empty" are kNone
  std::optional<bool> compact;       // nullopt when absent
  bool no_peer_id = false;
  std::optional<uint32_t> numwant;   // nullopt when absent or negative
  std::string_view key;              // raw value as sent, empty when absent
  std::string_view tracker_id;       // raw value of trackerid=, empty when absent
  // ip= when it is an address literal (a DNS name is not resolved and is left out);
  // ipv4= / ipv6= per BEP 7. Parsed only: whether to trust them is the server's choice.
  std::optional<IpAddress> ip;
  std::optional<IpEndpoint> ipv4;
  std::optional<IpEndpoint> ipv6;

  friend bool operator==(const AnnounceRequest&, const AnnounceRequest&) = default;
};

// Parses an announce query; consumed() is query.size(). Required: info_hash, peer_id,
// port. A known parameter given twice is kRepeatedParameter.
ParseResult<AnnounceRequest, ParseError> ParseAnnounceQuery(std::string_view query,
                                                            const QueryLimits& limits = {});

// ---- Scrape ----------------------------------------------------------------------------

struct ScrapeRequest;
ParseResult<ScrapeRequest, ParseError> ParseScrapeQuery(std::string_view query,
                                                        const QueryLimits& limits);

// The info hashes of a parsed scrape: a view of the query, decoded on the fly. Only
// ParseScrapeQuery makes non-empty ones, after checking every info_hash decodes to 20
// bytes, so iterating cannot fail.
class InfoHashList {
 public:
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = InfoHash;
    using difference_type = std::ptrdiff_t;
    using pointer = const InfoHash*;
    using reference = const InfoHash&;

    Iterator() = default;
    const InfoHash& operator*() const { return current_; }
    const InfoHash* operator->() const { return &current_; }
    Iterator& operator++() {
      Advance();
      return *this;
    }
    Iterator operator++(int) {
      Iterator old = *this;
      Advance();
      return old;
    }
    friend bool operator==(const Iterator& a, const Iterator& b) {
      return a.remaining_ == b.remaining_;
    }

   private:
    friend class InfoHashList;
    Iterator(std::string_view rest, size_t remaining) : rest_(rest), remaining_(remaining) {
      if (remaining_ > 0) Load();
    }
    void Advance() {
      if (--remaining_ > 0) Load();
    }
    void Load();

    std::string_view rest_;
    size_t remaining_ = 0;
    InfoHash current_;
  };

  InfoHashList() = default;
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  Iterator begin() const { return Iterator(query_, count_); }
  Iterator end() const { return Iterator({}, 0); }

 private:
  friend ParseResult<ScrapeRequest, ParseError> ParseScrapeQuery(std::string_view,
                                                                 const QueryLimits&);
  InfoHashList(std::string_view query, size_t count) : query_(query), count_(count) {}

  std::string_view query_;
  size_t count_ = 0;
};

struct ScrapeRequest {
  InfoHashList info_hashes;  // 1 to QueryLimits::max_scrape_info_hashes, in query order
};

// Parses a scrape query. No info_hash at all is kFullScrapeNotSupported.
ParseResult<ScrapeRequest, ParseError> ParseScrapeQuery(std::string_view query,
                                                        const QueryLimits& limits = {});

// ---- Writing requests (load generator, tests) ------------------------------------------

// Writes `bytes` percent-encoded: RFC 3986 unreserved bytes as themselves, every other
// byte as "%XX" (upper case).
WriteResult PercentEncode(std::span<const uint8_t> bytes, std::span<uint8_t> out);

// Writes the query of `request` (no '?'), parameters in a fixed order, optional ones only
// when set. kInvalidValue when key or tracker_id hold a byte a raw query value cannot
// (anything but unreserved bytes and well-formed "%XX" escapes).
WriteResult WriteAnnounceQuery(const AnnounceRequest& request, std::span<uint8_t> out);
// "info_hash=...&info_hash=..."; kInvalidValue for an empty list.
WriteResult WriteScrapeQuery(std::span<const InfoHash> info_hashes, std::span<uint8_t> out);

struct RequestOptions {
  std::string_view path = "/announce";  // "/scrape" for scrapes
  std::string_view host = "localhost";
  std::string_view user_agent = "reef";  // empty: no User-Agent header
  bool keep_alive = true;                // HTTP/1.1 with or without "Connection: close"
};

// A complete GET request head: request line, Host, User-Agent, Connection, empty line.
WriteResult WriteAnnounceRequest(const AnnounceRequest& request, const RequestOptions& options,
                                 std::span<uint8_t> out);
WriteResult WriteScrapeRequest(std::span<const InfoHash> info_hashes,
                               const RequestOptions& options, std::span<uint8_t> out);

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_QUERY_H_
