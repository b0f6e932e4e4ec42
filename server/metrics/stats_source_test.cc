// StatsSource and AnnounceUrls over ServerObservables: with [ws] on, the WebTorrent
// swarm (a real one, fed by a real host) and its messages reach the page's data, and the
// ws:// and wss:// URLs are listed; with [ws] off, none of it.
#include "server/metrics/stats_source.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace reef::metrics
