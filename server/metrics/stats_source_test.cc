// StatsSource and AnnounceUrls over ServerObservables: with [ws] on, the WebTorrent
// swarm (a real one, fed by a real host) and its messages reach the page's data, and the
// ws:// and wss:// URLs are listed; with [ws] off, none of it.
#include "server/metrics/stats_source.h"

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "server/http/response_size.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_test_util.h"

namespace reef::metrics {
namespace {

using ws::testing::Id20;

ServerObservables Bound() {
  ServerObservables observed;
  observed.udp_bound = {*SocketAddress::Parse("127.0.0.1:6969")};
  observed.http_bound = {*SocketAddress::Parse("127.0.0.1:8080"), *SocketAddress::Parse("[::1]:8080")};
  observed.https_bound = {*SocketAddress::Parse("127.0.0.1:8443")};
  return observed;
}

TEST_CASE("AnnounceUrls: ws:// and wss:// on the HTTP and HTTPS addresses, only with [ws] on") {
  ServerObservables observed = Bound();
  CHECK(AnnounceUrls(observed, "") ==
        std::vector<std::string>{"udp://127.0.0.1:6969/announce", "http://127.0.0.1:8080/announce",
                                 "http://[::1]:8080/announce", "https://127.0.0.1:8443/announce"});
  observed.webtorrent = *ws::WebTorrentSwarm::Create({});
  CHECK(AnnounceUrls(observed, "") ==
        std::vector<std::string>{"udp://127.0.0.1:6969/announce", "http://127.0.0.1:8080/announce",
                                 "http://[::1]:8080/announce", "https://127.0.0.1:8443/announce",
                                 "ws://127.0.0.1:8080/announce", "ws://[::1]:8080/announce",
                                 "wss://127.0.0.1:8443/announce"});
  // One public host: the same port on both families is one URL.
  CHECK(AnnounceUrls(observed, "t.example") ==
        std::vector<std::string>{"udp://t.example:6969/announce", "http://t.example:8080/announce",
                                 "https://t.example:8443/announce", "ws://t.example:8080/announce",
                                 "wss://t.example:8443/announce"});
}

TEST_CASE("Data: the WebTorrent swarm's totals and its messages as a protocol with a rate") {
  ServerObservables observed;
  std::shared_ptr<ws::WebTorrentSwarm> swarm = *ws::WebTorrentSwarm::Create({});
  observed.webtorrent = swarm;
  AccessList access(AccessListMode::kOff);
  ws::WebTorrentHost host(0, ws::ConnectionLimits{}, ws::WebTorrentOptions{}, *swarm, access,
                          nullptr, 1);
  observed.ws_hosts = {&host};
  StatsSource source(observed, absl::UnixEpoch(), {tracker::Protocol::kHttp}, {}, "", "stats.json");

  auto send = [&host](const ws::ConnectionHandle& h, const std::string& json) {
    std::vector<uint8_t> frame = ws::testing::ClientTextFrame(json);
    host.OnBytes(h, frame, 0);
  };
  const ws::ConnectionHandle a = host.Open(0), b = host.Open(0);
  source.Sample(absl::Seconds(100));
  send(a, ws::testing::AnnounceJson(Id20('T', 1), Id20('A', 1), ws::AnnounceEvent::kStarted, 0,
                                    std::nullopt, {}));
  send(b, ws::testing::AnnounceJson(Id20('T', 1), Id20('B', 1), ws::AnnounceEvent::kStarted, 10,
                                    std::nullopt, {}));
  send(b, ws::testing::AnnounceJson(Id20('T', 2), Id20('B', 1), ws::AnnounceEvent::kStarted, 10,
                                    std::nullopt, {}));
  send(b, ws::testing::ScrapeJson({Id20('T', 1)}));
  source.Sample(absl::Seconds(102));

  const StatsData data = source.Data(absl::UnixEpoch() + absl::Seconds(5));
  REQUIRE(data.webtorrent.has_value());
  CHECK(data.webtorrent->torrents == 2);
  CHECK(data.webtorrent->seeders == 1);
  CHECK(data.webtorrent->leechers == 2);
  REQUIRE(data.protocols.size() == 2);
  CHECK(data.protocols[0].name == "http");
  CHECK(data.protocols[1].name == "webtorrent");
  CHECK(data.protocols[1].requests == 4);  // three announces and a scrape
  REQUIRE(data.protocols[1].per_second.has_value());
  CHECK(*data.protocols[1].per_second == doctest::Approx(2.0));
  CHECK(data.peers.size() == 2);  // the families stay the store's
  CHECK(data.torrents == 0);
}

TEST_CASE("Data: with [ws] off, no WebTorrent section and no webtorrent protocol") {
  ServerObservables observed;
  StatsSource source(observed, absl::UnixEpoch(), {tracker::Protocol::kUdp}, {}, "", "stats.json");
  source.Sample(absl::Seconds(1));
  const StatsData data = source.Data(absl::UnixEpoch());
  CHECK_FALSE(data.webtorrent.has_value());
  REQUIRE(data.protocols.size() == 1);
  CHECK(data.protocols[0].name == "udp");
}

TEST_CASE("Data on several threads while the sampler samples (race-free under TSan)") {
  ServerObservables observed;
  StatsSource source(observed, absl::UnixEpoch(), {tracker::Protocol::kUdp, tracker::Protocol::kHttp},
                     {}, "", "stats.json");
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    for (int i = 1; i <= 2000; ++i) source.Sample(absl::Milliseconds(i * 100));
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done) CHECK(RenderStatsJson(source.Data(absl::UnixEpoch())).size() > 100);
    });
  }
  sampler.join();
  for (std::thread& t : readers) t.join();
  const StatsData data = source.Data(absl::UnixEpoch());
  REQUIRE(data.protocols[0].per_second.has_value());
  CHECK(*data.protocols[0].per_second == 0);  // samples of a counter that did not move
}

TEST_CASE("MaxStatsBodyBytes: the default page fits in the room the largest announce needs") {
  const Config defaults;
  const size_t bound = MaxStatsBodyBytes(defaults);
  CHECK(bound > 2000);
  // So serving the page on the HTTP listeners does not raise http.max_output_size's minimum.
  CHECK(http_server::kResponseHeadBytes + bound <=
        http_server::MaxHttpResponseBytes(static_cast<size_t>(defaults.swarm.max_response_peers),
                                          static_cast<size_t>(defaults.swarm.max_scrape_hashes)));
  Config off;
  off.metrics.stats_page = false;
  CHECK(MaxStatsBodyBytes(off) == 0);
}

TEST_CASE("MaxStatsBodyBytes holds the page and JSON served with the same listen addresses") {
  Config config;
  config.udp.listen = {*SocketAddress::Parse("127.0.0.1:0")};
  config.http.listen = {*SocketAddress::Parse("127.0.0.1:8080"), *SocketAddress::Parse("[::1]:0")};
  config.http_tls.listen = {*SocketAddress::Parse("[2001:db8::1234:5678:9abc]:8443")};
  config.ws.enabled = true;
  config.metrics.homepage = "https://example.org/?a=<b>&c='d'" + std::string(1500, '&');
  ServerObservables observed;
  observed.udp_bound = {*SocketAddress::Parse("127.0.0.1:40001")};
  observed.http_bound = {*SocketAddress::Parse("127.0.0.1:8080"), *SocketAddress::Parse("[::1]:40002")};
  observed.https_bound = {*SocketAddress::Parse("[2001:db8::1234:5678:9abc]:8443")};
  observed.webtorrent = *ws::WebTorrentSwarm::Create({});
  StatsSource source(observed, absl::UnixEpoch(),
                     {tracker::Protocol::kUdp, tracker::Protocol::kHttp, tracker::Protocol::kHttps},
                     AnnounceUrls(observed, ""), config.metrics.homepage, "stats.json");
  source.Sample(absl::Seconds(1));
  source.Sample(absl::Seconds(2));
  const StatsData data = source.Data(absl::UnixEpoch() + absl::Hours(24 * 400));
  const size_t bound = MaxStatsBodyBytes(config);
  CHECK(RenderStatsHtml(data).size() <= bound);
  CHECK(RenderStatsJson(data).size() <= bound);
  // The homepage, escaped twice over, is most of it; every URL is counted.
  CHECK(bound > 2 * 1500 * 5);
  config.metrics.public_host = std::string(200, 'h');
  CHECK(MaxStatsBodyBytes(config) > bound + 7 * 150);
}

TEST_CASE("StatsPages: the page and its JSON at the configured path, rendered per request") {
  ServerObservables observed;
  StatsSource source(observed, absl::UnixEpoch(), {tracker::Protocol::kHttp}, {}, "",
                     StatsJsonLink("/ops/numbers"));
  const std::vector<HttpPage> pages = StatsPages(source, "/ops/numbers");
  REQUIRE(pages.size() == 2);
  CHECK(pages[0].path == "/ops/numbers");
  CHECK(pages[0].content_type == "text/html; charset=utf-8");
  CHECK(pages[0].render().find("href=\"numbers.json\"") != std::string::npos);
  CHECK(pages[1].path == "/ops/numbers.json");
  CHECK(pages[1].content_type == "application/json");
  CHECK(pages[1].render().find("\"requests\":{\"http\":0}") != std::string::npos);
  CHECK(FindHttpPage(pages, "/ops/numbers.json") == &pages[1]);
  CHECK(FindHttpPage(pages, "/ops") == nullptr);
}

}  // namespace
}  // namespace reef::metrics
