// HttpTracker, the HTTP adapter over the tracker core, without sockets: each request is
// parsed from text, answered into a buffer, and the answer parsed back with the protocol
// library's response parsers.
#include "server/http/http_tracker.h"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "protocol/http/response_parser.h"
#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/common/http_page.h"
#include "server/http/response_size.h"
#include "server/swarm/torrent_store.h"
#include "server/http/reef_process_for_test.h"
#include "server/tcp/connection_test_util.h"
#include "testing/alloc_counter.h"

namespace reef::http_server {
namespace {

using tcp::testing::ParsedResponse;
using tcp::testing::ParseResponses;

constexpr char kHash[] = "%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa%aa";

struct Fixture {
  explicit Fixture(HttpTrackerOptions options = {}, tracker::Options core_options = {},
                   AccessListMode mode = AccessListMode::kOff)
      : store(swarm::TorrentStore::Create(
                  {.shards = 4, .max_response_peers = 100, .peer_inactivity_timeout_s = 1200})
                  .value()),
        access(mode),
        core(core_options, store, access, clock, 7),
        handler(options, core),
        out(handler.MaxResponseBytes()) {}

  // The response to `request` from `peer`, over TLS or not.
  ParsedResponse Ask(const std::string& request, const Endpoint& peer, bool tls = false) {
    std::array<http::Header, 32> headers;
    auto parsed = http::ParseRequest(request, headers);
    REQUIRE_MESSAGE(parsed.ok(), request);
    const tcp::RequestContext context{peer, tls, 0};
    const tcp::HandlerResponse r = handler.Respond(parsed.value(), context, true, out);
    REQUIRE(r.length > 0);
    REQUIRE(r.length <= out.size());
    last = std::string(reinterpret_cast<const char*>(out.data()), r.length);
    auto responses = ParseResponses(last);
    REQUIRE_MESSAGE(responses.has_value(), last);
    REQUIRE(responses->size() == 1);
    return responses->front();
  }

  FakeClock clock;
  swarm::TorrentStore store;
  AccessList access;
  tracker::Tracker core;
  HttpTracker handler;
  std::vector<uint8_t> out;
  std::string last;
};

Endpoint V4(uint8_t host, uint16_t port = 40000) { return Endpoint::V4({10, 0, 0, host}, port); }
Endpoint V6(uint8_t host, uint16_t port = 40000) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  a[15] = host;
  return Endpoint::V6(a, port);
}

std::string Announce(const std::string& peer_id, int port, const std::string& extra = "",
                     const std::string& hash = kHash) {
  return "GET /announce?info_hash=" + hash + "&peer_id=" + peer_id + "&port=" +
         std::to_string(port) + extra + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

using testing::AnnounceAnswer;

AnnounceAnswer View(const ParsedResponse& r) { return testing::ParseAnnounceAnswer(r); }

TEST_CASE("announce: compact IPv4 by default, with counts and both intervals") {
  Fixture f;
  f.Ask(Announce("-RF0001-seederseeder", 6881, "&left=0"), V4(1));
  const auto v = View(f.Ask(Announce("-RF0001-leecherleech", 6882, "&left=100"), V4(2)));
  CHECK(v.complete == 1);
  CHECK(v.incomplete == 1);
  CHECK(v.interval == 1800);
  CHECK(v.min_interval == 900);
  CHECK(v.peers_bytes == 6);
  CHECK(v.peers6_bytes == 0);
  const auto& peers = v.peers;
  REQUIRE(peers.size() == 1);
  CHECK(*peers[0].address == IpAddress::V4({10, 0, 0, 1}));
  CHECK(peers[0].port == 6881);
}

TEST_CASE("an IPv6 client gets peers6 (and an empty peers)") {
  Fixture f;
  f.Ask(Announce("-RF0001-seederseeder", 6881, "&left=0"), V6(1));
  f.Ask(Announce("-RF0001-ipv4peerpeer", 6881, "&left=0"), V4(1));  // another family
  const auto v = View(f.Ask(Announce("-RF0001-leecherleech", 6882, "&left=1"), V6(2)));
  CHECK(v.peers_bytes == 0);
  CHECK(v.peers6_bytes == 18);
  CHECK(v.peers[0].address == V6(1).address);
}

TEST_CASE("compact=0: dictionaries with peer ids, or without when no_peer_id=1") {
  Fixture f;
  f.Ask(Announce("-RF0001-seederseeder", 6881, "&left=0"), V4(1));
  f.Ask(Announce("-RF0001-seeder6seed6", 6883, "&left=0"), V6(3));
  auto peers = View(f.Ask(Announce("-RF0001-leecherleech", 6882, "&left=1&compact=0"), V4(2))).peers;
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].ip_text == "10.0.0.1");
  CHECK(peers[0].peer_id == PeerId::FromString("-RF0001-seederseeder"));
  peers = View(f.Ask(Announce("-RF0001-leecher6lee6", 6884, "&left=1&compact=0"), V6(4))).peers;
  REQUIRE(peers.size() == 1);
  CHECK(peers[0].ip_text == "2001:db8::3");
  peers = View(f.Ask(Announce("-RF0001-leecher2lee2", 6885, "&left=1&compact=0&no_peer_id=1"), V4(5))).peers;
  REQUIRE(peers.size() == 2);
  for (const auto& p : peers) CHECK_FALSE(p.peer_id.has_value());
}

TEST_CASE("a missing left makes a leecher; ip, ipv4 and ipv6 are ignored") {
  Fixture f;
  const auto v = View(f.Ask(Announce("-RF0001-magnetmagnet", 6881, "&ip=203.0.113.9&ipv4=203.0.113.8"), V4(1)));
  CHECK(v.complete == 0);
  CHECK(v.incomplete == 1);
  const auto other = View(f.Ask(Announce("-RF0001-otherother00", 6882, "&left=0"), V4(2)));
  const auto& peers = other.peers;
  REQUIRE(peers.size() == 1);
  CHECK(*peers[0].address == IpAddress::V4({10, 0, 0, 1}));  // where it came from
}

TEST_CASE("every refusal is a bencoded failure reason with status 200; unknown paths 404") {
  Fixture f;
  struct Case {
    std::string request;
    int status;
    std::string reason;
  };
  const Case cases[] = {
      {Announce("-RF0001-short", 6881), 200, "peer_id must be 20 bytes"},
      {Announce("-RF0001-portzeroport", 0), 200, "port must be 1-65535"},
      {"GET /announce?info_hash=x HTTP/1.1\r\n\r\n", 200, "info_hash must be 20 bytes"},
      {"GET /announce?info_hash=" + std::string(kHash) + "&peer_id=-RF0001-000000000000 HTTP/1.1\r\n\r\n",
       200, "port is missing"},
      {Announce("-RF0001-badevent0000", 1, "&event=bogus"), 200,
       "event must be started, stopped, completed, paused or empty"},
      {"GET /scrape HTTP/1.1\r\n\r\n", 200, "full scrapes are not supported"},
      {"GET /scrape?info_hash=%zz HTTP/1.1\r\n\r\n", 200, "malformed percent-encoding in query string"},
      {"GET / HTTP/1.1\r\n\r\n", 404, std::string(kReasonUnknownPath)},
      {"GET /announce/ HTTP/1.1\r\n\r\n", 404, std::string(kReasonUnknownPath)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.request);
    const ParsedResponse r = f.Ask(c.request, V4(1));
    CHECK(r.status == c.status);
    CHECK(r.failure_reason == c.reason);
    CHECK(r.keep_alive);
  }
}

// The whole answer to `request`, and its head parsed (the page's bodies are not bencode).
struct RawAnswer {
  std::string text;
  int status = 0;
  bool keep_alive = false;
  std::string content_type;
  std::string body;
};

RawAnswer AskRaw(Fixture& f, const std::string& request) {
  std::array<http::Header, 32> headers;
  auto parsed = http::ParseRequest(request, headers);
  REQUIRE_MESSAGE(parsed.ok(), request);
  const tcp::RequestContext context{V4(1), false, 0};
  const tcp::HandlerResponse r = f.handler.Respond(parsed.value(), context, true, f.out);
  REQUIRE(r.length > 0);
  REQUIRE(r.length <= f.out.size());
  CHECK_FALSE(r.close);
  RawAnswer answer;
  answer.text = std::string(reinterpret_cast<const char*>(f.out.data()), r.length);
  std::array<http::Header, 16> response_headers;
  auto head = http::ParseResponseHead(answer.text, response_headers);
  REQUIRE_MESSAGE(head.ok(), answer.text);
  answer.status = head.value().status;
  answer.keep_alive = head.value().keep_alive;
  answer.content_type = std::string(head.value().FindHeader("content-type").value_or(""));
  REQUIRE(head.value().content_length.has_value());
  answer.body = answer.text.substr(head.consumed());
  CHECK(answer.body.size() == *head.value().content_length);
  return answer;
}

HttpPages StatsLikePages(size_t max_body_bytes) {
  HttpPages pages;
  pages.max_body_bytes = max_body_bytes;
  pages.pages = {{"/stats", "text/html; charset=utf-8", [] { return std::string(3000, 'h'); }},
                 {"/stats.json", "application/json", [] { return std::string("{\"torrents\":0}\n"); }}};
  return pages;
}

TEST_CASE("pages: the statistics page and its JSON, whole, with their content type; others 404") {
  HttpPages pages;  // filled in after the handler is made, as reef does
  pages.max_body_bytes = 4000;
  HttpTrackerOptions options;
  options.pages = &pages;
  options.max_page_bytes = pages.max_body_bytes;
  Fixture f(options);
  CHECK(f.handler.MaxResponseBytes() >= kResponseHeadBytes + 4000);
  pages = StatsLikePages(4000);

  RawAnswer html = AskRaw(f, "GET /stats HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(html.status == 200);
  CHECK(html.keep_alive);
  CHECK(html.content_type == "text/html; charset=utf-8");
  CHECK(html.body == std::string(3000, 'h'));
  RawAnswer json = AskRaw(f, "GET /stats.json?fresh=1 HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(json.status == 200);
  CHECK(json.content_type == "application/json");
  CHECK(json.body == "{\"torrents\":0}\n");
  for (const char* path : {"/stats/", "/statsx", "/stats.jso", "/", "/metrics"}) {
    CAPTURE(path);
    const ParsedResponse r = f.Ask(std::string("GET ") + path + " HTTP/1.1\r\n\r\n", V4(1));
    CHECK(r.status == 404);
    CHECK(r.failure_reason == kReasonUnknownPath);
  }
  // The tracker's own paths are unchanged beside them.
  CHECK(View(f.Ask(Announce("-RF0001-seederseeder", 6881, "&left=0"), V4(1))).complete == 1);
}

TEST_CASE("pages: with none (stats_page = false) their paths are 404 as before") {
  Fixture f;
  for (const char* path : {"/stats", "/stats.json"}) {
    const ParsedResponse r = f.Ask(std::string("GET ") + path + " HTTP/1.1\r\n\r\n", V4(1));
    CHECK(r.status == 404);
    CHECK(r.failure_reason == kReasonUnknownPath);
  }
}

TEST_CASE("pages: one larger than its room is a 503 with the reason, never cut short") {
  const HttpPages pages = StatsLikePages(4000);
  HttpTrackerOptions options;
  options.pages = &pages;
  options.max_page_bytes = 2000;  // what BuildHttpWorkers leaves when the output limit is small
  Fixture f(options);
  const ParsedResponse r = f.Ask("GET /stats HTTP/1.1\r\n\r\n", V4(1));
  CHECK(r.status == 503);
  CHECK(r.keep_alive);
  CHECK(r.failure_reason == kReasonPageTooLarge);
  // The small one still fits.
  CHECK(AskRaw(f, "GET /stats.json HTTP/1.1\r\n\r\n").status == 200);
}

TEST_CASE("the access list refuses an announce and hides the hash in a scrape") {
  Fixture f({}, {}, AccessListMode::kAllow);  // an empty allow list: nothing allowed
  CHECK(f.Ask(Announce("-RF0001-notallowed00", 6881), V4(1)).failure_reason ==
        "info_hash not allowed on this tracker");
  const ParsedResponse hidden = f.Ask(std::string("GET /scrape?info_hash=") + kHash + " HTTP/1.1\r\n\r\n", V4(1));
  INFO(hidden.body);
  auto scrape = http::ParseScrapeResponse(hidden.body);
  REQUIRE(scrape.ok());
  http::ScrapeFileCursor cursor(scrape.value());
  http::ScrapeFile file;
  REQUIRE(cursor.Next(&file));
  CHECK(file.stats == http::ScrapeStats{});
}

TEST_CASE("scrape: each hash once, sorted, with counts from every protocol") {
  Fixture f;
  f.Ask(Announce("-RF0001-seederseeder", 6881, "&left=0&event=completed"), V4(1));
  const std::string other = "%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb%bb";
  const ParsedResponse r =
      f.Ask("GET /scrape?info_hash=" + other + "&info_hash=" + kHash + "&info_hash=" + other +
                " HTTP/1.1\r\n\r\n",
            V6(9));
  auto scrape = http::ParseScrapeResponse(r.body, {.strict = true});  // keys sorted, unique
  REQUIRE(scrape.ok());
  CHECK(scrape.value().file_count == 2);
  http::ScrapeFileCursor cursor(scrape.value());
  http::ScrapeFile file;
  REQUIRE(cursor.Next(&file));
  CHECK(file.stats.complete == 1);
  CHECK(file.stats.downloaded == 1);
  REQUIRE(cursor.Next(&file));
  CHECK(file.stats == http::ScrapeStats{});
}

TEST_CASE("a scrape of more hashes than the core allows is refused") {
  tracker::Options options;
  options.max_scrape_hashes = 2;
  Fixture f({}, options);
  std::string query;
  for (int i = 0; i < 3; ++i) query += std::string(i ? "&" : "") + "info_hash=" + kHash;
  CHECK(f.Ask("GET /scrape?" + query + " HTTP/1.1\r\n\r\n", V4(1)).failure_reason ==
        "too many info hashes in one scrape");
}

TEST_CASE("the proxy header: honoured from a trusted proxy, a failure reason without it") {
  HttpTrackerOptions options;
  options.proxy.header = "X-Forwarded-For";
  options.proxy.trusted.push_back(AddressPrefix::Parse("10.0.0.0/8").value());
  Fixture f(options);
  std::string request = Announce("-RF0001-behindproxy1", 6881, "&left=0");
  request.insert(request.size() - 2, "X-Forwarded-For: 198.51.100.4\r\n");
  f.Ask(request, V4(1));  // from the proxy
  const auto peers = View(f.Ask(Announce("-RF0001-outsideoutsi", 6882, "&left=1"), Endpoint::V4({198, 51, 100, 200}, 1))).peers;
  REQUIRE(peers.size() == 1);
  CHECK(*peers[0].address == IpAddress::V4({198, 51, 100, 4}));
  CHECK(f.Ask(Announce("-RF0001-noheader0000", 6883), V4(2)).failure_reason == kProxyHeaderMissing);
}

TEST_CASE("answers fit MaxResponseBytes at the largest limits, and an answer allocates nothing") {
  tracker::Options options;
  options.max_response_peers = 100;
  options.max_scrape_hashes = 100;
  Fixture f({}, options);
  // 100 IPv6 peers with the longest address text, then the dictionary model.
  for (int i = 0; i < 101; ++i) {
    std::array<uint8_t, 16> a;
    a.fill(0xff);
    a[7] = static_cast<uint8_t>(i);  // each in its own /64: under [swarm] prefix_cap
    a[15] = static_cast<uint8_t>(i);
    char id[21];
    snprintf(id, sizeof(id), "-RF0001-%012d", i);
    f.Ask(Announce(id, 50000 + i, "&left=0"), Endpoint::V6(a, 1));
  }
  const ParsedResponse dict = f.Ask(Announce("-RF0001-bigbigbigbig", 65535, "&left=1&compact=0&numwant=500"), V6(1));
  CHECK(View(dict).peers.size() == 100);
  CHECK(f.last.size() <= f.handler.MaxResponseBytes());
  std::string scrape = "GET /scrape?";
  for (int i = 0; i < 100; ++i) {
    char hash[61];
    snprintf(hash, sizeof(hash), "%%%02x%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa%%aa", i);
    scrape += std::string(i ? "&" : "") + "info_hash=" + hash;
  }
  CHECK(f.Ask(scrape + " HTTP/1.1\r\n\r\n", V4(1)).status == 200);
  CHECK(f.last.size() <= f.handler.MaxResponseBytes());

  // Steady state: a repeat announce and a scrape allocate nothing.
  std::array<http::Header, 32> headers;
  const std::string again = Announce("-RF0001-bigbigbigbig", 65535, "&left=1");
  auto parsed = http::ParseRequest(again, headers);
  REQUIRE(parsed.ok());
  const Endpoint peer = V6(1);
  reef::testing::AllocationScope scope;
  const tcp::HandlerResponse r = f.handler.Respond(parsed.value(), {peer, false, 0}, true, f.out);
  CHECK(scope.allocations() == 0);
  CHECK(r.length > 0);
}

}  // namespace
}  // namespace reef::http_server
