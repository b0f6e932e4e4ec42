// Tracker responses: bencoded announce, scrape and failure bodies (BEP 3, 7, 23, 48) and
// the HTTP/1.1 response around them. Everything writes into a caller's buffer, with the
// sticky-failure contract of ByteWriter, and nothing allocates.
//
// Writing a response in one pass (Content-Length without writing twice):
//
//   HttpResponseWriter http(buffer, 200, keep_alive);   // status line and headers
//   AnnounceBodyWriter body(http.body(), counts);        // straight after the head
//   body.BeginPeers(n);                                  // "5:peers<6n>:"
//   for (each selected peer) body.AddPeer(ip, port);     // 6 bytes each, from the store
//   WriteResult total = http.Finish(body.Finish());      // patches Content-Length
//   send(buffer.data(), total.length());
//
// The head ends with "Content-Length:" followed by kContentLengthWidth reserved bytes.
// Finish() writes the body length there right-aligned, the bytes before it spaces, which
// HTTP reads as optional whitespace before the value ("Content-Length:        812"); the
// body is never moved or written twice, and the response starts at buffer[0]. A compact
// body's size is known before writing (the peer count goes into the "<6n>:" prefix), so
// peers are written without an intermediate array.
//
// Dictionary keys come out in sorted order, so every body here is canonical bencode that
// a strict reader accepts.
#ifndef REEF_PROTOCOL_HTTP_RESPONSE_H_
#define REEF_PROTOCOL_HTTP_RESPONSE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/common/byte_writer.h"
#include "protocol/common/fixed_bytes.h"
#include "protocol/common/parse_result.h"
#include "protocol/http/bencode.h"
#include "protocol/http/query.h"

namespace reef::http {

// Digits reserved for Content-Length: bodies up to 9,999,999,999 bytes.
inline constexpr size_t kContentLengthWidth = 10;
// Compact peer entries (BEP 23, BEP 7): address then port, network order.
inline constexpr size_t kCompactPeerBytes = 6;
inline constexpr size_t kCompactPeer6Bytes = 18;

// The reason phrase for the statuses a tracker sends ("OK", "Bad Request", ...);
// "Unknown" for others.
std::string_view StatusReason(int status);

class HttpResponseWriter {
 public:
  // Writes "HTTP/1.1 <status> <reason>", Content-Type (text/plain unless the caller's,
  // written as given), Connection (keep-alive or close), Allow: GET for 405, and the
  // reserved Content-Length.
  HttpResponseWriter(std::span<uint8_t> out, int status, bool keep_alive,
                     std::string_view content_type = "text/plain");

  // The rest of the buffer, for the body (empty if even the head did not fit).
  std::span<uint8_t> body() const { return body_; }
  // Patches Content-Length with the body's length; the whole response's length, or the
  // body's error (or the head's, if it did not fit).
  WriteResult Finish(WriteResult body_result);
  WriteResult Finish(size_t body_length) { return Finish(WriteResult::Ok(body_length)); }

 private:
  std::span<uint8_t> out_;
  std::span<uint8_t> body_;
  size_t head_length_ = 0;
  size_t length_field_ = 0;  // offset of the reserved digits
  bool ok_ = false;
};

// The numbers and messages of an announce response. min_interval, tracker_id and
// warning_message are left out when unset / empty.
struct AnnounceCounts {
  int64_t interval = 0;
  std::optional<int64_t> min_interval;
  int64_t complete = 0;    // seeders
  int64_t incomplete = 0;  // leechers
  std::string_view tracker_id;
  std::string_view warning_message;
};

// Writes an announce body in key order: counts, then peers (compact or a list of dicts),
// then peers6, then tracker id and warning message at Finish(). Calls out of order, or a
// peer count that does not match the Begin*() count, make Finish() fail with
// kInvalidValue. With no Begin*() at all, an empty "peers" is written.
class AnnounceBodyWriter {
 public:
  AnnounceBodyWriter(std::span<uint8_t> out, const AnnounceCounts& counts);

  // BEP 23 compact IPv4: exactly `count` AddPeer calls follow.
  void BeginPeers(size_t count);
  void AddPeer(std::span<const uint8_t, 4> address, uint16_t port);
  // BEP 7 compact IPv6, after the IPv4 peers (or instead of them: "peers" is then empty).
  void BeginPeers6(size_t count);
  void AddPeer6(std::span<const uint8_t, 16> address, uint16_t port);
  // BEP 3 non-compact: a list of {ip, peer id, port} dicts; peer_id nullptr leaves it out
  // (no_peer_id). IPv4 and IPv6 peers both go here, as address text.
  void BeginPeerList();
  void AddPeerDict(const IpAddress& address, uint16_t port, const PeerId* peer_id);
  void EndPeerList();

  WriteResult Finish();

 private:
  enum class State : uint8_t { kCounts, kPeers, kPeers6, kList, kAfterList, kInvalid };
  void WritePeersKey();
  // One compact entry of the `list` (kPeers or kPeers6) being written.
  void AddCompactPeer(State list, std::span<const uint8_t> address, uint16_t port);

  BencodeWriter w_;
  AnnounceCounts counts_;
  State state_ = State::kCounts;
  size_t remaining_ = 0;
};

// A peer as the one-shot writer takes it.
struct ResponsePeer {
  IpAddress address;
  uint16_t port = 0;
  PeerId peer_id;
  friend bool operator==(const ResponsePeer&, const ResponsePeer&) = default;
};

struct AnnounceResponse {
  AnnounceCounts counts;
  std::span<const ResponsePeer> peers;
  bool compact = true;          // compact: IPv4 in peers, IPv6 in peers6
  bool include_peer_id = true;  // non-compact only
};

// A whole announce body from a list of peers (tests, the load generator's fake tracker).
WriteResult WriteAnnounceBody(const AnnounceResponse& response, std::span<uint8_t> out);

struct ScrapeStats {
  int64_t complete = 0;
  int64_t downloaded = 0;
  int64_t incomplete = 0;
  friend bool operator==(const ScrapeStats&, const ScrapeStats&) = default;
};

// Writes "d5:filesd" <20-byte hash> d complete downloaded incomplete e ... "ee". Hashes
// must come in strictly increasing order (canonical bencode); see SortUniqueInfoHashes.
class ScrapeBodyWriter {
 public:
  explicit ScrapeBodyWriter(std::span<uint8_t> out);
  void AddFile(const InfoHash& info_hash, const ScrapeStats& stats);
  WriteResult Finish();

 private:
  BencodeWriter w_;
  std::optional<InfoHash> last_;
  bool in_order_ = true;
};

// Sorts `hashes` and moves the unique ones to the front; returns how many there are.
size_t SortUniqueInfoHashes(std::span<InfoHash> hashes);

// "d14:failure reason<reason>e".
WriteResult WriteFailureBody(std::string_view reason, std::span<uint8_t> out);

// A whole HTTP response with a failure body. Trackers answer failures with status 200 so
// that clients show the reason; pass HttpStatusFor(error) to send 4xx/5xx instead.
WriteResult WriteFailureResponse(std::string_view reason, bool keep_alive,
                                 std::span<uint8_t> out, int status = 200);

}  // namespace reef::http

#endif  // REEF_PROTOCOL_HTTP_RESPONSE_H_
