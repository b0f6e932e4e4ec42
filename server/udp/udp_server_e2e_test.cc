// The UDP tracker end to end over loopback: reef's workers (both backends, two workers
// sharing each port) and a client built from protocol/udp.
#include <doctest/doctest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "protocol/udp/parse.h"
#include "protocol/udp/write.h"
#include "server/common/test_log_sink.h"
#include "server/udp/udp_server_test_util.h"

namespace reef::udp {
namespace {

using testing::TestClient;
using testing::TestServer;

InfoHash Hash(uint8_t seed) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill(seed);
  bytes[0] = 0xee;
  return InfoHash(bytes);
}

AnnounceRequest MakeAnnounce(uint64_t connection_id, uint8_t hash, uint16_t port, int64_t left,
                             AnnounceEvent event) {
  AnnounceRequest a;
  a.connection_id = connection_id;
  a.transaction_id = 4242;
  a.info_hash = Hash(hash);
  a.peer_id = PeerId::FromString("-RF0001-" + std::to_string(100000000000 + port)).value();
  a.left = left;
  a.event = event;
  a.port = port;
  return a;
}

struct Announced {
  std::vector<uint8_t> storage;
  AnnounceResponse response;
};

Announced AnnounceOrFail(TestClient& client, const AnnounceRequest& request) {
  Announced out;
  std::optional<Response> reply = client.Exchange(request, &out.storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<AnnounceResponse>(*reply));
  out.response = std::get<AnnounceResponse>(*reply);
  CHECK(out.response.transaction_id == request.transaction_id);
  return out;
}

ScrapeResponse ScrapeOrFail(TestClient& client, uint64_t id, const std::vector<uint8_t>& hashes,
                            std::vector<uint8_t>* storage) {
  ScrapeRequest s{.connection_id = id, .transaction_id = 9,
                  .info_hashes = InfoHashList::FromBytes(hashes).value()};
  std::optional<Response> reply = client.Exchange(s, storage);
  REQUIRE(reply.has_value());
  REQUIRE(std::holds_alternative<ScrapeResponse>(*reply));
  return std::get<ScrapeResponse>(*reply);
}

void RunScenario(UdpBackend backend, bool ipv6) {
  TestServer server(TestServer::LoopbackConfig(backend, 2));
  const SocketAddress& address = ipv6 ? server.v6() : server.v4();
  TestClient seeder(address);
  TestClient leecher(address);
  const uint64_t seeder_id = seeder.Connect();
  const uint64_t leecher_id = leecher.Connect();

  // Two peers find each other.
  Announced s = AnnounceOrFail(seeder, MakeAnnounce(seeder_id, 1, 6881, 0, AnnounceEvent::kStarted));
  CHECK(s.response.seeders == 1);
  CHECK(s.response.peers.empty());
  Announced l =
      AnnounceOrFail(leecher, MakeAnnounce(leecher_id, 1, 6882, 500, AnnounceEvent::kStarted));
  CHECK(l.response.seeders == 1);
  CHECK(l.response.leechers == 1);
  REQUIRE(l.response.peers.size() == 1);
  CHECK(l.response.peers[0].family == (ipv6 ? IpFamily::kV6 : IpFamily::kV4));
  CHECK(l.response.peers[0].port == 6881);
  if (ipv6) {
    CHECK(l.response.peers[0].address()[15] == 1);  // ::1
  } else {
    CHECK(l.response.peers[0].address()[0] == 127);
  }
  // And the seeder now sees the leecher.
  Announced s2 = AnnounceOrFail(seeder, MakeAnnounce(seeder_id, 1, 6881, 0, AnnounceEvent::kNone));
  REQUIRE(s2.response.peers.size() == 1);
  CHECK(s2.response.peers[0].port == 6882);

  // Scrape counts match, in request order; an unknown hash scrapes as zeros.
  std::vector<uint8_t> hashes(40);
  std::memcpy(hashes.data(), Hash(2).data(), 20);
  std::memcpy(hashes.data() + 20, Hash(1).data(), 20);
  std::vector<uint8_t> storage;
  ScrapeResponse scraped = ScrapeOrFail(leecher, leecher_id, hashes, &storage);
  REQUIRE(scraped.stats.size() == 2);
  CHECK(scraped.stats[0] == TorrentStats{});
  CHECK(scraped.stats[1] == TorrentStats{.seeders = 1, .completed = 0, .leechers = 1});

  // The leecher completes: counted once, even if it says so twice.
  (void)AnnounceOrFail(leecher, MakeAnnounce(leecher_id, 1, 6882, 0, AnnounceEvent::kCompleted));
  (void)AnnounceOrFail(leecher, MakeAnnounce(leecher_id, 1, 6882, 0, AnnounceEvent::kCompleted));
  scraped = ScrapeOrFail(leecher, leecher_id, hashes, &storage);
  CHECK(scraped.stats[1] == TorrentStats{.seeders = 2, .completed = 1, .leechers = 0});

  // Stopped removes.
  Announced gone =
      AnnounceOrFail(seeder, MakeAnnounce(seeder_id, 1, 6881, 0, AnnounceEvent::kStopped));
  CHECK(gone.response.peers.empty());
  scraped = ScrapeOrFail(leecher, leecher_id, hashes, &storage);
  CHECK(scraped.stats[1].seeders == 1);

  // A forged connection id is refused: silence, and nothing reaches the store.
  std::vector<uint8_t> forged_storage;
  CHECK_FALSE(seeder
                  .Exchange(MakeAnnounce(seeder_id ^ 0x8000, 3, 6881, 0, AnnounceEvent::kStarted),
                            &forged_storage)
                  .has_value());
  // An id is bound to the IP address, not the port (NATs may change ports): another
  // socket on the same host may use it.
  TestClient same_host(address);
  CHECK(same_host
            .Exchange(MakeAnnounce(seeder_id, 3, 7000, 0, AnnounceEvent::kStarted),
                      &forged_storage)
            .has_value());
  CHECK(server.Stop().ok());
  uint64_t bad_ids = 0;
  for (const UdpStats* stats : server.udp_stats()) bad_ids += stats->bad_connection_ids.load();
  CHECK(bad_ids == 1);
}

TEST_CASE("UDP tracker end to end: epoll, IPv4") { RunScenario(UdpBackend::kEpoll, false); }
TEST_CASE("UDP tracker end to end: epoll, IPv6") { RunScenario(UdpBackend::kEpoll, true); }
TEST_CASE("UDP tracker end to end: io_uring, IPv4") { RunScenario(UdpBackend::kIoUring, false); }
TEST_CASE("UDP tracker end to end: io_uring, IPv6") { RunScenario(UdpBackend::kIoUring, true); }

TEST_CASE("a malformed announce with a valid connection id gets the reason back") {
  TestServer server(TestServer::LoopbackConfig(UdpBackend::kEpoll, 1));
  TestClient client(server.v4());
  const uint64_t id = client.Connect();
  std::array<uint8_t, kMaxRequestSize> buf;
  WriteResult w = WriteAnnounceRequest(MakeAnnounce(id, 1, 6881, 0, AnnounceEvent::kStarted), buf);
  REQUIRE(w.ok());
  buf[83] = 7;  // no such event
  client.SendRaw(std::span<const uint8_t>(buf.data(), w.length()));
  std::optional<std::vector<uint8_t>> reply = client.Receive();
  REQUIRE(reply.has_value());
  ResponseResult parsed = ParseResponse(*reply, IpFamily::kV4);
  REQUIRE(parsed.ok());
  REQUIRE(std::holds_alternative<ErrorResponse>(parsed.value()));
  CHECK(std::get<ErrorResponse>(parsed.value()).message == "unknown announce event");
}

TEST_CASE("a worker's stop line counts every refusal and the info hashes hidden from scrapes") {
  Config config = TestServer::LoopbackConfig(UdpBackend::kEpoll, 1);
  config.access_list.mode = AccessListMode::kAllow;  // and no list loaded: nothing is allowed
  config.swarm.max_scrape_hashes = 2;
  reef::testing::TestLogSink log(LogLevel::kInfo);
  TestServer server(config);
  TestClient client(server.v4());
  const uint64_t id = client.Connect();
  const auto refusal = [&](const Request& request) -> std::string {
    std::vector<uint8_t> storage;
    std::optional<Response> reply = client.Exchange(request, &storage);
    REQUIRE(reply.has_value());
    REQUIRE(std::holds_alternative<ErrorResponse>(*reply));
    return std::string(std::get<ErrorResponse>(*reply).message);
  };
  CHECK(refusal(MakeAnnounce(id, 1, 0, 0, AnnounceEvent::kStarted)) == "port must be 1-65535");
  CHECK(refusal(MakeAnnounce(id, 1, 6881, 0, AnnounceEvent::kStarted)) ==
        "info_hash not allowed on this tracker");
  CHECK(refusal(MakeAnnounce(id, 2, 6881, 0, AnnounceEvent::kStarted)) ==
        "info_hash not allowed on this tracker");
  std::vector<uint8_t> three_hashes(60, 0xab);
  CHECK(refusal(ScrapeRequest{.connection_id = id, .transaction_id = 9,
                              .info_hashes = InfoHashList::FromBytes(three_hashes).value()}) ==
        "too many info hashes in one scrape");
  // A scrape of hashes the list refuses answers them as unknown, and counts them.
  std::vector<uint8_t> storage;
  const ScrapeResponse hidden = ScrapeOrFail(client, id, std::vector<uint8_t>(40, 0xcd), &storage);
  CHECK(hidden.stats.size() == 2);
  CHECK(hidden.stats[0] == TorrentStats{});
  CHECK(server.Stop().ok());
  CHECK_MESSAGE(log.Contains("; refused: port 0 1, info hash not allowed 2, too many scrape "
                             "hashes 1, tracker full 0; info hashes hidden from scrapes 2"),
                log.text());
}

}  // namespace
}  // namespace reef::udp
