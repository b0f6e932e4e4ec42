#include "server/protocol_workers.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/log.h"
#include "server/common/periodic.h"
#include "server/common/stop_signal.h"
#include "server/swarm/torrent_store.h"
#include "server/udp/udp_server.h"

namespace reef {
namespace {

// Cleans one shard of the store per tick, cleaning_interval / shards apart, so every
// shard is cleaned once per interval and no moment stalls them all.
std::unique_ptr<Worker> MakeCleaner(std::shared_ptr<swarm::TorrentStore> store,
                                    absl::Duration interval) {
  const size_t shards = store->shard_count();
  const absl::Duration tick = interval / static_cast<int64_t>(shards);
  auto next = std::make_shared<size_t>(0);
  return std::make_unique<PeriodicWorker>(
      "cleaner", tick, [store = std::move(store), next, shards](PeriodicWorker::Reason) {
        const size_t shard = (*next)++ % shards;
        // The same clock as the protocol workers' (CLOCK_MONOTONIC, whole seconds).
        const swarm::CleanStats cleaned =
            store->CleanShard(shard, absl::ToInt64Seconds(MonotonicNow()));
        if (cleaned.peers_removed > 0 || cleaned.torrents_removed > 0) {
          REEF_LOG(Debug) << "shard " << shard << ": removed " << cleaned.peers_removed
                          << " idle peers, " << cleaned.torrents_removed << " empty torrents";
        }
        return absl::OkStatus();
      });
}

}  // namespace

absl::StatusOr<std::vector<std::unique_ptr<Worker>>> BuildProtocolWorkers(
    const ServerContext& context) {
  const Config& config = context.config;
  std::vector<std::unique_ptr<Worker>> workers;

  // The swarm store, shared by every protocol, and its cleaner.
  swarm::StoreConfig store_config;
  store_config.shards = static_cast<size_t>(config.swarm.shards);
  store_config.max_response_peers = static_cast<uint32_t>(config.swarm.max_response_peers);
  store_config.peer_inactivity_timeout_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(config.swarm.peer_inactivity_timeout));
  if (absl::Status valid = swarm::ValidateStoreConfig(store_config); !valid.ok()) return valid;
  auto store = std::make_shared<swarm::TorrentStore>(store_config);

  // [udp]
  if (config.udp.enabled) {
    absl::StatusOr<udp::UdpWorkers> udp =
        udp::BuildUdpWorkers(config.udp, config.swarm, context.access_list, store);
    if (!udp.ok()) return udp.status();
    for (auto& worker : udp->workers) workers.push_back(std::move(worker));
  }

  // [http], [ws]: future protocols add their workers here, over the same store.

  if (workers.empty()) {
    REEF_LOG(Warn) << "no protocol is enabled: reef serves nothing and waits for SIGTERM";
    return workers;
  }
  workers.push_back(MakeCleaner(std::move(store), config.swarm.cleaning_interval));
  return workers;
}

}  // namespace reef
