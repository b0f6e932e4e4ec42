// Prints the /metrics text of a reef built from the same collectors as the binary, over
// a store with one peer, workers whose counters have each moved once, a WebTorrent host
// with one announced browser, and the optional peer-client census on (a few sample
// peers), for the tests that check reef's output:
// promtool_test.sh (promtool check metrics) and the Grafana dashboard's test (every metric
// the dashboard queries exists).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "server/metrics/peer_census.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/registry.h"
#include "server/metrics/store_metrics.h"
#include "server/metrics/webtorrent_metrics.h"
#include "server/metrics/worker_metrics.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_test_util.h"

int main() {
  using namespace reef;
  metrics::Registry registry;
  metrics::AddProcessCollector(registry, absl::Now());
  ServerObservables observed;
  observed.store = std::make_shared<swarm::TorrentStore>(*swarm::TorrentStore::Create({.shards = 4}));
  std::array<Endpoint, 1> peers;
  swarm::Rng rng(1);
  swarm::AnnounceRequest announce;
  announce.endpoint = Endpoint::V4({127, 0, 0, 1}, 6881);
  observed.store->Announce(announce, 0, peers, rng);
  tracker::Counters counters;
  counters.CountServed(tracker::Protocol::kUdp, tracker::Action::kAnnounce, AddressFamily::kV4);
  counters.CountRefused(tracker::Protocol::kUdp, tracker::Action::kScrape, AddressFamily::kV6,
                        tracker::Refusal::kTooManyHashes);
  observed.core_counters.push_back(&counters);
  udp::UdpStats udp;
  udp.connects[0] = 1;
  observed.udp.push_back(&udp);
  udp::LoopStats loop;
  loop.received = 2;
  observed.udp_loops.push_back(&loop);
  observed.cleaner = std::make_shared<CleanerStats>();
  tcp::TcpWorkerStats tcp_worker;
  tcp_worker.open = 1;
  observed.tcp_workers.push_back(&tcp_worker);
  tcp::ConnectionStats tcp_connections;
  tcp_connections.requests = 1;
  observed.tcp_connections.push_back(&tcp_connections);
  // Declared before the host, which leaves the swarm when it is destroyed.
  auto webtorrent = std::shared_ptr<ws::WebTorrentSwarm>(*ws::WebTorrentSwarm::Create({.shards = 4}));
  AccessList allow_all(AccessListMode::kOff);
  ws::WebTorrentHost host(0, ws::ConnectionLimits{}, ws::WebTorrentOptions{}, *webtorrent,
                          allow_all, nullptr, 1);
  std::vector<uint8_t> announce_frame = ws::testing::ClientTextFrame(ws::testing::AnnounceJson(
      ws::testing::Id20('T', 1), ws::testing::Id20('P', 1), ws::AnnounceEvent::kStarted, 0,
      std::nullopt, {}));
  host.OnBytes(host.Open(0), announce_frame, 0);
  observed.webtorrent = webtorrent;
  observed.ws_hosts.push_back(&host);
  metrics::AddStoreCollector(registry, observed.store);
  metrics::AddWorkerCollector(registry, observed);
  metrics::AddWebTorrentCollector(registry, observed);
  metrics::PeerClientCensus census(4, 100);
  metrics::PeerClientCensus::Tally tally = census.NewTally();
  for (const char* id : {"-qB4500-aaaaaaaaaaaa", "-TR4060-aaaaaaaaaaaa", "garbage-garbage-garb"}) {
    tally.Add(*PeerId::FromString(id));
  }
  census.Replace(0, std::move(tally));
  registry.AddCollector([&census](metrics::Exposition& out) { census.Collect(out); });
  const std::string text = registry.Render();
  fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}
