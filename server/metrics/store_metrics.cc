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

constexpr FamilyInfo kCompletionRecords = {
    .name = "reef_store_completion_records",
    .help = "(torrent, address prefix) pairs remembered so that a completed counts once per "
            "prefix per window.",
    .type = MetricType::kGauge,
};
// The budget ([swarm] max_peers, max_torrents), so that a dashboard or an alert can put
// reef_peers and reef_torrents beside it: memory follows these counts (README gives the
// bytes per entry), and a shard at its share refuses with "tracker is full".
constexpr FamilyInfo kMaxPeers = {
    .name = "reef_store_max_peers",
    .help = "The store's budget of peers ([swarm] max_peers), each shard holding its share.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kMaxTorrents = {
    .name = "reef_store_max_torrents",
    .help = "The store's budget of torrents ([swarm] max_torrents), each shard holding its "
            "share.",
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
    out.Add(kCompletionRecords, {}, stats.completion_records);
    out.Add(kMaxPeers, {}, store->config().max_peers);
    out.Add(kMaxTorrents, {}, store->config().max_torrents);
  });
}

}  // namespace reef::metrics
