// Prints the /metrics text of a reef built from the same collectors as the binary, over
// an empty store and with the optional peer-client census on (a few sample peers), for
// the tests that check reef's output: promtool_test.sh (promtool check metrics) and
// grafana_dashboard_test.py (every metric the dashboard queries exists).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "server/metrics/peer_census.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/registry.h"
#include "server/metrics/store_metrics.h"

int main() {
  using namespace reef;
  metrics::Registry registry;
  metrics::AddProcessCollector(registry, absl::Now());
  swarm::StoreConfig config;
  config.shards = 4;
  metrics::AddStoreCollector(registry, std::make_shared<swarm::TorrentStore>(config));
  metrics::PeerClientCensus census(config.shards, 100);
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
