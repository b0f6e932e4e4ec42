#include "protocol/udp/parse.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/udp/test_vectors.h"
#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::udp {
namespace {

using Bytes = std::vector<uint8_t>;

template <size_t N>
Bytes ToBytes(const uint8_t (&a)[N]) {
  return Bytes(a, a + N);
}

InfoHash HashOf(uint8_t first) {
  std::array<uint8_t, 20> bytes{};
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(first + i);
  return InfoHash(bytes);
}

// A scrape request of `n` hashes (hash i is 20 bytes of value i), as bytes.
Bytes ScrapeOf(size_t n) {
  Bytes b = {1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, 0x11, 0x22, 0x33, 0x44};
  for (size_t i = 0; i < n; ++i) b.insert(b.end(), 20, static_cast<uint8_t>(i));
  return b;
}

// ---- Requests: the BEP 15 tables ----

TEST_CASE("connect request: every field at its offset") {
  RequestResult r = ParseRequest(vectors::kConnectRequest);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 16);
  CHECK(r.connection_id() == kProtocolId);  // 0: protocol_id
  CHECK(r.transaction_id() == 0xdeadbeef);  // 12: transaction_id
  REQUIRE(std::holds_alternative<ConnectRequest>(r.value()));
  CHECK(std::get<ConnectRequest>(r.value()).transaction_id == 0xdeadbeef);
}

TEST_CASE("announce request: every field at its offset") {
  RequestResult r = ParseRequest(vectors::kAnnounceRequest);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 98);
  REQUIRE(std::holds_alternative<AnnounceRequest>(r.value()));
  const AnnounceRequest& a = std::get<AnnounceRequest>(r.value());
  CHECK(a.connection_id == 0x0102030405060708ULL);                  //  0
  CHECK(a.transaction_id == 0x0a0b0c0d);                            // 12
  CHECK(a.info_hash == HashOf(0x10));                               // 16
  CHECK(a.peer_id == *PeerId::FromString("-RF0001-abcdefghijkl"));  // 36
  CHECK(a.downloaded == 0x100001000LL);                             // 56
  CHECK(a.left == 0xffff00);                                        // 64
  CHECK(a.uploaded == 512);                                         // 72
  CHECK(a.event == AnnounceEvent::kStarted);                        // 80
  CHECK(a.ip == std::array<uint8_t, 4>{192, 168, 1, 2});            // 84
  CHECK(a.key == 0xcafebabe);                                       // 88
  CHECK(a.num_want == kNumWantDefault);                             // 92
  CHECK(a.port == 6881);                                            // 96
  CHECK(r.connection_id() == a.connection_id);
  CHECK(r.transaction_id() == a.transaction_id);
}

TEST_CASE("announce request: every event value") {
  const std::array<AnnounceEvent, 4> events = {AnnounceEvent::kNone, AnnounceEvent::kCompleted,
                                               AnnounceEvent::kStarted, AnnounceEvent::kStopped};
  for (uint8_t e = 0; e < 4; ++e) {
    Bytes b = ToBytes(vectors::kAnnounceRequest);
    b[83] = e;
    RequestResult r = ParseRequest(b);
    REQUIRE(r.ok());
    CHECK(std::get<AnnounceRequest>(r.value()).event == events[e]);
  }
}

TEST_CASE("scrape request: header, then info hashes in order, as a view") {
  RequestResult r = ParseRequest(vectors::kScrapeRequest);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 56);
  REQUIRE(std::holds_alternative<ScrapeRequest>(r.value()));
  const ScrapeRequest& s = std::get<ScrapeRequest>(r.value());
  CHECK(s.connection_id == 0x0102030405060708ULL);  //  0
  CHECK(s.transaction_id == 0x11223344);            // 12
  REQUIRE(s.info_hashes.size() == 2);
  CHECK(s.info_hash(0) == HashOf(0xa0));  // 16
  CHECK(s.info_hash(1) == HashOf(0xc0));  // 36
  // A view into the datagram, not a copy.
  CHECK(s.info_hashes.bytes().data() == vectors::kScrapeRequest + 16);
  size_t seen = 0;
  for (const InfoHash& h : s.info_hashes) CHECK(h == s.info_hash(seen++));
  CHECK(seen == 2);
}

// ---- Responses: the BEP 15 tables ----

TEST_CASE("connect response: every field at its offset") {
  ResponseResult r = ParseResponse(vectors::kConnectResponse, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 16);
  const auto& c = std::get<ConnectResponse>(r.value());
  CHECK(c.transaction_id == 0xdeadbeef);            // 4
  CHECK(c.connection_id == 0x0102030405060708ULL);  // 8
  CHECK(r.transaction_id() == 0xdeadbeef);
}

TEST_CASE("announce response, IPv4: every field at its offset, 6-byte peers") {
  ResponseResult r = ParseResponse(vectors::kAnnounceResponseV4, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 32);
  const auto& a = std::get<AnnounceResponse>(r.value());
  CHECK(a.transaction_id == 0x0a0b0c0d);  //  4
  CHECK(a.interval == 1800);              //  8
  CHECK(a.leechers == 5);                 // 12
  CHECK(a.seeders == 9);                  // 16
  REQUIRE(a.peers.size() == 2);
  CHECK(a.peers.family() == IpFamily::kV4);
  CHECK(a.peers.bytes().data() == vectors::kAnnounceResponseV4 + 20);  // a view
  Peer p0 = a.peers[0];                                                // 20
  CHECK(p0.family == IpFamily::kV4);
  CHECK(std::ranges::equal(p0.address(), std::array<uint8_t, 4>{10, 0, 0, 1}));
  CHECK(p0.port == 6881);
  Peer p1 = a.peers[1];  // 26
  CHECK(std::ranges::equal(p1.address(), std::array<uint8_t, 4>{192, 168, 0, 2}));
  CHECK(p1.port == 51413);
}

TEST_CASE("announce response, IPv6: 18-byte peers") {
  ResponseResult r = ParseResponse(vectors::kAnnounceResponseV6, IpFamily::kV6);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 38);
  const auto& a = std::get<AnnounceResponse>(r.value());
  CHECK(a.transaction_id == 0x0a0b0c0d);  //  4
  CHECK(a.interval == 3600);              //  8
  CHECK(a.leechers == 0);                 // 12
  CHECK(a.seeders == 1);                  // 16
  REQUIRE(a.peers.size() == 1);
  Peer p = a.peers[0];  // 20
  CHECK(p.family == IpFamily::kV6);
  CHECK(p.address().size() == 16);
  CHECK(p.ip ==
        std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  CHECK(p.port == 6881);  // 36
}

TEST_CASE("announce response: the family hint decides the entry size") {
  // 36 bytes of peers: six IPv4 peers or two IPv6 peers.
  Bytes b(20 + 36, 0);
  b[3] = 1;
  ResponseResult v4 = ParseResponse(b, IpFamily::kV4);
  ResponseResult v6 = ParseResponse(b, IpFamily::kV6);
  REQUIRE(v4.ok());
  REQUIRE(v6.ok());
  CHECK(std::get<AnnounceResponse>(v4.value()).peers.size() == 6);
  CHECK(std::get<AnnounceResponse>(v6.value()).peers.size() == 2);
  // The IPv4 response of the table is not whole IPv6 peers.
  ResponseResult wrong = ParseResponse(vectors::kAnnounceResponseV4, IpFamily::kV6);
  REQUIRE(wrong.failed());
  CHECK(wrong.error() == ParseError::kPartialPeer);
}

TEST_CASE("scrape response: per-hash counts in request order") {
  ResponseResult r = ParseResponse(vectors::kScrapeResponse, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 32);
  const auto& s = std::get<ScrapeResponse>(r.value());
  CHECK(s.transaction_id == 0x11223344);  // 4
  REQUIRE(s.stats.size() == 2);
  CHECK(s.stats[0].seeders == 3);            //  8
  CHECK(s.stats[0].completed == 256);        // 12
  CHECK(s.stats[0].leechers == 7);           // 16
  CHECK(s.stats[1].seeders == 0);            // 20
  CHECK(s.stats[1].completed == 65536);      // 24
  CHECK(s.stats[1].leechers == 0x7fffffff);  // 28
}

TEST_CASE("error response: the message is the rest of the datagram") {
  ResponseResult r = ParseResponse(vectors::kErrorResponse, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == sizeof(vectors::kErrorResponse));
  const auto& e = std::get<ErrorResponse>(r.value());
  CHECK(e.transaction_id == 0x11223344);  // 4
  CHECK(e.message == "unknown torrent");  // 8
  CHECK(static_cast<const void*>(e.message.data()) ==
        static_cast<const void*>(vectors::kErrorResponse + 8));  // a view
  // An empty message is still an error response.
  ResponseResult empty = ParseResponse(std::span(vectors::kErrorResponse, 8), IpFamily::kV4);
  REQUIRE(empty.ok());
  CHECK(std::get<ErrorResponse>(empty.value()).message.empty());
}

// ---- What is accepted beyond the tables ----

TEST_CASE("announce: trailing BEP 41 options are accepted and not consumed") {
  RequestResult plain = ParseRequest(vectors::kAnnounceRequest);
  RequestResult with = ParseRequest(vectors::kAnnounceRequestWithOptions);
  REQUIRE(with.ok());
  CHECK(with.consumed() == 98);
  CHECK(std::get<AnnounceRequest>(with.value()) == std::get<AnnounceRequest>(plain.value()));
}

TEST_CASE("announce: port 0 is parsed, not judged") {
  Bytes b = ToBytes(vectors::kAnnounceRequest);
  b[96] = 0;
  b[97] = 0;
  RequestResult r = ParseRequest(b);
  REQUIRE(r.ok());
  CHECK(std::get<AnnounceRequest>(r.value()).port == 0);
}

TEST_CASE("announce: counters and num_want are two's complement") {
  Bytes b = ToBytes(vectors::kAnnounceRequest);
  for (size_t i = 56; i < 64; ++i) b[i] = 0xff;  // downloaded -1
  b[64] = 0x80;                                  // left INT64_MIN
  for (size_t i = 65; i < 72; ++i) b[i] = 0;
  b[92] = 0x80;  // num_want INT32_MIN
  b[93] = b[94] = b[95] = 0;
  RequestResult r = ParseRequest(b);
  REQUIRE(r.ok());
  const auto& a = std::get<AnnounceRequest>(r.value());
  CHECK(a.downloaded == -1);
  CHECK(a.left == INT64_MIN);
  CHECK(a.num_want == INT32_MIN);
}

TEST_CASE("connect request: trailing bytes are accepted and not consumed") {
  Bytes b = ToBytes(vectors::kConnectRequest);
  b.insert(b.end(), {0x02, 0x00});
  RequestResult r = ParseRequest(b);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 16);
  CHECK(std::get<ConnectRequest>(r.value()).transaction_id == 0xdeadbeef);
}

TEST_CASE("connect response: trailing bytes are accepted and not consumed") {
  Bytes b = ToBytes(vectors::kConnectResponse);
  b.push_back(0);
  ResponseResult r = ParseResponse(b, IpFamily::kV4);
  REQUIRE(r.ok());
  CHECK(r.consumed() == 16);
}

TEST_CASE("scrape request: a trailing byte is a partial info hash") {
  for (size_t extra = 1; extra < 20; ++extra) {
    Bytes b = ScrapeOf(2);
    b.insert(b.end(), extra, 0);
    RequestResult r = ParseRequest(b);
    REQUIRE(r.failed());
    CHECK(r.error() == ParseError::kPartialInfoHash);
    CHECK(r.sendable());
  }
}

// ---- Errors: each one, and whether it is answered ----

struct ErrorCase {
  const char* what;
  Bytes datagram;
  ParseError error;
  bool sendable;
};

TEST_CASE("request errors: a specific error each, sendable when ids were read") {
  Bytes wrong_magic = ToBytes(vectors::kConnectRequest);
  wrong_magic[7] = 0x81;
  Bytes unknown_action = ToBytes(vectors::kAnnounceRequest);
  unknown_action[11] = 4;  // the old IPv6 announce extension, never adopted
  Bytes bad_event = ToBytes(vectors::kAnnounceRequest);
  bad_event[83] = 4;
  Bytes huge_event = ToBytes(vectors::kAnnounceRequest);
  huge_event[80] = 0x80;
  Bytes short_announce = ToBytes(vectors::kAnnounceRequest);
  short_announce.pop_back();
  Bytes header_only_announce(vectors::kAnnounceRequest, vectors::kAnnounceRequest + 16);
  Bytes connect_too_long = ToBytes(vectors::kConnectRequest);
  connect_too_long.resize(kMaxRequestSize + 1);
  const std::vector<ErrorCase> cases = {
      {"empty", {}, ParseError::kTooShort, false},
      {"15 bytes", Bytes(vectors::kConnectRequest, vectors::kConnectRequest + 15),
       ParseError::kTooShort, false},
      {"connect without the magic", wrong_magic, ParseError::kBadProtocolId, false},
      {"connect over the size limit", connect_too_long, ParseError::kTooLong, false},
      {"action 4", unknown_action, ParseError::kUnknownAction, false},
      {"announce of 97 bytes", short_announce, ParseError::kAnnounceTooShort, true},
      {"announce header only", header_only_announce, ParseError::kAnnounceTooShort, true},
      {"event 4", bad_event, ParseError::kBadEvent, true},
      {"event 0x80000002", huge_event, ParseError::kBadEvent, true},
      {"scrape of nothing", ScrapeOf(0), ParseError::kNoInfoHashes, true},
  };
  for (const ErrorCase& c : cases) {
    CAPTURE(c.what);
    RequestResult r = ParseRequest(c.datagram);
    REQUIRE(r.failed());
    CHECK(r.error() == c.error);
    CHECK(r.sendable() == c.sendable);
    CHECK(r.consumed() == 0);
    CHECK(r.has_transaction_id() == (c.datagram.size() >= 16));
    if (c.sendable) {
      // The server answers to this transaction id, after checking this connection id.
      CHECK(r.transaction_id() == (uint32_t{c.datagram[12]} << 24 | uint32_t{c.datagram[13]} << 16 |
                                   uint32_t{c.datagram[14]} << 8 | c.datagram[15]));
      CHECK(r.connection_id() == 0x0102030405060708ULL);
    }
  }
}

TEST_CASE("response errors: a specific error each, with the transaction id when read") {
  Bytes short_connect = ToBytes(vectors::kConnectResponse);
  short_connect.pop_back();
  Bytes short_announce = ToBytes(vectors::kAnnounceResponseV4);
  short_announce.resize(19);
  // opentracker refuses an announce for a torrent off its whitelist with a bare 8-byte
  // announce header (PEERS.md): not a BEP 15 announce response.
  Bytes opentracker_refusal(vectors::kAnnounceResponseV4, vectors::kAnnounceResponseV4 + 8);
  Bytes partial_peer = ToBytes(vectors::kAnnounceResponseV4);
  partial_peer.pop_back();
  Bytes partial_stats = ToBytes(vectors::kScrapeResponse);
  partial_stats.push_back(0);
  Bytes unknown = ToBytes(vectors::kErrorResponse);
  unknown[3] = 4;
  const std::vector<ErrorCase> cases = {
      {"empty", {}, ParseError::kTooShort, false},
      {"7 bytes", Bytes(7, 0), ParseError::kTooShort, false},
      {"connect response of 15 bytes", short_connect, ParseError::kConnectResponseTooShort, false},
      {"announce response of 19 bytes", short_announce, ParseError::kAnnounceResponseTooShort,
       false},
      {"opentracker's refusal", opentracker_refusal, ParseError::kAnnounceResponseTooShort, false},
      {"a partial IPv4 peer", partial_peer, ParseError::kPartialPeer, false},
      {"a partial scrape entry", partial_stats, ParseError::kPartialScrapeStats, false},
      {"action 4", unknown, ParseError::kUnknownAction, false},
  };
  for (const ErrorCase& c : cases) {
    CAPTURE(c.what);
    ResponseResult r = ParseResponse(c.datagram, IpFamily::kV4);
    REQUIRE(r.failed());
    CHECK(r.error() == c.error);
    CHECK_FALSE(r.sendable());  // a client never answers a tracker
    CHECK(r.has_transaction_id() == (c.datagram.size() >= 8));
    if (r.has_transaction_id()) {
      CHECK(r.transaction_id() == (uint32_t{c.datagram[4]} << 24 | uint32_t{c.datagram[5]} << 16 |
                                   uint32_t{c.datagram[6]} << 8 | c.datagram[7]));
    }
  }
}

TEST_CASE("every error has a name and a short reason that fits an error response") {
  for (size_t i = 0; i < static_cast<size_t>(ParseError::kNumErrors); ++i) {
    auto e = static_cast<ParseError>(i);
    CAPTURE(i);
    CHECK(ErrorName(e).starts_with("k"));
    CHECK_FALSE(ErrorReason(e).empty());
    CHECK(ErrorReason(e).size() <= kMaxErrorMessageSize);
  }
  CHECK(ErrorName(ParseError::kNoInfoHashes) == "kNoInfoHashes");
  CHECK(ErrorReason(ParseError::kNoInfoHashes) == "full scrapes are not supported");
}

// ---- Limits, and the case just past each ----

TEST_CASE("limit: a request of kMaxRequestSize bytes is parsed, one more is refused") {
  Bytes b = ToBytes(vectors::kAnnounceRequest);
  b.resize(kMaxRequestSize, 0);  // 1402 bytes of options
  RequestResult at = ParseRequest(b);
  REQUIRE(at.ok());
  CHECK(at.consumed() == 98);
  b.push_back(0);
  RequestResult past = ParseRequest(b);
  REQUIRE(past.failed());
  CHECK(past.error() == ParseError::kTooLong);
  CHECK(past.sendable());
  CHECK(past.transaction_id() == 0x0a0b0c0d);
}

TEST_CASE("limit: kMaxScrapeHashes (74) info hashes, and 75") {
  CHECK(kMaxScrapeHashes == (1500 - 16) / 20);
  const Bytes most = ScrapeOf(kMaxScrapeHashes);  // outlives the views into it
  RequestResult at = ParseRequest(most);
  REQUIRE(at.ok());
  const auto& s = std::get<ScrapeRequest>(at.value());
  CHECK(s.info_hashes.size() == 74);
  CHECK(s.info_hash(73)[0] == 73);
  CHECK(at.consumed() == 16 + 74 * 20);
  Bytes past_bytes = ScrapeOf(kMaxScrapeHashes + 1);
  CHECK(past_bytes.size() > kMaxRequestSize);
  RequestResult past = ParseRequest(past_bytes);
  REQUIRE(past.failed());
  CHECK(past.error() == ParseError::kTooManyInfoHashes);
  CHECK(past.sendable());
  // A single hash is the least: zero is a full scrape.
  CHECK(ParseRequest(ScrapeOf(1)).ok());
}

TEST_CASE("limit: every request over kMaxRequestSize is refused") {
  for (uint8_t action = 0; action < 4; ++action) {
    for (size_t size :
         {kMaxRequestSize + 1, kMaxRequestSize + 15, kMaxRequestSize + 16, size_t{65535}}) {
      Bytes b =
          action == 0 ? ToBytes(vectors::kConnectRequest) : ToBytes(vectors::kAnnounceRequest);
      b[11] = action;
      b.resize(size, 0);
      CAPTURE(action);
      CAPTURE(size);
      CHECK(ParseRequest(b).failed());
    }
  }
}

TEST_CASE("limit: a response of kMaxResponseSize bytes is parsed, one more is refused") {
  Bytes b = ToBytes(vectors::kErrorResponse);
  b.resize(kMaxResponseSize, 'x');
  ResponseResult at = ParseResponse(b, IpFamily::kV4);
  REQUIRE(at.ok());
  CHECK(std::get<ErrorResponse>(at.value()).message.size() == kMaxResponseSize - 8);
  b.push_back('x');
  ResponseResult past = ParseResponse(b, IpFamily::kV4);
  REQUIRE(past.failed());
  CHECK(past.error() == ParseError::kTooLong);
  CHECK(past.transaction_id() == 0x11223344);

  // The most IPv4 peers, then one more.
  Bytes peers(20 + 6 * kMaxPeersV4, 0);
  peers[3] = 1;
  CHECK(peers.size() <= kMaxResponseSize);
  ResponseResult most = ParseResponse(peers, IpFamily::kV4);
  REQUIRE(most.ok());
  CHECK(std::get<AnnounceResponse>(most.value()).peers.size() == kMaxPeersV4);
  peers.resize(peers.size() + 6, 0);
  CHECK(ParseResponse(peers, IpFamily::kV4).error() == ParseError::kTooLong);
}

// ---- Over-reads and allocations ----

TEST_CASE("no over-read: every prefix of every message, at the end of a guard page") {
  // Each request, and the prefix lengths that are themselves valid requests: an
  // announce with options is valid from 98 bytes on, a scrape at 16 + 20 * n, n >= 1.
  struct Case {
    std::span<const uint8_t> message;
    bool (*valid_prefix)(size_t n);
  };
  const std::vector<Case> requests = {
      {vectors::kConnectRequest, [](size_t n) { return n == 16; }},
      {vectors::kAnnounceRequest, [](size_t n) { return n == 98; }},
      {vectors::kAnnounceRequestWithOptions, [](size_t n) { return n >= 98; }},
      {vectors::kScrapeRequest, [](size_t n) { return n > 16 && (n - 16) % 20 == 0; }},
  };
  for (const Case& c : requests) {
    for (size_t n = 0; n <= c.message.size(); ++n) {
      CAPTURE(n);
      testing::GuardedBuffer guarded(c.message.first(n));
      RequestResult r = ParseRequest(guarded.span());
      CHECK(r.ok() == c.valid_prefix(n));
      if (r.ok()) CHECK(r.consumed() <= n);
    }
  }
  const std::vector<std::pair<std::span<const uint8_t>, IpFamily>> responses = {
      {vectors::kConnectResponse, IpFamily::kV4},
      {vectors::kAnnounceResponseV4, IpFamily::kV4},
      {vectors::kAnnounceResponseV6, IpFamily::kV6},
      {vectors::kScrapeResponse, IpFamily::kV4},
      {vectors::kErrorResponse, IpFamily::kV4}};
  for (const auto& [message, family] : responses) {
    for (size_t n = 0; n <= message.size(); ++n) {
      testing::GuardedBuffer guarded(message.first(n));
      ResponseResult r = ParseResponse(guarded.span(), family);
      if (r.ok()) {
        CHECK(r.consumed() <= n);
        // Reading every view touches only bytes of the datagram.
        if (const auto* a = std::get_if<AnnounceResponse>(&r.value())) {
          for (size_t i = 0; i < a->peers.size(); ++i) CHECK(a->peers[i].port != 0);
        }
        if (const auto* s = std::get_if<ScrapeResponse>(&r.value())) {
          for (const TorrentStats& t : s->stats) CHECK(t.seeders >= 0);
        }
      }
    }
  }
}

TEST_CASE("no over-read: reading every hash of the largest scrape, at a guard page") {
  Bytes b = ScrapeOf(kMaxScrapeHashes);
  testing::GuardedBuffer guarded(b);
  RequestResult r = ParseRequest(guarded.span());
  REQUIRE(r.ok());
  const auto& s = std::get<ScrapeRequest>(r.value());
  for (size_t i = 0; i < s.info_hashes.size(); ++i) CHECK(s.info_hash(i)[19] == i);
}

TEST_CASE("zero allocations: parsing every message type, and every error") {
  Bytes big_scrape = ScrapeOf(kMaxScrapeHashes);
  Bytes bad = ScrapeOf(0);
  testing::AllocationScope scope;
  uint64_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    RequestResult c = ParseRequest(vectors::kConnectRequest);
    RequestResult a = ParseRequest(vectors::kAnnounceRequestWithOptions);
    RequestResult s = ParseRequest(big_scrape);
    RequestResult e = ParseRequest(bad);
    ResponseResult rc = ParseResponse(vectors::kConnectResponse, IpFamily::kV4);
    ResponseResult r4 = ParseResponse(vectors::kAnnounceResponseV4, IpFamily::kV4);
    ResponseResult r6 = ParseResponse(vectors::kAnnounceResponseV6, IpFamily::kV6);
    ResponseResult rs = ParseResponse(vectors::kScrapeResponse, IpFamily::kV4);
    ResponseResult re = ParseResponse(vectors::kErrorResponse, IpFamily::kV4);
    sum += c.consumed() + a.consumed() + s.consumed() + e.transaction_id() + rc.consumed() +
           r4.consumed() + r6.consumed() + rs.consumed() + re.consumed();
    for (const InfoHash& h : std::get<ScrapeRequest>(s.value()).info_hashes) sum += h[0];
    sum += std::get<AnnounceResponse>(r6.value()).peers[0].port;
  }
  CHECK(scope.allocations() == 0);
  CHECK(sum > 0);
}

}  // namespace
}  // namespace reef::udp
