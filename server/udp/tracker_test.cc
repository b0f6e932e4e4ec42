// UdpTracker without sockets: datagrams in, datagrams out, parsed with protocol/udp.
#include "server/udp/tracker.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/common/access_list.h"
#include "server/common/clock.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/tracker.h"
#include "testing/alloc_counter.h"

namespace reef::udp {
namespace {

// The options of both layers the tests set: the core's and UDP's own.
struct TestOptions {
  int32_t announce_interval_s = 1800;
  uint32_t max_response_peers = 50;
  size_t max_scrape_hashes = kMaxScrapeHashes;
  bool reply_to_bad_connection_id = false;
};

// The reasons a client is sent, as BEP 15 error messages.
constexpr std::string_view kReasonPortZero = "port must be 1-65535";
constexpr std::string_view kReasonNotAllowed = "info_hash not allowed on this tracker";
constexpr std::string_view kReasonTooManyHashes = "too many info hashes in one scrape";

sockaddr_storage V4(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto& in4 = reinterpret_cast<sockaddr_in&>(s);
  in4.sin_family = AF_INET;
  in4.sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, ip, &in4.sin_addr) == 1);
  return s;
}

sockaddr_storage V6(const char* ip, uint16_t port) {
  sockaddr_storage s{};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(s);
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1);
  return s;
}

InfoHash Hash(uint8_t seed) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(seed);
  return InfoHash(bytes);
}

struct Fixture {
  explicit Fixture(TestOptions options = {}, AccessListMode mode = AccessListMode::kOff)
      : store(swarm::TorrentStore::Create(
                  {.shards = 4, .max_response_peers = 50, .peer_inactivity_timeout_s = 1200})
                  .value()),
        access(mode),
        ids(ConnectionIds::WithSecret("test").value()),
        core({.announce_interval_s = options.announce_interval_s,
              .max_response_peers = options.max_response_peers,
              .max_scrape_hashes = options.max_scrape_hashes},
             store, access, clock, 7),
        tracker({.reply_to_bad_connection_id = options.reply_to_bad_connection_id}, core, ids) {}

  // Sends one datagram; returns the reply (empty for silence).
  std::vector<uint8_t> SendBytes(const sockaddr_storage& from, std::span<const uint8_t> datagram) {
    std::vector<uint8_t> reply(UdpTracker::MaxReplySize(tracker::Options{}) + 1024);
    reply.resize(tracker.Handle(from, datagram, reply));
    return reply;
  }
  std::vector<uint8_t> Send(const sockaddr_storage& from, const Request& request) {
    std::array<uint8_t, kMaxRequestSize> buf;
    WriteResult w = WriteRequest(request, buf);
    REQUIRE(w.ok());
    return SendBytes(from, std::span<const uint8_t>(buf.data(), w.length()));
  }

  uint64_t Connect(const sockaddr_storage& from) {
    auto reply = Send(from, Request(ConnectRequest{.transaction_id = 1}));
    auto parsed = ParseResponse(reply, IpFamily::kV4);
    REQUIRE(parsed.ok());
    return std::get<ConnectResponse>(parsed.value()).connection_id;
  }

  AnnounceRequest Announce(uint64_t connection_id, uint8_t hash, uint16_t port, int64_t left,
                           AnnounceEvent event = AnnounceEvent::kStarted) {
    AnnounceRequest a;
    a.connection_id = connection_id;
    a.transaction_id = 0x1234;
    a.info_hash = Hash(hash);
    a.peer_id = PeerId::FromString("-RF0001-abcdefghijkl").value();
    a.left = left;
    a.event = event;
    a.port = port;
    return a;
  }

  FakeClock clock;
  swarm::TorrentStore store;
  AccessList access;
  ConnectionIds ids;
  tracker::Tracker core;
  UdpTracker tracker;
};

// The result's views point into `reply`: keep it alive while they are used.
ResponseResult Parse(const std::vector<uint8_t>& reply, IpFamily family = IpFamily::kV4) {
  return ParseResponse(reply, family);
}

TEST_CASE("connect, announce: two peers find each other; scrape counts them") {
  Fixture f;
  const auto seeder = V4("10.0.0.1", 40000);
  const auto leecher = V4("10.0.0.2", 40001);
  const uint64_t seeder_id = f.Connect(seeder);
  const uint64_t leecher_id = f.Connect(leecher);

  const auto first_bytes = f.Send(seeder, Request(f.Announce(seeder_id, 1, 6881, 0)));
  auto first = Parse(first_bytes);
  REQUIRE(first.ok());
  const auto& r1 = std::get<AnnounceResponse>(first.value());
  CHECK(r1.transaction_id == 0x1234);
  CHECK(r1.interval == TestOptions{}.announce_interval_s);
  CHECK(r1.seeders == 1);
  CHECK(r1.leechers == 0);
  CHECK(r1.peers.empty());  // never the requester itself

  const auto second_bytes = f.Send(leecher, Request(f.Announce(leecher_id, 1, 6882, 1000)));
  auto second = Parse(second_bytes);
  REQUIRE(second.ok());
  const auto& r2 = std::get<AnnounceResponse>(second.value());
  CHECK(r2.seeders == 1);
  CHECK(r2.leechers == 1);
  REQUIRE(r2.peers.size() == 1);
  // The seeder, at the address its datagram came from and the port it announced.
  CHECK(r2.peers[0].address()[0] == 10);
  CHECK(r2.peers[0].address()[3] == 1);
  CHECK(r2.peers[0].port == 6881);

  ScrapeRequest scrape;
  scrape.connection_id = leecher_id;
  scrape.transaction_id = 99;
  std::array<uint8_t, 40> hashes{};
  std::memcpy(hashes.data(), Hash(1).data(), 20);
  std::memcpy(hashes.data() + 20, Hash(2).data(), 20);
  scrape.info_hashes = InfoHashList::FromBytes(hashes).value();
  const auto scraped_bytes = f.Send(leecher, Request(scrape));
  auto scraped = Parse(scraped_bytes);
  REQUIRE(scraped.ok());
  const auto& s = std::get<ScrapeResponse>(scraped.value());
  CHECK(s.transaction_id == 99);
  REQUIRE(s.stats.size() == 2);
  CHECK(s.stats[0] == TorrentStats{.seeders = 1, .completed = 0, .leechers = 1});
  CHECK(s.stats[1] == TorrentStats{});  // unknown torrent: zeros, in request order
}

TEST_CASE("stopped removes the peer") {
  Fixture f;
  const auto a = V4("10.0.0.1", 1);
  const auto b = V4("10.0.0.2", 1);
  const uint64_t ida = f.Connect(a);
  const uint64_t idb = f.Connect(b);
  (void)f.Send(a, Request(f.Announce(ida, 1, 6881, 0)));
  (void)f.Send(a, Request(f.Announce(ida, 1, 6881, 0, AnnounceEvent::kStopped)));
  const auto reply_bytes = f.Send(b, Request(f.Announce(idb, 1, 6882, 100)));
  auto reply = Parse(reply_bytes);
  REQUIRE(reply.ok());
  const auto& r = std::get<AnnounceResponse>(reply.value());
  CHECK(r.seeders == 0);
  CHECK(r.peers.empty());
}

TEST_CASE("a forged, expired or other address's connection id is never served") {
  Fixture f;
  const auto client = V4("10.0.0.1", 1);
  const uint64_t id = f.Connect(client);
  // Forged.
  CHECK(f.Send(client, Request(f.Announce(id ^ 1, 1, 6881, 0))).empty());
  // Someone else's.
  CHECK(f.Send(V4("10.0.0.9", 1), Request(f.Announce(id, 1, 6881, 0))).empty());
  // Expired: 9 ticks later.
  f.clock.SetWall(f.clock.WallSeconds() + 16 * 9 + 15);
  CHECK(f.Send(client, Request(f.Announce(id, 1, 6881, 0))).empty());
  CHECK(f.tracker.stats().bad_connection_ids.load() == 3);
  CHECK(f.store.Scrape(Hash(1)).seeders == 0);  // none of them reached the store
}

TEST_CASE("a bad connection id gets an error reply only when configured") {
  Fixture f({.reply_to_bad_connection_id = true});
  const auto reply_bytes = f.Send(V4("10.0.0.1", 1), Request(f.Announce(12345, 1, 6881, 0)));
  auto reply = Parse(reply_bytes);
  REQUIRE(reply.ok());
  CHECK(std::get<ErrorResponse>(reply.value()).message == kReasonBadConnectionId);
}

TEST_CASE("malformed requests with a valid connection id get the parser's reason") {
  Fixture f;
  const auto client = V4("10.0.0.1", 1);
  const uint64_t id = f.Connect(client);
  std::array<uint8_t, kMaxRequestSize> buf;
  WriteResult w = WriteAnnounceRequest(f.Announce(id, 1, 6881, 0), buf);
  REQUIRE(w.ok());
  std::vector<uint8_t> announce(buf.begin(), buf.begin() + static_cast<long>(w.length()));

  SUBCASE("bad event") {
    announce[83] = 9;  // event, 4 bytes at offset 80
    const auto reply_bytes = f.SendBytes(client, announce);
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    CHECK(std::get<ErrorResponse>(reply.value()).message == ErrorReason(ParseError::kBadEvent));
  }
  SUBCASE("truncated announce") {
    announce.resize(97);
    const auto reply_bytes = f.SendBytes(client, announce);
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    CHECK(std::get<ErrorResponse>(reply.value()).transaction_id == 0x1234);
  }
  SUBCASE("port 0") {
    const auto reply_bytes = f.Send(client, Request(f.Announce(id, 1, 0, 0)));
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    CHECK(std::get<ErrorResponse>(reply.value()).message == kReasonPortZero);
  }
  SUBCASE("BEP 41 options after an announce are fine") {
    announce.insert(announce.end(), {2, 9, '/', 'a', 'n', 'n', 'o', 'u', 'n', 'c', 'e'});
    const auto reply_bytes = f.SendBytes(client, announce);
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    CHECK(std::holds_alternative<AnnounceResponse>(reply.value()));
  }
  SUBCASE("the same malformed datagram from an unproven sender is dropped") {
    announce[83] = 9;
    CHECK(f.SendBytes(V4("10.0.0.99", 1), announce).empty());
    CHECK(f.tracker.stats().dropped.load() == 1);
  }
}

TEST_CASE("unanswerable garbage is dropped silently") {
  Fixture f;
  const auto client = V4("10.0.0.1", 1);
  CHECK(f.SendBytes(client, std::vector<uint8_t>{}).empty());
  CHECK(f.SendBytes(client, std::vector<uint8_t>(15, 0)).empty());
  CHECK(f.SendBytes(client, std::vector<uint8_t>(16, 0xff)).empty());
  CHECK(f.tracker.stats().dropped.load() == 3);
}

TEST_CASE("the access list refuses announces and hides scrapes") {
  Fixture f({}, AccessListMode::kAllow);
  InfoHashSet allowed = {Hash(1)};
  f.access.Replace(allowed);
  const auto client = V4("10.0.0.1", 1);
  const uint64_t id = f.Connect(client);
  const auto refused_bytes = f.Send(client, Request(f.Announce(id, 2, 6881, 0)));
  auto refused = Parse(refused_bytes);
  REQUIRE(refused.ok());
  CHECK(std::get<ErrorResponse>(refused.value()).message == kReasonNotAllowed);
  const auto served_bytes = f.Send(client, Request(f.Announce(id, 1, 6881, 0)));
  auto served = Parse(served_bytes);
  REQUIRE(served.ok());
  CHECK(std::holds_alternative<AnnounceResponse>(served.value()));
  CHECK(f.store.Scrape(Hash(2)).seeders == 0);
}

TEST_CASE("scrape over the configured limit is refused; at the limit it is served") {
  Fixture f({.max_scrape_hashes = 3});
  const auto client = V4("10.0.0.1", 1);
  const uint64_t id = f.Connect(client);
  std::array<uint8_t, 80> hashes{};
  for (size_t n : {3u, 4u}) {
    CAPTURE(n);
    ScrapeRequest s{.connection_id = id, .transaction_id = 5,
                    .info_hashes = InfoHashList::FromBytes(std::span(hashes).first(20 * n)).value()};
    const auto reply_bytes = f.Send(client, Request(s));
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    if (n == 3) {
      CHECK(std::get<ScrapeResponse>(reply.value()).stats.size() == 3);
    } else {
      CHECK(std::get<ErrorResponse>(reply.value()).message == kReasonTooManyHashes);
    }
  }
}

TEST_CASE("num_want: -1 means the configured maximum, 0 means none, more is capped") {
  Fixture f({.max_response_peers = 5});
  const uint64_t requester_id = f.Connect(V4("10.1.0.0", 1));
  for (uint8_t i = 1; i <= 10; ++i) {
    const auto peer = V4(("10.0.0." + std::to_string(i)).c_str(), 1);
    (void)f.Send(peer, Request(f.Announce(f.Connect(peer), 1, 6881, 100)));
  }
  for (const auto& want_and_got : {std::pair{-1, 5}, {0, 0}, {3, 3}, {1000, 5}}) {
    const int num_want = want_and_got.first;
    const int expected = want_and_got.second;
    CAPTURE(num_want);
    auto a = f.Announce(requester_id, 1, 7000, 100);
    a.num_want = num_want;
    const auto reply_bytes = f.Send(V4("10.1.0.0", 1), Request(a));
    auto reply = Parse(reply_bytes);
    REQUIRE(reply.ok());
    CHECK(std::get<AnnounceResponse>(reply.value()).peers.size() == static_cast<size_t>(expected));
  }
}

TEST_CASE("IPv6 clients get 18-byte IPv6 peers, IPv4 clients IPv4 ones") {
  Fixture f;
  const auto v6a = V6("2001:db8::1", 1);
  const auto v6b = V6("2001:db8::2", 1);
  const auto v4 = V4("10.0.0.1", 1);
  (void)f.Send(v6a, Request(f.Announce(f.Connect(v6a), 1, 6881, 0)));
  (void)f.Send(v4, Request(f.Announce(f.Connect(v4), 1, 6881, 0)));
  auto reply = f.Send(v6b, Request(f.Announce(f.Connect(v6b), 1, 6882, 100)));
  auto parsed = Parse(reply, IpFamily::kV6);
  REQUIRE(parsed.ok());
  const auto& r = std::get<AnnounceResponse>(parsed.value());
  CHECK(r.seeders == 2);  // counts are of both families
  REQUIRE(r.peers.size() == 1);
  CHECK(r.peers[0].family == IpFamily::kV6);
  CHECK(r.peers[0].address()[15] == 1);
  CHECK(reply.size() == 20 + 18);
}

TEST_CASE("announcing into a known small swarm allocates nothing") {
  Fixture f;
  const auto a = V4("10.0.0.1", 1);
  const auto b = V4("10.0.0.2", 1);
  (void)f.Send(a, Request(f.Announce(f.Connect(a), 1, 6881, 0)));
  const uint64_t id = f.Connect(b);
  std::array<uint8_t, kMaxRequestSize> request;
  WriteResult w = WriteAnnounceRequest(f.Announce(id, 1, 6882, 100), request);
  REQUIRE(w.ok());
  std::array<uint8_t, 2048> reply;
  (void)f.tracker.Handle(b, std::span(request).first(w.length()), reply);
  testing::AllocationScope scope;
  const size_t n = f.tracker.Handle(b, std::span(request).first(w.length()), reply);
  CHECK(scope.allocations() == 0);
  CHECK(n == 26);
}

}  // namespace
}  // namespace reef::udp
