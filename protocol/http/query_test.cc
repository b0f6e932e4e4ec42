#include "protocol/http/query.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http/request.h"
#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::http {
namespace {

// 0x12 0x34 0x56 0x78 0x9a 0xbc 0xde 0xf1 0x23 0x45 0x67 0x89 0xab 0xcd 0xef 0x12 0x34 0x56
// 0x78 0x9a, encoded the way libtorrent does (unreserved bytes as themselves).
constexpr std::string_view kHashEncoded =
    "%124Vx%9a%bc%de%f1%23Eg%89%ab%cd%ef%124Vx%9a";
const InfoHash kHash = *InfoHash::FromHex("123456789abcdef123456789abcdef123456789a");
constexpr std::string_view kPeerIdText = "-qB4500-k2hJ5y9l1Yi0";

std::string Announce(std::string_view extra) {
  return "info_hash=" + std::string(kHashEncoded) + "&peer_id=" + std::string(kPeerIdText) +
         "&port=6881" + std::string(extra);
}

ParseError AnnounceError(std::string_view query, const QueryLimits& limits = {}) {
  auto r = ParseAnnounceQuery(query, limits);
  REQUIRE(r.failed());
  return r.error();
}

std::string S(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

TEST_CASE("percent-decoding") {
  std::array<uint8_t, 16> out;
  CHECK(PercentDecode("a%20b+c%2B%2b", out) == 7);
  CHECK(S(std::span(out).first(7)) == "a b c++");
  CHECK(PercentDecode("", out) == 0);
  CHECK_FALSE(PercentDecode("%", out).has_value());
  CHECK_FALSE(PercentDecode("%4", out).has_value());
  CHECK_FALSE(PercentDecode("ab%zz", out).has_value());
  CHECK_FALSE(PercentDecode("%g0", out).has_value());
  CHECK_FALSE(PercentDecode(std::string(17, 'x'), out).has_value());  // does not fit
  CHECK(PercentDecodedLength("%41%42c") == 3);
  CHECK_FALSE(PercentDecodedLength("%4").has_value());

  InfoHash h;
  CHECK_FALSE(PercentDecodeFixed(kHashEncoded, &h, ParseError::kBadInfoHash).has_value());
  CHECK(h == kHash);
  CHECK(PercentDecodeFixed("%12", &h, ParseError::kBadInfoHash) == ParseError::kBadInfoHash);
  CHECK(PercentDecodeFixed(std::string(21, 'a'), &h, ParseError::kBadInfoHash) ==
        ParseError::kBadInfoHash);
  // A bad escape after the 20th byte is still a bad escape.
  CHECK(PercentDecodeFixed(std::string(21, 'a') + "%x", &h, ParseError::kBadInfoHash) ==
        ParseError::kBadPercentEncoding);
  CHECK(PercentDecodeFixed(std::string(20, 'a'), &h, ParseError::kBadInfoHash) == std::nullopt);
}

TEST_CASE("query parameters") {
  std::string_view q = "&a=1&&b&c=x=y&";
  QueryParam p;
  REQUIRE(NextQueryParam(&q, &p));
  CHECK(p.key == "a");
  CHECK(p.value == "1");
  REQUIRE(NextQueryParam(&q, &p));
  CHECK(p.key == "b");
  CHECK(p.value.empty());
  REQUIRE(NextQueryParam(&q, &p));
  CHECK(p.key == "c");
  CHECK(p.value == "x=y");
  CHECK_FALSE(NextQueryParam(&q, &p));
}

TEST_CASE("announce: every key") {
  std::string q = Announce(
      "&uploaded=1000&downloaded=2000&left=3000&event=completed&compact=0&no_peer_id=1"
      "&numwant=80&key=A1B2C3D4&trackerid=t%2Fid&ip=10.0.0.7&ipv4=192.0.2.1%3A6882"
      "&ipv6=%5B2001%3Adb8%3A%3A1%5D%3A6883&supportcrypto=1&corrupt=0");
  auto r = ParseAnnounceQuery(q);
  REQUIRE(r.ok());
  CHECK(r.consumed() == q.size());
  const AnnounceRequest& a = r.value();
  CHECK(a.info_hash == kHash);
  CHECK(a.peer_id == *PeerId::FromString(kPeerIdText));
  CHECK(a.port == 6881);
  CHECK(a.uploaded == 1000);
  CHECK(a.downloaded == 2000);
  CHECK(a.left == 3000u);
  CHECK(a.event == Event::kCompleted);
  CHECK(a.compact == false);
  CHECK(a.no_peer_id);
  CHECK(a.numwant == 80u);
  CHECK(a.key == "A1B2C3D4");
  CHECK(a.tracker_id == "t%2Fid");  // raw, as sent
  REQUIRE(a.ip.has_value());
  CHECK(*a.ip == IpAddress::V4({10, 0, 0, 7}));
  REQUIRE(a.ipv4.has_value());
  CHECK(a.ipv4->address == IpAddress::V4({192, 0, 2, 1}));
  CHECK(a.ipv4->port == 6882);
  REQUIRE(a.ipv6.has_value());
  CHECK(a.ipv6->address == *ParseIpAddress("2001:db8::1"));
  CHECK(a.ipv6->port == 6883);
}

TEST_CASE("announce: defaults when optional keys are absent") {
  auto r = ParseAnnounceQuery(Announce(""));
  REQUIRE(r.ok());
  const AnnounceRequest& a = r.value();
  CHECK(a.uploaded == 0);
  CHECK(a.downloaded == 0);
  CHECK_FALSE(a.left.has_value());
  CHECK(a.event == Event::kNone);
  CHECK_FALSE(a.compact.has_value());
  CHECK_FALSE(a.no_peer_id);
  CHECK_FALSE(a.numwant.has_value());
  CHECK(a.key.empty());
  CHECK_FALSE(a.ip.has_value());
  CHECK_FALSE(a.ipv4.has_value());
  CHECK_FALSE(a.ipv6.has_value());
}

TEST_CASE("announce: required keys and 20-byte fields") {
  CHECK(AnnounceError("peer_id=" + std::string(kPeerIdText) + "&port=1") ==
        ParseError::kMissingInfoHash);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&port=1") ==
        ParseError::kMissingPeerId);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&peer_id=" +
                      std::string(kPeerIdText)) == ParseError::kMissingPort);
  CHECK(AnnounceError("") == ParseError::kMissingInfoHash);
  // 19 and 21 bytes.
  CHECK(AnnounceError("info_hash=" + std::string(19, 'a') + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=1") == ParseError::kBadInfoHash);
  CHECK(AnnounceError("info_hash=" + std::string(21, 'a') + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=1") == ParseError::kBadInfoHash);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&peer_id=abc&port=1") ==
        ParseError::kBadPeerId);
  CHECK(AnnounceError("info_hash=%1" + std::string(kHashEncoded) + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=1") ==
        ParseError::kBadPercentEncoding);
  // A hex info hash (40 characters) is not 20 bytes.
  CHECK(AnnounceError("info_hash=123456789abcdef123456789abcdef123456789a&peer_id=" +
                      std::string(kPeerIdText) + "&port=1") == ParseError::kBadInfoHash);
  // Percent-encoded key names are decoded.
  auto r = ParseAnnounceQuery("info%5Fhash=" + std::string(kHashEncoded) +
                              "&peer_id=" + std::string(kPeerIdText) + "&port=1");
  REQUIRE(r.ok());
  CHECK(r.value().info_hash == kHash);
  CHECK(AnnounceError(Announce("&%zz=1")) == ParseError::kBadPercentEncoding);
  // Known keys are matched raw first; an encoded spelling of one is still that key, so a
  // repeat through it is a repeat.
  CHECK(AnnounceError(Announce("&p%6Frt=2")) == ParseError::kRepeatedParameter);
  CHECK(AnnounceError(Announce("&num%5Fwant=x")) == ParseError::kBadNumwant);
  // Keys are case-sensitive, and a key one byte off is unknown (ignored).
  for (std::string_view other : {"&Port=x", "&por=x", "&portt=x", "&ip4=x", "&event_=x",
                                 "&info+hash=x", "&numwant2=x", "&no_peer=x"}) {
    CAPTURE(other);
    CHECK(ParseAnnounceQuery(Announce(other)).ok());
  }
  CHECK(ErrorReason(ParseError::kBadInfoHash) == "info_hash must be 20 bytes");
}

TEST_CASE("announce: numbers as real clients send them") {
  auto value = [](std::string_view extra) {
    auto r = ParseAnnounceQuery(Announce(extra));
    REQUIRE(r.ok());
    return r.value();
  };
  CHECK(value("&left=18446744073709551615").left == UINT64_MAX);
  CHECK(value("&left=18446744073709551616").left == UINT64_MAX);  // saturates
  CHECK(value("&left=99999999999999999999999999").left == UINT64_MAX);
  CHECK(value("&uploaded=-1234").uploaded == 0);  // negative reads as 0
  CHECK(value("&downloaded=0000042").downloaded == 42);
  CHECK(value("&numwant=-1").numwant == std::nullopt);
  CHECK(value("&numwant=4294967296").numwant == UINT32_MAX);
  CHECK(value("&num_want=50").numwant == 50u);
  const std::string no_port =
      "info_hash=" + std::string(kHashEncoded) + "&peer_id=" + std::string(kPeerIdText);
  CHECK(ParseAnnounceQuery(no_port + "&port=0").value().port == 0);
  CHECK(ParseAnnounceQuery(no_port + "&port=65535").value().port == 65535);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=65536") == ParseError::kBadPort);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=-1") == ParseError::kBadPort);
  CHECK(AnnounceError("info_hash=" + std::string(kHashEncoded) + "&peer_id=" +
                      std::string(kPeerIdText) + "&port=") == ParseError::kBadPort);
  CHECK(AnnounceError(Announce("&left=")) == ParseError::kBadLeft);
  CHECK(AnnounceError(Announce("&left=12a")) == ParseError::kBadLeft);
  CHECK(AnnounceError(Announce("&left=-")) == ParseError::kBadLeft);
  CHECK(AnnounceError(Announce("&uploaded=1.5")) == ParseError::kBadUploaded);
  CHECK(AnnounceError(Announce("&downloaded=%31")) == ParseError::kBadDownloaded);
  CHECK(AnnounceError(Announce("&numwant=x")) == ParseError::kBadNumwant);
}

TEST_CASE("announce: event, compact, no_peer_id") {
  auto event = [](std::string_view extra) {
    auto r = ParseAnnounceQuery(Announce(extra));
    REQUIRE(r.ok());
    return r.value().event;
  };
  CHECK(event("&event=started") == Event::kStarted);
  CHECK(event("&event=stopped") == Event::kStopped);
  CHECK(event("&event=completed") == Event::kCompleted);
  CHECK(event("&event=paused") == Event::kPaused);
  CHECK(event("&event=") == Event::kNone);
  CHECK(event("&event=empty") == Event::kNone);
  CHECK(AnnounceError(Announce("&event=Started")) == ParseError::kBadEvent);
  CHECK(AnnounceError(Announce("&compact=2")) == ParseError::kBadCompact);
  CHECK(AnnounceError(Announce("&compact=")) == ParseError::kBadCompact);
  CHECK(AnnounceError(Announce("&no_peer_id=yes")) == ParseError::kBadNoPeerId);
  auto r = ParseAnnounceQuery(Announce("&no_peer_id&compact=1"));
  REQUIRE(r.ok());
  CHECK(r.value().no_peer_id);
  CHECK(r.value().compact == true);
}

TEST_CASE("announce: ip, ipv4, ipv6 forms") {
  auto parse = [](std::string_view extra) {
    auto r = ParseAnnounceQuery(Announce(extra));
    REQUIRE(r.ok());
    return r.value();
  };
  CHECK(parse("&ip=2001%3Adb8%3A%3A2").ip == ParseIpAddress("2001:db8::2"));
  CHECK_FALSE(parse("&ip=tracker.example.org").ip.has_value());  // DNS name: not resolved
  CHECK(AnnounceError(Announce("&ip=1.2.3.256")) == ParseError::kBadIp);
  CHECK(AnnounceError(Announce("&ip=1%3A%3Ax")) == ParseError::kBadIp);
  auto v4 = parse("&ipv4=1.2.3.4");
  CHECK(v4.ipv4->address == IpAddress::V4({1, 2, 3, 4}));
  CHECK_FALSE(v4.ipv4->port.has_value());
  auto v6 = parse("&ipv6=2001%3Adb8%3A%3A1");
  CHECK(v6.ipv6->address == *ParseIpAddress("2001:db8::1"));
  CHECK_FALSE(v6.ipv6->port.has_value());
  CHECK_FALSE(parse("&ipv6=%5B%3A%3A1%5D").ipv6->port.has_value());
  CHECK(AnnounceError(Announce("&ipv4=2001%3Adb8%3A%3A1")) == ParseError::kBadIpv4);
  CHECK(AnnounceError(Announce("&ipv4=1.2.3.4%3A70000")) == ParseError::kBadIpv4);
  CHECK(AnnounceError(Announce("&ipv4=1.2.3.4%3A")) == ParseError::kBadIpv4);
  CHECK(AnnounceError(Announce("&ipv6=1.2.3.4")) == ParseError::kBadIpv6);
  CHECK(AnnounceError(Announce("&ipv6=%5B%3A%3A1")) == ParseError::kBadIpv6);
  CHECK(AnnounceError(Announce("&ipv6=%5B%3A%3A1%5Dx")) == ParseError::kBadIpv6);
  CHECK(AnnounceError(Announce("&ipv6=" + std::string(100, 'a'))) == ParseError::kBadIpv6);
}

TEST_CASE("announce: a known key twice is refused, an unknown one is ignored") {
  CHECK(AnnounceError(Announce("&port=1")) == ParseError::kRepeatedParameter);
  CHECK(AnnounceError(Announce("&info_hash=" + std::string(kHashEncoded))) ==
        ParseError::kRepeatedParameter);
  CHECK(AnnounceError(Announce("&left=1&left=1")) == ParseError::kRepeatedParameter);
  CHECK(ParseAnnounceQuery(Announce("&x=1&x=2")).ok());
}

TEST_CASE("announce limits: key, trackerid and parameter count at and past the limit") {
  CHECK(ParseAnnounceQuery(Announce("&key=" + std::string(kDefaultMaxKeyBytes, 'k'))).ok());
  CHECK(AnnounceError(Announce("&key=" + std::string(kDefaultMaxKeyBytes + 1, 'k'))) ==
        ParseError::kBadKey);
  CHECK(ParseAnnounceQuery(
            Announce("&trackerid=" + std::string(kDefaultMaxTrackerIdBytes, 't')))
            .ok());
  CHECK(AnnounceError(Announce("&trackerid=" +
                               std::string(kDefaultMaxTrackerIdBytes + 1, 't'))) ==
        ParseError::kBadTrackerId);
  std::string q = Announce("");  // 3 parameters
  for (size_t i = 3; i < kDefaultMaxQueryParameters; ++i) q += "&x=1";
  CHECK(ParseAnnounceQuery(q).ok());
  CHECK(AnnounceError(q + "&x=1") == ParseError::kTooManyParameters);
}

std::string ScrapeQuery(size_t n) {
  std::string q;
  for (size_t i = 0; i < n; ++i) {
    if (i) q += '&';
    q += "info_hash=";
    q += std::string(19, 'a');
    q += static_cast<char>('A' + i % 26);
  }
  return q;
}

TEST_CASE("scrape: info hashes 1..N, in order, as a view") {
  std::string q = "info_hash=" + std::string(kHashEncoded) + "&foo=bar&info_hash=" +
                  std::string(20, 'b') + "&info_hash=%41%41%41%41%41%41%41%41%41%41" +
                  std::string(10, 'A');
  auto r = ParseScrapeQuery(q);
  REQUIRE(r.ok());
  CHECK(r.consumed() == q.size());
  const InfoHashList& list = r.value().info_hashes;
  REQUIRE(list.size() == 3);
  std::vector<InfoHash> got(list.begin(), list.end());
  REQUIRE(got.size() == 3);
  CHECK(got[0] == kHash);
  CHECK(got[1] == *InfoHash::FromString(std::string(20, 'b')));
  CHECK(got[2] == *InfoHash::FromString(std::string(20, 'A')));
  // Iterating twice gives the same.
  std::vector<InfoHash> again(list.begin(), list.end());
  CHECK(again == got);
}

TEST_CASE("scrape: errors") {
  auto error = [](std::string_view q, const QueryLimits& limits = {}) {
    auto r = ParseScrapeQuery(q, limits);
    REQUIRE(r.failed());
    return r.error();
  };
  CHECK(error("") == ParseError::kFullScrapeNotSupported);
  CHECK(error("foo=bar") == ParseError::kFullScrapeNotSupported);
  CHECK(ErrorReason(ParseError::kFullScrapeNotSupported) == "full scrapes are not supported");
  CHECK(error("info_hash=abc") == ParseError::kBadInfoHash);
  CHECK(error("info_hash=" + std::string(20, 'a') + "&info_hash=%") ==
        ParseError::kBadPercentEncoding);
  CHECK(ParseScrapeQuery(ScrapeQuery(kDefaultMaxScrapeInfoHashes)).ok());
  CHECK(error(ScrapeQuery(kDefaultMaxScrapeInfoHashes + 1)) == ParseError::kTooManyInfoHashes);
  QueryLimits limits;
  limits.max_scrape_info_hashes = 2;
  CHECK(ParseScrapeQuery(ScrapeQuery(2), limits).ok());
  CHECK(error(ScrapeQuery(3), limits) == ParseError::kTooManyInfoHashes);
}

AnnounceRequest FullAnnounce() {
  AnnounceRequest a;
  a.info_hash = kHash;
  a.peer_id = *PeerId::FromString(kPeerIdText);
  a.port = 51413;
  a.uploaded = 1;
  a.downloaded = UINT64_MAX;
  a.left = 0;
  a.event = Event::kStarted;
  a.compact = true;
  a.no_peer_id = true;
  a.numwant = 200;
  a.key = "7f3a%2B9";
  a.tracker_id = "abc";
  a.ip = ParseIpAddress("::ffff:1.2.3.4");
  a.ipv4 = IpEndpoint{IpAddress::V4({1, 2, 3, 4}), 80};
  a.ipv6 = IpEndpoint{*ParseIpAddress("fe80::1"), std::nullopt};
  return a;
}

TEST_CASE("writer: announce request round-trips through ParseRequest and ParseAnnounceQuery") {
  AnnounceRequest a = FullAnnounce();
  std::array<uint8_t, 1024> buf;
  RequestOptions options;
  options.host = "127.0.0.1:6969";
  options.keep_alive = false;
  WriteResult w = WriteAnnounceRequest(a, options, buf);
  REQUIRE(w.ok());
  std::string_view text(reinterpret_cast<const char*>(buf.data()), w.length());
  std::array<Header, 8> headers;
  auto req = ParseRequest(text, headers);
  REQUIRE(req.ok());
  CHECK(req.consumed() == text.size());
  CHECK(req.value().path == "/announce");
  CHECK(req.value().FindHeader("host") == "127.0.0.1:6969");
  CHECK_FALSE(req.value().keep_alive);
  auto parsed = ParseAnnounceQuery(req.value().query);
  REQUIRE(parsed.ok());
  CHECK(parsed.value() == a);

  // Every shorter buffer fails cleanly.
  for (size_t n = 0; n < w.length(); ++n) {
    std::vector<uint8_t> small(n);
    WriteResult s = WriteAnnounceRequest(a, options, small);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error() == WriteError::kBufferTooSmall);
  }
}

TEST_CASE("writer: scrape request round-trips") {
  std::vector<InfoHash> hashes = {kHash, *InfoHash::FromString(std::string(20, '+')),
                                  InfoHash()};
  std::array<uint8_t, 1024> buf;
  RequestOptions options;
  options.path = "/scrape";
  WriteResult w = WriteScrapeRequest(hashes, options, buf);
  REQUIRE(w.ok());
  std::string_view text(reinterpret_cast<const char*>(buf.data()), w.length());
  std::array<Header, 8> headers;
  auto req = ParseRequest(text, headers);
  REQUIRE(req.ok());
  CHECK(req.value().keep_alive);
  auto parsed = ParseScrapeQuery(req.value().query);
  REQUIRE(parsed.ok());
  std::vector<InfoHash> got(parsed.value().info_hashes.begin(),
                            parsed.value().info_hashes.end());
  CHECK(got == hashes);
  CHECK_FALSE(WriteScrapeQuery({}, buf).ok());
}

TEST_CASE("writer: refuses values it cannot write") {
  std::array<uint8_t, 1024> buf;
  AnnounceRequest a = FullAnnounce();
  a.key = "a&b";
  auto w = WriteAnnounceQuery(a, buf);
  REQUIRE_FALSE(w.ok());
  CHECK(w.error() == WriteError::kInvalidValue);
  a = FullAnnounce();
  a.tracker_id = "%4";
  CHECK_FALSE(WriteAnnounceQuery(a, buf).ok());
  a = FullAnnounce();
  a.ipv4->address = *ParseIpAddress("::1");
  CHECK_FALSE(WriteAnnounceQuery(a, buf).ok());
  RequestOptions bad;
  bad.path = "announce";
  CHECK_FALSE(WriteAnnounceRequest(FullAnnounce(), bad, buf).ok());
  bad.path = "/a\r\nX: y";
  CHECK_FALSE(WriteAnnounceRequest(FullAnnounce(), bad, buf).ok());
}

TEST_CASE("percent-encoding is RFC 3986: unreserved as is, the rest %XX") {
  std::array<uint8_t, 64> out;
  const std::string in = "aZ09-._~ +/%\xff";
  auto w = PercentEncode(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()), out);
  REQUIRE(w.ok());
  CHECK(S(std::span(out).first(w.length())) == "aZ09-._~%20%2B%2F%25%FF");
}

TEST_CASE("no allocation: parsing and writing") {
  std::string q = Announce("&uploaded=1&left=5&event=started&ipv6=%3A%3A1&key=abc");
  std::string s = ScrapeQuery(10);
  AnnounceRequest a = FullAnnounce();
  std::array<uint8_t, 1024> buf;
  std::array<InfoHash, 2> hashes = {kHash, kHash};
  testing::AllocationScope scope;
  auto r = ParseAnnounceQuery(q);
  auto sc = ParseScrapeQuery(s);
  size_t n = 0;
  if (sc.ok()) {
    for (const InfoHash& h : sc.value().info_hashes) n += h[0];
  }
  auto bad = ParseAnnounceQuery("info_hash=%zz");
  auto w1 = WriteAnnounceRequest(a, {}, buf);
  auto w2 = WriteScrapeRequest(hashes, {}, buf);
  CHECK(scope.allocations() == 0);
  CHECK(r.ok());
  CHECK(sc.ok());
  CHECK(n == 10 * 'a');
  CHECK(bad.failed());
  CHECK(w1.ok());
  CHECK(w2.ok());
}

TEST_CASE("never reads past the input (guarded buffers, every prefix)") {
  std::string q = Announce("&ipv6=%5B%3A%3A1%5D%3A80&ip=1.2.3.4&key=abc%41");
  std::string s = "info_hash=" + std::string(kHashEncoded) + "&info_hash=%41";
  for (const std::string& text : {q, s}) {
    for (size_t n = 0; n <= text.size(); ++n) {
      testing::GuardedBuffer buf(std::string_view(text).substr(0, n));
      auto a = ParseAnnounceQuery(buf.view());
      auto b = ParseScrapeQuery(buf.view());
      if (b.ok()) {
        for (const InfoHash& h : b.value().info_hashes) (void)h;
      }
      CHECK((a.ok() || a.failed()));
    }
  }
}

}  // namespace
}  // namespace reef::http
