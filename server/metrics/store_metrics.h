// The swarm store's totals as metrics: torrents, peers by address family and role, the
// records of `completed`, and the budget they are held to.
// Read with TorrentStore::Stats(), which locks one shard at a time: a scrape delays an
// announce to the same shard by at most one shard's count, never the whole store.
#ifndef REEF_SERVER_METRICS_STORE_METRICS_H_
#define REEF_SERVER_METRICS_STORE_METRICS_H_

#include <memory>

#include "server/metrics/registry.h"
#include "server/swarm/torrent_store.h"

namespace reef::metrics {

void AddStoreCollector(Registry& registry, std::shared_ptr<const swarm::TorrentStore> store);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_STORE_METRICS_H_
