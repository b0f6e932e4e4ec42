// One request, three wire forms: a BEP 15 datagram, an HTTP announce query (BEP 3/23)
// and a WebTorrent JSON message, each parsed by its protocol library and turned into the
// core's terms by from_wire.h, must mean the same thing and get the same answer. The HTTP
// and WebTorrent servers are written against this: their adapters call exactly these
// functions.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/http/query.h"
#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "protocol/ws/webtorrent.h"
#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/from_wire.h"
#include "server/tracker/recording_writer.h"
#include "server/tracker/tracker.h"

namespace reef::tracker {
namespace {

// Bytes that need escaping in every form: a NUL, a quote, a percent sign, bytes >= 0x80.
InfoHash TheHash() {
  std::array<uint8_t, 20> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 37 + 1);
  b[0] = 0;
  b[1] = '"';
  b[2] = '%';
  b[3] = 0xff;
  return InfoHash(b);
}

PeerId ThePeerId() { return PeerId::FromString("-RF0001-abcdefghij\"\\").value(); }

// ---- The three wire forms of one announce ---------------------------------------------

struct Fields {
  InfoHash info_hash = TheHash();
  PeerId peer_id = ThePeerId();
  uint16_t port = 6881;
  std::optional<uint64_t> left = 0;   // nullopt: left out (UDP: -1)
  std::string event = "started";      // "" for none; HTTP/WS name; UDP maps below
  std::optional<uint32_t> num_want = 5;  // nullopt: left out (UDP: -1)
};

udp::AnnounceRequest UdpParsed(const Fields& f, std::vector<uint8_t>& datagram) {
  udp::AnnounceRequest a;
  a.connection_id = 0x0123456789abcdef;
  a.transaction_id = 7;
  a.info_hash = f.info_hash;
  a.peer_id = f.peer_id;
  a.left = f.left.has_value() ? static_cast<int64_t>(*f.left) : -1;
  a.event = f.event == "started"     ? udp::AnnounceEvent::kStarted
            : f.event == "stopped"   ? udp::AnnounceEvent::kStopped
            : f.event == "completed" ? udp::AnnounceEvent::kCompleted
                                     : udp::AnnounceEvent::kNone;
  a.num_want = f.num_want.has_value() ? static_cast<int32_t>(*f.num_want) : -1;
  a.port = f.port;
  datagram.resize(udp::kMaxRequestSize);
  const WriteResult w = udp::WriteAnnounceRequest(a, datagram);
  REQUIRE(w.ok());
  datagram.resize(w.length());
  const udp::RequestResult parsed = udp::ParseRequest(datagram);
  REQUIRE(parsed.ok());
  return std::get<udp::AnnounceRequest>(parsed.value());
}

std::string Percent(std::span<const uint8_t> bytes) {
  std::string out;
  for (uint8_t b : bytes) {
    char hex[4];
    std::snprintf(hex, sizeof(hex), "%%%02X", b);
    out += hex;
  }
  return out;
}

std::string HttpQuery(const Fields& f) {
  std::string q = "info_hash=" + Percent(f.info_hash.bytes()) +
                  "&peer_id=" + Percent(f.peer_id.bytes()) + "&port=" + std::to_string(f.port) +
                  "&uploaded=0&downloaded=0&compact=1";
  if (f.left.has_value()) q += "&left=" + std::to_string(*f.left);
  if (!f.event.empty()) q += "&event=" + f.event;
  if (f.num_want.has_value()) q += "&numwant=" + std::to_string(*f.num_want);
  return q;
}

http::AnnounceRequest HttpParsed(const std::string& query) {
  const auto parsed = http::ParseAnnounceQuery(query);
  REQUIRE_MESSAGE(parsed.ok(), query);
  return parsed.value();
}

// A WebTorrent "binary string": one \u00XX escape per byte.
std::string BinaryString(std::span<const uint8_t> bytes) {
  std::string out = "\"";
  for (uint8_t b : bytes) {
    char esc[8];
    std::snprintf(esc, sizeof(esc), "\\u%04x", b);
    out += esc;
  }
  return out + "\"";
}

std::string WsJson(const Fields& f, const std::string& left_json = "") {
  std::string j = "{\"action\":\"announce\",\"info_hash\":" + BinaryString(f.info_hash.bytes()) +
                  ",\"peer_id\":" + BinaryString(f.peer_id.bytes()) +
                  ",\"uploaded\":0,\"downloaded\":0";
  if (!left_json.empty()) {
    j += ",\"left\":" + left_json;
  } else if (f.left.has_value()) {
    j += ",\"left\":" + std::to_string(*f.left);
  }
  if (!f.event.empty()) j += ",\"event\":\"" + f.event + "\"";
  if (f.num_want.has_value()) j += ",\"numwant\":" + std::to_string(*f.num_want);
  return j + ",\"offers\":[]}";
}

ws::AnnounceRequest WsParsed(const std::string& json) {
  const auto parsed = ws::ParseClientMessage(json);
  REQUIRE_MESSAGE(parsed.ok(), json);
  return std::get<ws::AnnounceRequest>(parsed.value());
}

// The three core requests of one set of fields.
struct Three {
  AnnounceRequest udp;
  AnnounceRequest http;
  AnnounceRequest ws;
};

Three Translate(const Fields& f) {
  std::vector<uint8_t> datagram;
  const std::string query = HttpQuery(f);
  const std::string json = WsJson(f);
  return {FromUdp(UdpParsed(f, datagram)), FromHttp(HttpParsed(query)),
          FromWebTorrent(WsParsed(json))};
}

// Same meaning: every field but the port, which WebTorrent peers do not have.
void CheckSameMeaning(const AnnounceRequest& a, const AnnounceRequest& b) {
  CHECK(a.info_hash == b.info_hash);
  CHECK(a.peer_id == b.peer_id);
  CHECK(a.left == b.left);
  CHECK(a.event == b.event);
  CHECK(a.num_want == b.num_want);
}

TEST_CASE("one announce in three wire forms is one core request") {
  const Three t = Translate(Fields{});
  CHECK(t.udp.info_hash == TheHash());
  CHECK(t.udp.peer_id == ThePeerId());
  CHECK(t.udp.port == 6881);
  CHECK(t.udp.left == std::optional<uint64_t>(0));
  CHECK(t.udp.event == Event::kStarted);
  CHECK(t.udp.num_want == std::optional<uint32_t>(5));
  CheckSameMeaning(t.udp, t.http);
  CheckSameMeaning(t.udp, t.ws);
  CHECK(t.http.port == t.udp.port);
  CHECK(t.ws.port == 0);  // a WebRTC peer has no endpoint
}

TEST_CASE("left not given: UDP's negative left, HTTP without left=, WebTorrent null") {
  Fields f;
  f.left = std::nullopt;
  const Three t = Translate(f);
  CHECK(t.udp.left == std::nullopt);
  CHECK(t.http.left == std::nullopt);
  CHECK(t.ws.left == std::nullopt);
  CHECK(FromWebTorrent(WsParsed(WsJson(f, "null"))).left == std::nullopt);
  CHECK_FALSE(IsSeeder(t.udp.left));  // all three are leechers
  // Any negative UDP left, not just -1.
  udp::AnnounceRequest u;
  u.left = std::numeric_limits<int64_t>::min();
  CHECK(FromUdp(u).left == std::nullopt);
  u.left = 5;
  CHECK(FromUdp(u).left == std::optional<uint64_t>(5));
}

TEST_CASE("num_want not given: UDP -1, HTTP absent or negative, WebTorrent absent") {
  Fields f;
  f.num_want = std::nullopt;
  const Three t = Translate(f);
  CHECK(t.udp.num_want == std::nullopt);
  CHECK(t.http.num_want == std::nullopt);
  CHECK(t.ws.num_want == std::nullopt);
  CHECK(FromHttp(HttpParsed(HttpQuery(Fields{}))).num_want == 5u);
  CHECK(FromHttp(HttpParsed(HttpQuery(f) + "&numwant=-3")).num_want == std::nullopt);
  udp::AnnounceRequest u;
  u.num_want = -7;
  CHECK(FromUdp(u).num_want == std::nullopt);
  // A WebTorrent numwant past 32 bits is capped, not wrapped.
  ws::AnnounceRequest w;
  w.numwant = uint64_t{1} << 40;
  CHECK(FromWebTorrent(w).num_want == std::numeric_limits<uint32_t>::max());
}

TEST_CASE("events mean the same; paused, update and empty are plain announces") {
  for (const char* name : {"started", "stopped", "completed", ""}) {
    CAPTURE(name);
    Fields f;
    f.event = name;
    const Three t = Translate(f);
    CheckSameMeaning(t.udp, t.http);
    CheckSameMeaning(t.udp, t.ws);
  }
  CHECK(EventFrom(http::Event::kPaused) == Event::kNone);
  CHECK(EventFrom(ws::AnnounceEvent::kUpdate) == Event::kNone);
  CHECK(EventFrom(ws::AnnounceEvent::kPaused) == Event::kNone);
  CHECK(EventFrom(ws::AnnounceEvent::kEmpty) == Event::kNone);
  Fields paused;
  paused.event = "paused";
  CHECK(FromHttp(HttpParsed(HttpQuery(paused))).event == Event::kNone);
  CHECK(FromWebTorrent(WsParsed(WsJson(paused))).event == Event::kNone);
}

// ---- The same answer ------------------------------------------------------------------

using testing::RecordingWriter;

// A store with the same few peers, a core with the same seed: one per protocol tried.
struct World {
  explicit World(AccessListMode mode = AccessListMode::kOff)
      : store(swarm::TorrentStore::Create({.shards = 4}).value()),
        access(mode),
        core({.announce_interval_s = 1800, .min_announce_interval_s = 900,
              .max_response_peers = 3},
             store, access, clock, 42) {
    if (mode == AccessListMode::kDeny) access.Replace(InfoHashSet{TheHash()});
    for (uint8_t i = 1; i <= 6; ++i) {
      AnnounceRequest r;
      r.info_hash = TheHash();
      r.peer_id = PeerId::FromString("-XX0001-" + std::string(12, static_cast<char>('a' + i))).value();
      r.port = static_cast<uint16_t>(50000 + i);
      r.left = i % 2 == 0 ? 0 : 100;
      RecordingWriter ignored;
      const Protocol p = i % 3 == 0 ? Protocol::kHttp : Protocol::kUdp;  // one swarm for both
      (void)core.Announce({p, IpAddress::V4({192, 0, 2, i})}, r, ignored);
    }
  }
  FakeClock clock;
  swarm::TorrentStore store;
  AccessList access;
  Tracker core;
};

TEST_CASE("the same announce over UDP, HTTP and HTTPS gets the same answer") {
  const Three t = Translate(Fields{});
  const IpAddress client = IpAddress::V4({198, 51, 100, 1});
  World over_udp, over_http, over_https;
  RecordingWriter a, b, c;
  const AnnounceOutcome ra = over_udp.core.Announce({Protocol::kUdp, client}, t.udp, a);
  const AnnounceOutcome rb = over_http.core.Announce({Protocol::kHttp, client}, t.http, b);
  const AnnounceOutcome rc = over_https.core.Announce({Protocol::kHttps, client}, t.http, c);
  REQUIRE(ra.ok());
  CHECK(ra.reply == AnnounceReply{Counts{4, 3, 0}, 1800, 900});
  CHECK(ra.peers == 3);
  for (const auto* other : {&rb, &rc}) {
    CHECK(other->ok());
    CHECK(other->reply == ra.reply);
    CHECK(other->peers == ra.peers);
  }
  // Same seed, same store: the very same peers, ids included.
  CHECK(b.peers == a.peers);
  CHECK(c.peers == a.peers);
  CHECK(b.ids == a.ids);
  // A seeder is given leechers first: the 3 leechers, whichever protocol announced them.
  for (const Endpoint& e : a.peers) CHECK(e.address.bytes[3] % 2 == 1);
}

TEST_CASE("one swarm: a peer announced over HTTP is the same entry when it comes by UDP") {
  World w;
  Fields f;
  f.left = 100;
  const Three t = Translate(f);
  const IpAddress client = IpAddress::V4({198, 51, 100, 1});
  RecordingWriter first, second;
  (void)w.core.Announce({Protocol::kHttp, client}, t.http, first);
  const AnnounceOutcome again = w.core.Announce({Protocol::kUdp, client}, t.udp, second);
  CHECK(again.reply.counts == first.reply.counts);  // not a second leecher
  CHECK(again.reply.counts.leechers == 4);
}

TEST_CASE("refusals are the same whichever protocol") {
  // Port 0.
  Fields zero;
  zero.port = 0;
  const Three t = Translate(zero);
  World w;
  RecordingWriter unused;
  const IpAddress client = IpAddress::V4({198, 51, 100, 1});
  CHECK(w.core.Announce({Protocol::kUdp, client}, t.udp, unused).refusal == Refusal::kPortZero);
  CHECK(w.core.Announce({Protocol::kHttp, client}, t.http, unused).refusal == Refusal::kPortZero);

  // An info hash the access list refuses: announces over UDP and HTTP, and the
  // WebTorrent server's check, refuse it alike.
  World denied(AccessListMode::kDeny);
  const Three d = Translate(Fields{});
  CHECK(denied.core.Announce({Protocol::kUdp, client}, d.udp, unused).refusal ==
        Refusal::kNotAllowed);
  CHECK(denied.core.Announce({Protocol::kHttp, client}, d.http, unused).refusal ==
        Refusal::kNotAllowed);
  CHECK(denied.core.CheckInfoHash(d.ws.info_hash) == Refusal::kNotAllowed);
  CHECK(w.core.CheckInfoHash(d.ws.info_hash) == std::nullopt);
}

TEST_CASE("the same scrape over UDP, HTTP and WebTorrent gets the same counts") {
  World w;
  const IpAddress client = IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9});
  std::array<uint8_t, 20> other_bytes{};
  other_bytes.fill(0x42);
  const InfoHash other(other_bytes);

  // UDP: a datagram with the two hashes.
  std::vector<uint8_t> datagram(udp::kMaxRequestSize);
  const std::array<InfoHash, 2> hashes = {TheHash(), other};
  const WriteResult written = udp::WriteScrapeRequest(1, 2, hashes, datagram);
  REQUIRE(written.ok());
  datagram.resize(written.length());
  const udp::RequestResult udp_parsed = udp::ParseRequest(datagram);
  REQUIRE(udp_parsed.ok());
  const auto& udp_scrape = std::get<udp::ScrapeRequest>(udp_parsed.value());

  // HTTP: a scrape query.
  const std::string query =
      "info_hash=" + Percent(TheHash().bytes()) + "&info_hash=" + Percent(other.bytes());
  const auto http_parsed = http::ParseScrapeQuery(query, {});
  REQUIRE(http_parsed.ok());

  // WebTorrent: a scrape message with an array.
  const std::string json = "{\"action\":\"scrape\",\"info_hash\":[" +
                           BinaryString(TheHash().bytes()) + "," + BinaryString(other.bytes()) +
                           "]}";
  const auto ws_parsed = ws::ParseClientMessage(json);
  REQUIRE(ws_parsed.ok());
  const auto& ws_scrape = std::get<ws::ScrapeRequest>(ws_parsed.value());

  using Got = std::vector<std::pair<InfoHash, Counts>>;
  auto scrape = [&](Protocol p, const auto& list) {
    Got got;
    CHECK(w.core.Scrape({p, client}, list, [&](const InfoHash& h, const Counts& c) {
      got.emplace_back(h, c);
    }) == std::nullopt);
    return got;
  };
  const Got from_udp = scrape(Protocol::kUdp, udp_scrape.info_hashes);
  const Got from_http = scrape(Protocol::kHttp, http_parsed.value().info_hashes);
  const Got from_ws = scrape(Protocol::kWs, ws_scrape.info_hashes());
  REQUIRE(from_udp.size() == 2);
  CHECK(from_udp[0] == std::pair{TheHash(), Counts{3, 3, 0}});
  CHECK(from_udp[1] == std::pair{other, Counts{}});
  CHECK(from_http == from_udp);
  CHECK(from_ws == from_udp);
}

}  // namespace
}  // namespace reef::tracker
