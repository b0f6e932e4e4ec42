#include "server/protocol_workers.h"

#include <sys/random.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/common/log.h"
#include "server/common/periodic.h"
#include "server/swarm/torrent_store.h"
#include "server/tracker/tracker.h"
#include "server/http/http_server.h"
#include "server/udp/udp_server.h"
#include "server/ws/ws_server.h"

namespace reef {
namespace {

// Cleans one shard of the store per tick, cleaning_interval / shards apart, so every
// shard is cleaned once per interval and no moment stalls them all; with WebTorrent on,
// the same shard of its swarm (it has as many shards) in the same tick.
std::unique_ptr<Worker> MakeCleaner(
    std::shared_ptr<swarm::TorrentStore> store, std::shared_ptr<ws::WebTorrentSwarm> webtorrent,
    const Clock& clock, absl::Duration interval, std::shared_ptr<CleanerStats> stats,
    std::function<void(const swarm::TorrentStore&, size_t, int64_t)> after_cleaning) {
  const size_t shards = store->shard_count();
  const absl::Duration tick = interval / static_cast<int64_t>(shards);
  auto next = std::make_shared<size_t>(0);
  return std::make_unique<PeriodicWorker>(
      "cleaner", tick,
      [store = std::move(store), webtorrent = std::move(webtorrent), &clock, next, shards,
       stats = std::move(stats),
       after_cleaning = std::move(after_cleaning)](PeriodicWorker::Reason) {
        const size_t shard = (*next)++ % shards;
        // The clock the protocol workers stamp peers with (Clock::MonotonicSeconds,
        // CLOCK_MONOTONIC_COARSE), so "idle" means the same to both. The WebTorrent
        // workers stamp CLOCK_MONOTONIC (server/tcp), the same clock less coarse.
        const int64_t now = clock.MonotonicSeconds();
        // Cleaning holds the shard's lock one slice at a time: the longest slice is what an
        // announce to that shard may wait for (its CPU time; preemption can add to it).
        double longest_slice_s = 0;
        const swarm::CleanStats cleaned = store->CleanShard(shard, now, &longest_slice_s);
        const auto pause_us = static_cast<int64_t>(longest_slice_s * 1e6);
        // One writer (this thread): load and store, no locked add.
        auto add = [](auto& counter, auto n) {
          counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
        };
        add(stats->runs, uint64_t{1});
        add(stats->peers_removed, cleaned.peers_removed);
        add(stats->torrents_removed, cleaned.torrents_removed);
        if (pause_us > stats->longest_pause_us.load(std::memory_order_relaxed)) {
          stats->longest_pause_us.store(pause_us, std::memory_order_relaxed);
        }
        if (after_cleaning) after_cleaning(*store, shard, now);
        if (cleaned.peers_removed > 0 || cleaned.torrents_removed > 0) {
          REEF_LOG(Debug) << "shard " << shard << ": removed " << cleaned.peers_removed
                          << " idle peers, " << cleaned.torrents_removed << " empty torrents";
        }
        if (webtorrent != nullptr && shard < webtorrent->shard_count()) {
          const ws::WebTorrentCleanStats wt = webtorrent->CleanShard(shard, now);
          if (wt.peers_removed > 0 || wt.torrents_removed > 0) {
            REEF_LOG(Debug) << "WebTorrent shard " << shard << ": removed " << wt.peers_removed
                            << " idle peers, " << wt.torrents_removed << " empty torrents";
          }
        }
        return absl::OkStatus();
      });
}

uint64_t RandomSeed() {
  uint64_t seed = 0;
  if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = static_cast<uint64_t>(getpid());
  return seed;
}

}  // namespace

absl::StatusOr<tracker::Shared> BuildTrackerCore(const SwarmConfig& swarm,
                                                 std::shared_ptr<const AccessList> access_list) {
  swarm::StoreConfig store_config;
  store_config.shards = static_cast<size_t>(swarm.shards);
  store_config.max_response_peers = static_cast<uint32_t>(swarm.max_response_peers);
  store_config.peer_inactivity_timeout_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(swarm.peer_inactivity_timeout));
  store_config.max_peers = static_cast<uint64_t>(swarm.max_peers);
  store_config.max_torrents = static_cast<uint64_t>(swarm.max_torrents);
  store_config.prefix_cap = static_cast<uint32_t>(swarm.prefix_cap);
  store_config.prefix_bits_v4 = static_cast<uint32_t>(swarm.prefix_bits_v4);
  store_config.prefix_bits_v6 = static_cast<uint32_t>(swarm.prefix_bits_v6);
  store_config.completed_window_s =
      static_cast<uint32_t>(absl::ToInt64Seconds(swarm.completed_window));
  absl::StatusOr<swarm::TorrentStore> store = swarm::TorrentStore::Create(store_config);
  if (!store.ok()) return store.status();

  tracker::Shared core;
  core.options.announce_interval_s =
      static_cast<int32_t>(absl::ToInt64Seconds(swarm.announce_interval));
  core.options.min_announce_interval_s =
      static_cast<int32_t>(absl::ToInt64Seconds(swarm.min_announce_interval));
  core.options.max_response_peers = static_cast<uint32_t>(swarm.max_response_peers);
  core.options.max_scrape_hashes = static_cast<size_t>(swarm.max_scrape_hashes);
  core.store = std::make_shared<swarm::TorrentStore>(std::move(*store));
  core.access_list = std::move(access_list);
  core.clock = &SystemClock();
  return core;
}

absl::StatusOr<std::vector<std::unique_ptr<Worker>>> BuildProtocolWorkers(
    const ServerContext& context) {
  const Config& config = context.config;
  std::vector<std::unique_ptr<Worker>> workers;

  // The swarm store and the tracker core's rules, shared by every protocol.
  absl::StatusOr<tracker::Shared> core = BuildTrackerCore(config.swarm, context.access_list);
  if (!core.ok()) return core.status();
  ServerObservables unobserved;
  ServerObservables& observed = context.observed != nullptr ? *context.observed : unobserved;
  observed.store = core->store;
  auto cleaner_stats = std::make_shared<CleanerStats>();
  observed.cleaner = cleaner_stats;

  // [udp]
  if (config.udp.enabled) {
    absl::StatusOr<udp::UdpWorkers> udp = udp::BuildUdpWorkers(config.udp, *core);
    if (!udp.ok()) return udp.status();
    for (auto& worker : udp->workers) workers.push_back(std::move(worker));
    observed.core_counters.insert(observed.core_counters.end(), udp->core_counters.begin(),
                                  udp->core_counters.end());
    observed.udp_loops = udp->loop_stats;
    observed.udp = udp->udp_stats;
    observed.udp_bound = udp->bound;
  }

  // [http], [http.tls], and [ws] on the same listeners
  std::shared_ptr<ws::WebTorrentSwarm> webtorrent;
  if (config.http.enabled) {
    absl::StatusOr<http_server::HttpWorkers> http =
        http_server::BuildHttpWorkers(config.http, config.http_tls, *core, context.http_pages);
    if (!http.ok()) return http.status();
    if (config.ws.enabled) {
      absl::StatusOr<ws::WebTorrentServer> installed = ws::InstallWebTorrent(
          config.ws, config.swarm, context.access_list, http->tcp_workers, RandomSeed());
      if (!installed.ok()) return installed.status();
      webtorrent = installed->swarm;
      observed.webtorrent = installed->swarm;
      observed.ws_hosts = installed->hosts;
      REEF_LOG(Info) << "ws: WebTorrent over WebSocket on the http listeners (ws://"
                     << (config.http_tls.listen.empty() ? ")" : " and wss://)");
    }
    for (auto& worker : http->workers) workers.push_back(std::move(worker));
    observed.core_counters.insert(observed.core_counters.end(), http->core_counters.begin(),
                                  http->core_counters.end());
    observed.tcp_workers = http->worker_stats;
    observed.tcp_connections = http->connection_stats;
    observed.http_bound = http->bound;
    observed.https_bound = http->tls_bound;
    if (http->tls != nullptr && context.reload_hooks != nullptr) {
      context.reload_hooks->push_back(
          [tls = http->tls] { http_server::ReloadCertificate(*tls); });
    }
  }

  if (workers.empty()) {
    REEF_LOG(Warn) << "no protocol is enabled: reef serves nothing and waits for SIGTERM";
    return workers;
  }
  workers.push_back(MakeCleaner(core->store, std::move(webtorrent), *core->clock,
                                config.swarm.cleaning_interval, std::move(cleaner_stats),
                                context.after_cleaning));
  return workers;
}

}  // namespace reef
