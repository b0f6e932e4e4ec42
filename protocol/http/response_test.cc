#include "protocol/http/response.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/http/response_parser.h"
#include "testing/alloc_counter.h"
#include "testing/guarded_buffer.h"

namespace reef::http {
namespace {

std::string_view Text(std::span<const uint8_t> buf, size_t n) {
  return std::string_view(reinterpret_cast<const char*>(buf.data()), n);
}

std::string_view Text(std::span<const uint8_t> buf, WriteResult r) {
  REQUIRE(r.ok());
  return Text(buf, r.length());
}

bool Strict(std::string_view body) {
  BencodeLimits strict;
  strict.strict = true;
  return CheckBencode(body, strict).ok();
}

const PeerId kPeerA = *PeerId::FromString("-qB4500-aaaaaaaaaaaa");
const PeerId kPeerB = *PeerId::FromString("-TR3000-bbbbbbbbbbbb");

TEST_CASE("a failure response, byte for byte, with a patched Content-Length") {
  std::array<uint8_t, 256> buf;
  auto r = WriteFailureResponse("info_hash must be 20 bytes", false, buf);
  CHECK(Text(buf, r) ==
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: text/plain\r\n"
        "Connection: close\r\n"
        "Content-Length:        48\r\n"
        "\r\n"
        "d14:failure reason26:info_hash must be 20 bytese");
  auto m = WriteFailureResponse("only GET requests are accepted", true, buf, 405);
  CHECK(Text(buf, m).starts_with(
      "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n"
      "Connection: keep-alive\r\nAllow: GET\r\nContent-Length:        52\r\n\r\n"));
}

TEST_CASE("compact announce body: peers and peers6, byte for byte") {
  std::array<uint8_t, 256> buf;
  AnnounceCounts counts;
  counts.interval = 1800;
  counts.min_interval = 900;
  counts.complete = 2;
  counts.incomplete = 1;
  AnnounceBodyWriter w(buf, counts);
  w.BeginPeers(2);
  w.AddPeer(std::array<uint8_t, 4>{127, 0, 0, 1}, 6881);
  w.AddPeer(std::array<uint8_t, 4>{192, 0, 2, 1}, 0x1ae2);
  w.BeginPeers6(1);
  std::array<uint8_t, 16> v6{};
  v6[15] = 1;
  w.AddPeer6(v6, 80);
  std::string_view body = Text(buf, w.Finish());
  constexpr char kExpected[] =
      "d8:completei2e10:incompletei1e8:intervali1800e12:min intervali900e"
      "5:peers12:\x7f\x00\x00\x01\x1a\xe1\xc0\x00\x02\x01\x1a\xe2"
      "6:peers618:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x50"
      "e";
  CHECK(body == std::string_view(kExpected, sizeof(kExpected) - 1));
  CHECK(Strict(body));
}

TEST_CASE("announce body: no peers, only peers6, tracker id and warning") {
  std::array<uint8_t, 256> buf;
  AnnounceCounts counts;
  counts.interval = 60;
  counts.tracker_id = "t1";
  counts.warning_message = "slow down";
  {
    AnnounceBodyWriter w(buf, counts);
    CHECK(Text(buf, w.Finish()) ==
          "d8:completei0e10:incompletei0e8:intervali60e5:peers0:"
          "10:tracker id2:t115:warning message9:slow downe");
  }
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeers6(0);
    std::string_view body = Text(buf, w.Finish());
    CHECK(body == "d8:completei0e10:incompletei0e8:intervali0e5:peers0:6:peers60:e");
    CHECK(Strict(body));
  }
}

TEST_CASE("non-compact announce body, with and without peer id") {
  std::array<uint8_t, 512> buf;
  std::vector<ResponsePeer> peers = {
      {IpAddress::V4({10, 0, 0, 1}), 6881, kPeerA},
      {*ParseIpAddress("2001:db8::5"), 51413, kPeerB},
  };
  AnnounceResponse response;
  response.counts.interval = 1800;
  response.peers = peers;
  response.compact = false;
  std::string_view with = Text(buf, WriteAnnounceBody(response, buf));
  CHECK(with ==
        "d8:completei0e10:incompletei0e8:intervali1800e5:peersl"
        "d2:ip8:10.0.0.17:peer id20:-qB4500-aaaaaaaaaaaa4:porti6881ee"
        "d2:ip11:2001:db8::57:peer id20:-TR3000-bbbbbbbbbbbb4:porti51413ee"
        "ee");
  CHECK(Strict(with));
  response.include_peer_id = false;
  std::string_view without = Text(buf, WriteAnnounceBody(response, buf));
  CHECK(without ==
        "d8:completei0e10:incompletei0e8:intervali1800e5:peersl"
        "d2:ip8:10.0.0.14:porti6881ee"
        "d2:ip11:2001:db8::54:porti51413ee"
        "ee");
}

TEST_CASE("announce writer: calls out of order or counts that do not match are refused") {
  std::array<uint8_t, 256> buf;
  std::array<uint8_t, 4> a{1, 2, 3, 4};
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeers(2);
    w.AddPeer(a, 1);
    CHECK(w.Finish().error() == WriteError::kInvalidValue);  // one short
  }
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeers(1);
    w.AddPeer(a, 1);
    w.AddPeer(a, 1);  // one too many
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
  }
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeerList();
    CHECK(w.Finish().error() == WriteError::kInvalidValue);  // list not ended
  }
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeerList();
    w.EndPeerList();
    w.BeginPeers6(0);  // peers6 after a list
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
  }
  {
    AnnounceBodyWriter w(buf, {});
    w.BeginPeers(1);
    w.BeginPeers6(0);  // peers6 while IPv4 peers are missing
    CHECK(w.Finish().error() == WriteError::kInvalidValue);
  }
  {
    AnnounceBodyWriter w(buf, {});
    CHECK(w.Finish().ok());
    CHECK(w.Finish().error() == WriteError::kInvalidValue);  // twice
  }
}

TEST_CASE("scrape body: keyed by raw 20-byte hashes, in order") {
  std::array<uint8_t, 256> buf;
  ScrapeBodyWriter w(buf);
  w.AddFile(*InfoHash::FromString("aaaaaaaaaaaaaaaaaaaa"), {5, 7, 3});
  w.AddFile(*InfoHash::FromString("bbbbbbbbbbbbbbbbbbbb"), {0, 0, 0});
  std::string_view body = Text(buf, w.Finish());
  CHECK(body ==
        "d5:filesd"
        "20:aaaaaaaaaaaaaaaaaaaad8:completei5e10:downloadedi7e10:incompletei3ee"
        "20:bbbbbbbbbbbbbbbbbbbbd8:completei0e10:downloadedi0e10:incompletei0ee"
        "ee");
  CHECK(Strict(body));
  ScrapeBodyWriter bad(buf);
  bad.AddFile(*InfoHash::FromString("bbbbbbbbbbbbbbbbbbbb"), {});
  bad.AddFile(*InfoHash::FromString("bbbbbbbbbbbbbbbbbbbb"), {});
  CHECK(bad.Finish().error() == WriteError::kInvalidValue);

  std::array<InfoHash, 4> hashes = {*InfoHash::FromString("cccccccccccccccccccc"),
                                    *InfoHash::FromString("aaaaaaaaaaaaaaaaaaaa"),
                                    *InfoHash::FromString("cccccccccccccccccccc"),
                                    *InfoHash::FromString("bbbbbbbbbbbbbbbbbbbb")};
  size_t n = SortUniqueInfoHashes(hashes);
  REQUIRE(n == 3);
  CHECK(hashes[0] < hashes[1]);
  CHECK(hashes[1] < hashes[2]);
}

TEST_CASE("every serializer fails cleanly in every too-small buffer") {
  std::array<uint8_t, 512> big;
  std::vector<ResponsePeer> peers = {{IpAddress::V4({1, 2, 3, 4}), 1, kPeerA},
                                     {*ParseIpAddress("::1"), 2, kPeerB}};
  AnnounceResponse compact;
  compact.counts.interval = 1800;
  compact.peers = peers;
  AnnounceResponse list = compact;
  list.compact = false;
  auto write_all = [&](std::span<uint8_t> out, int which) -> WriteResult {
    switch (which) {
      case 0: return WriteAnnounceBody(compact, out);
      case 1: return WriteAnnounceBody(list, out);
      case 2: return WriteFailureResponse("nope", true, out);
      default: {
        ScrapeBodyWriter s(out);
        s.AddFile(InfoHash(), {1, 2, 3});
        return s.Finish();
      }
    }
  };
  for (int which = 0; which < 4; ++which) {
    WriteResult full = write_all(big, which);
    REQUIRE(full.ok());
    for (size_t n = 0; n < full.length(); ++n) {
      std::vector<uint8_t> small(n + 1, 0xAA);
      WriteResult r = write_all(std::span<uint8_t>(small).first(n), which);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error() == WriteError::kBufferTooSmall);
      CHECK(small[n] == 0xAA);  // nothing past the end
    }
  }
}

TEST_CASE("a response head with the caller's content type") {
  std::array<uint8_t, 256> buf;
  HttpResponseWriter http(buf, 200, false, "text/html; charset=utf-8");
  constexpr std::string_view kBody = "<p>hi</p>";
  std::copy(kBody.begin(), kBody.end(), http.body().begin());
  const WriteResult total = http.Finish(kBody.size());
  const std::string_view text = Text(buf, total);
  std::array<Header, 8> headers;
  auto head = ParseResponseHead(text, headers);
  REQUIRE(head.ok());
  CHECK(head.value().FindHeader("content-type") == "text/html; charset=utf-8");
  CHECK_FALSE(head.value().keep_alive);
  CHECK(text.substr(head.consumed()) == kBody);
}

TEST_CASE("responses parse back: head, compact announce, peers") {
  std::array<uint8_t, 512> buf;
  std::vector<ResponsePeer> peers = {{IpAddress::V4({1, 2, 3, 4}), 6881, kPeerA},
                                     {*ParseIpAddress("2001:db8::1"), 51413, kPeerB},
                                     {IpAddress::V4({5, 6, 7, 8}), 1, kPeerB}};
  AnnounceResponse response;
  response.counts = {1800, 60, 10, 20, "tid", "warn"};
  response.peers = peers;
  HttpResponseWriter http(buf, 200, true);
  WriteResult total = http.Finish(WriteAnnounceBody(response, http.body()));
  std::string_view text = Text(buf, total);

  std::array<Header, 8> headers;
  auto head = ParseResponseHead(text, headers);
  REQUIRE(head.ok());
  CHECK(head.value().status == 200);
  CHECK(head.value().reason == "OK");
  CHECK(head.value().keep_alive);
  CHECK(head.value().FindHeader("content-type") == "text/plain");
  REQUIRE(head.value().content_length.has_value());
  CHECK(*head.value().content_length == text.size() - head.consumed());

  auto body = ParseAnnounceResponse(text.substr(head.consumed()));
  REQUIRE(body.ok());
  const AnnounceResponseView& v = body.value();
  CHECK(v.interval == 1800);
  CHECK(v.min_interval == 60);
  CHECK(v.complete == 10);
  CHECK(v.incomplete == 20);
  CHECK(v.tracker_id == "tid");
  CHECK(v.warning_message == "warn");
  CHECK_FALSE(v.failure_reason.has_value());
  CHECK(v.peer_count() == 3);
  PeerCursor cursor(v);
  ParsedPeer p;
  REQUIRE(cursor.Next(&p));
  CHECK(p.address == IpAddress::V4({1, 2, 3, 4}));
  CHECK(p.port == 6881);
  REQUIRE(cursor.Next(&p));
  CHECK(p.address == IpAddress::V4({5, 6, 7, 8}));  // IPv4 first, then IPv6
  REQUIRE(cursor.Next(&p));
  CHECK(p.address == ParseIpAddress("2001:db8::1"));
  CHECK(p.port == 51413);
  CHECK_FALSE(p.peer_id.has_value());
  CHECK_FALSE(cursor.Next(&p));
}

TEST_CASE("responses parse back: non-compact list, scrape, failure") {
  std::array<uint8_t, 512> buf;
  std::vector<ResponsePeer> peers = {{IpAddress::V4({1, 2, 3, 4}), 6881, kPeerA}};
  AnnounceResponse response;
  response.counts.interval = 5;
  response.peers = peers;
  response.compact = false;
  auto body = ParseAnnounceResponse(Text(buf, WriteAnnounceBody(response, buf)));
  REQUIRE(body.ok());
  CHECK(body.value().peer_list_size == 1);
  PeerCursor cursor(body.value());
  ParsedPeer p;
  REQUIRE(cursor.Next(&p));
  CHECK(p.address == IpAddress::V4({1, 2, 3, 4}));
  CHECK(p.ip_text == "1.2.3.4");
  CHECK(p.peer_id == kPeerA);
  CHECK_FALSE(cursor.Next(&p));

  ScrapeBodyWriter s(buf);
  s.AddFile(*InfoHash::FromString("aaaaaaaaaaaaaaaaaaaa"), {5, 7, 3});
  s.AddFile(*InfoHash::FromString("bbbbbbbbbbbbbbbbbbbb"), {1, 0, 9});
  auto scrape = ParseScrapeResponse(Text(buf, s.Finish()));
  REQUIRE(scrape.ok());
  CHECK(scrape.value().file_count == 2);
  ScrapeFileCursor files(scrape.value());
  ScrapeFile f;
  REQUIRE(files.Next(&f));
  CHECK(f.info_hash == *InfoHash::FromString("aaaaaaaaaaaaaaaaaaaa"));
  CHECK(f.stats == ScrapeStats{5, 7, 3});
  REQUIRE(files.Next(&f));
  CHECK(f.stats == ScrapeStats{1, 0, 9});
  CHECK_FALSE(files.Next(&f));

  auto failure = ParseAnnounceResponse(Text(buf, WriteFailureBody("go away", buf)));
  REQUIRE(failure.ok());
  CHECK(failure.value().failure_reason == "go away");
  auto scrape_failure = ParseScrapeResponse(Text(buf, WriteFailureBody("no", buf)));
  REQUIRE(scrape_failure.ok());
  CHECK(scrape_failure.value().failure_reason == "no");
}

TEST_CASE("response parsers refuse malformed bodies with specific errors") {
  auto announce_error = [](std::string_view body) {
    auto r = ParseAnnounceResponse(body);
    REQUIRE(r.failed());
    return r.error();
  };
  CHECK(announce_error("d8:intervali1e5:peers7:1234567e") == ParseError::kBadPeers);
  CHECK(announce_error("d8:intervali1e5:peers0:6:peers65:12345e") == ParseError::kBadPeers);
  CHECK(announce_error("d8:interval1:15:peers0:e") == ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali1ee") == ParseError::kBadResponse);  // no peers
  CHECK(announce_error("d5:peers0:e") == ParseError::kBadResponse);      // no interval
  CHECK(announce_error("d8:intervali1e5:peersi1ee") == ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali1e5:peersld2:ip1:xeee") == ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali1e5:peersld2:ip1:x4:porti70000eeee") ==
        ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali1e5:peersld2:ip1:x7:peer id1:y4:porti1eeee") ==
        ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali1e5:peers0:ee") == ParseError::kBencodeTrailingBytes);
  CHECK(announce_error("l8:intervale") == ParseError::kBadResponse);
  CHECK(announce_error("d8:intervali01e5:peers0:e") == ParseError::kBencodeBadInteger);
  CHECK(announce_error("d8:intervali1e5:peers0:") == ParseError::kBencodeTruncated);
  // Unknown keys are skipped, DNS names kept as text.
  auto ok = ParseAnnounceResponse(
      "d8:intervali1e5:peersld2:ip11:example.org4:porti1eee3:zzzld1:ai1eeee");
  REQUIRE(ok.ok());
  PeerCursor c(ok.value());
  ParsedPeer p;
  REQUIRE(c.Next(&p));
  CHECK_FALSE(p.address.has_value());
  CHECK(p.ip_text == "example.org");

  auto scrape_error = [](std::string_view body) {
    auto r = ParseScrapeResponse(body);
    REQUIRE(r.failed());
    return r.error();
  };
  CHECK(scrape_error("d5:filesd3:abcd8:completei1eeee") == ParseError::kBadScrapeFile);
  CHECK(scrape_error("d5:filesd20:aaaaaaaaaaaaaaaaaaaai1eee") == ParseError::kBadScrapeFile);
  CHECK(scrape_error("d5:filesd20:aaaaaaaaaaaaaaaaaaaad8:complete1:xeeee") ==
        ParseError::kBadScrapeFile);
  CHECK(scrape_error("de") == ParseError::kBadResponse);
  CHECK(scrape_error("d5:filesi1ee") == ParseError::kBadResponse);
}

TEST_CASE("response head: prefixes are incomplete, bad status lines are errors") {
  constexpr std::string_view head =
      "HTTP/1.0 200 OK\r\nContent-Length: 12\r\nConnection: keep-alive\r\n\r\n";
  std::array<Header, 4> headers;
  for (size_t n = 0; n < head.size(); ++n) {
    CAPTURE(n);
    CHECK(ParseResponseHead(head.substr(0, n), headers).incomplete());
  }
  auto r = ParseResponseHead(head, headers);
  REQUIRE(r.ok());
  CHECK(r.value().version_minor == 0);
  CHECK(r.value().keep_alive);
  CHECK(r.value().content_length == 12u);
  CHECK(ParseResponseHead("HTTP/1.1 200\r\n\r\n", headers).ok());  // empty reason
  for (std::string_view bad : {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
                               "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                               "HTTP/1.1 099 OK\r\n\r\n"}) {
    CAPTURE(bad);
    auto b = ParseResponseHead(bad, headers);
    REQUIRE(b.failed());
    CHECK(b.error() == ParseError::kBadStatusLine);
  }
  auto cl = ParseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", headers);
  REQUIRE(cl.failed());
  CHECK(cl.error() == ParseError::kBadContentLength);
}

TEST_CASE("no allocation: writing a response with peers and parsing it back") {
  std::array<uint8_t, 1024> buf;
  std::array<Header, 8> headers;
  std::array<uint8_t, 4> a{1, 2, 3, 4};
  testing::AllocationScope scope;
  HttpResponseWriter http(buf, 200, true);
  AnnounceBodyWriter body(http.body(), {1800, 900, 3, 4, {}, {}});
  body.BeginPeers(50);
  for (uint16_t i = 0; i < 50; ++i) body.AddPeer(a, i);
  WriteResult total = http.Finish(body.Finish());
  std::string_view text(reinterpret_cast<const char*>(buf.data()), total.length());
  auto head = ParseResponseHead(text, headers);
  auto parsed = ParseAnnounceResponse(text.substr(head.ok() ? head.consumed() : 0));
  size_t n = 0;
  if (parsed.ok()) {
    PeerCursor c(parsed.value());
    ParsedPeer p;
    while (c.Next(&p)) ++n;
  }
  ScrapeBodyWriter s(buf);
  s.AddFile(InfoHash(), {1, 2, 3});
  auto scraped = ParseScrapeResponse(Text(buf, s.Finish().length()));
  auto failure = WriteFailureResponse("x", true, buf);
  // Non-compact, IPv6 peers text-formatted, with and without peer ids, and parsed back.
  std::array<ResponsePeer, 2> list_peers = {
      ResponsePeer{IpAddress::V4({1, 2, 3, 4}), 1, PeerId()},
      ResponsePeer{IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 2,
                   PeerId()}};
  AnnounceResponse list;
  list.peers = list_peers;
  list.compact = false;
  auto list_body = WriteAnnounceBody(list, buf);
  auto list_parsed = ParseAnnounceResponse(Text(buf, list_body.length()));
  size_t listed = 0;
  if (list_parsed.ok()) {
    PeerCursor c(list_parsed.value());
    ParsedPeer p;
    while (c.Next(&p)) ++listed;
  }
  list.compact = true;
  auto compact6 = WriteAnnounceBody(list, buf);
  CHECK(scope.allocations() == 0);
  CHECK(list_body.ok());
  CHECK(listed == 2);
  CHECK(compact6.ok());
  CHECK(total.ok());
  CHECK(head.ok());
  CHECK(n == 50);
  CHECK(scraped.ok());
  CHECK(failure.ok());
}

TEST_CASE("response parsers never read past the input (guarded buffers, every prefix)") {
  std::array<uint8_t, 512> buf;
  std::vector<ResponsePeer> peers = {{IpAddress::V4({1, 2, 3, 4}), 6881, kPeerA},
                                     {*ParseIpAddress("::1"), 1, kPeerB}};
  AnnounceResponse response;
  response.counts.interval = 5;
  response.peers = peers;
  HttpResponseWriter http(buf, 200, false);
  std::string full(Text(buf, http.Finish(WriteAnnounceBody(response, http.body()))));
  response.compact = false;
  std::string list(Text(buf, WriteAnnounceBody(response, buf)));
  ScrapeBodyWriter s(buf);
  s.AddFile(InfoHash(), {1, 2, 3});
  std::string scrape(Text(buf, s.Finish()));
  std::array<Header, 8> headers;
  for (const std::string& text : {full, list, scrape}) {
    for (size_t n = 0; n <= text.size(); ++n) {
      testing::GuardedBuffer g(std::string_view(text).substr(0, n));
      (void)ParseResponseHead(g.view(), headers);
      auto a = ParseAnnounceResponse(g.view());
      if (a.ok()) {
        PeerCursor c(a.value());
        ParsedPeer p;
        while (c.Next(&p)) {
        }
      }
      auto sc = ParseScrapeResponse(g.view());
      if (sc.ok()) {
        ScrapeFileCursor c(sc.value());
        ScrapeFile f;
        while (c.Next(&f)) {
        }
      }
    }
  }
}

}  // namespace
}  // namespace reef::http
