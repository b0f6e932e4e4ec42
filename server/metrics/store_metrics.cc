#include "server/metrics/store_metrics.h"

#include <utility>

namespace reef::metrics {
namespace {

constexpr FamilyInfo kTorrents = {
    .name = "reef_torrents",
    .help = "Torrents held (info hashes with at least one peer).",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kPeers = {
    .name = "reef_peers",
    .help = "Peers held, by address family.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kSeeders = {
    .name = "reef_seeders",
    .help = "Peers held that have the whole torrent (left = 0), both families.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kLeechers = {
    .name = "reef_leechers",
    .help = "Peers held that are still downloading, both families.",
    .type = MetricType::kGauge,
};

}  // namespace

void AddStoreCollector(Registry& registry, std::shared_ptr<const swarm::TorrentStore> store) {
  registry.AddCollector([store = std::move(store)](Exposition& out) {
    const swarm::StoreStats stats = store->Stats();
    out.Add(kTorrents, {}, stats.torrents);
    out.Add(kPeers, {{"family", "ipv4"}}, stats.peers_v4);
    out.Add(kPeers, {{"family", "ipv6"}}, stats.peers_v6);
    out.Add(kSeeders, {}, stats.seeders);
    out.Add(kLeechers, {}, stats.leechers);
  });
}

}  // namespace reef::metrics
