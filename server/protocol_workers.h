// The one place where the reef binary gets its protocol workers (UDP, later HTTP and
// WebSocket) from the configuration. server/main.cc calls BuildProtocolWorkers() once, on
// the main thread, before dropping privileges and before any worker runs.
//
// To add a protocol: build its workers in BuildProtocolWorkers() from context.config and
// the tracker core every protocol shares (`core`: the store, the access list, the clock,
// the announce and scrape rules' options; each worker makes its own tracker::Tracker
// from it),
// doing everything that can fail at start there (bind the sockets, check io_uring) so that
// a bad address or a refused backend stops reef before it serves anything; each worker's
// Run() then serves until its StopSignal. Add the library to //server:protocol_workers'
// deps. Nothing else in main.cc needs to change.
#ifndef REEF_SERVER_PROTOCOL_WORKERS_H_
#define REEF_SERVER_PROTOCOL_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/access_list.h"
#include "server/common/http_page.h"
#include "server/config.h"
#include "server/common/worker.h"
#include "server/swarm/torrent_store.h"
#include "server/tcp/connection.h"
#include "server/tcp/tcp_worker.h"
#include "server/tracker/tracker.h"
#include "server/udp/event_loop.h"
#include "server/udp/tracker.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_swarm.h"

namespace reef {

// The cleaner's work, for metrics. Written by the cleaner thread alone (relaxed atomics),
// read by any.
struct CleanerStats {
  std::atomic<uint64_t> runs{0};              // shards cleaned
  std::atomic<uint64_t> peers_removed{0};
  std::atomic<uint64_t> torrents_removed{0};
  // The longest slice of cleaning (CPU time), during which its shard's lock was held.
  std::atomic<int64_t> longest_pause_us{0};
};

// What reef's operator side reads (metrics, the statistics page, the snapshot), filled
// by BuildProtocolWorkers. Every pointer stays valid while the workers live (the
// supervisor holds them); the store and the cleaner's stats as long as anyone holds them.
struct ServerObservables {
  std::shared_ptr<swarm::TorrentStore> store;
  std::shared_ptr<const CleanerStats> cleaner;
  // Every worker's tracker core counters, whatever its protocol.
  std::vector<const tracker::Counters*> core_counters;
  // UDP's own: each worker's event loop and BEP 15 adapter.
  std::vector<const udp::LoopStats*> udp_loops;
  std::vector<const udp::UdpStats*> udp;
  // HTTP(S)'s own: each worker's connections.
  std::vector<const tcp::TcpWorkerStats*> tcp_workers;
  std::vector<const tcp::ConnectionStats*> tcp_connections;
  // WebTorrent's own, when [ws] is on (else null and empty): the swarm every HTTP worker
  // shares, and each worker's host. A host belongs to its worker's thread: read only its
  // atomic counters (tracker_stats(), relay_stats(), connection_stats()), never
  // open_connections() or anything else plain (connection_stats().open_now is the same
  // number, atomic).
  std::shared_ptr<const ws::WebTorrentSwarm> webtorrent;
  std::vector<const ws::WebTorrentHost*> ws_hosts;
  // What each listen address was bound to (the statistics page's announce URLs).
  std::vector<SocketAddress> udp_bound;
  std::vector<SocketAddress> http_bound;
  std::vector<SocketAddress> https_bound;
};

// What protocol workers are built from; everything here outlives every worker.
struct ServerContext {
  const Config& config;
  // Which info hashes to serve: call access_list->Allows(info_hash) per request (cheap,
  // any thread). Always set; in mode "off" it allows everything.
  std::shared_ptr<const AccessList> access_list;
  // Where protocols put what SIGUSR1 and SIGHUP should reload (HTTPS certificates): each
  // function runs on the supervisor's thread per signal, and must be quick. May be null
  // (tests): nothing is reloaded then.
  std::vector<std::function<void()>>* reload_hooks = nullptr;
  // Where BuildProtocolWorkers says what can be observed; may be null (tests).
  ServerObservables* observed = nullptr;
  // Called on the cleaner's thread after each shard it cleans (the peer-client census);
  // may be empty.
  std::function<void(const swarm::TorrentStore&, size_t shard, int64_t now)> after_cleaning;
  // Pages the HTTP(S) listeners serve besides /announce and /scrape (the statistics page),
  // rendered on their workers' threads; may be null. Its bound must be set now, its pages
  // may be filled in after BuildProtocolWorkers (they show what was bound), before any
  // worker runs.
  const HttpPages* http_pages = nullptr;
};

// The workers for every enabled protocol, in the order they should be started, sharing
// one swarm store, and the store's cleaner ("cleaner"). An error
// stops reef at start (exit status 1) with the message logged. An empty list is allowed:
// reef then runs its other workers (the access list) and waits for SIGTERM.
absl::StatusOr<std::vector<std::unique_ptr<Worker>>> BuildProtocolWorkers(
    const ServerContext& context);

// The swarm store and the tracker core's options from the [swarm] section, with the
// access list and the system clock: what every protocol's workers share. The one place
// the [swarm] section is read, but for the cleaner's interval. (Tests that build one
// protocol's workers alone use it too.)
absl::StatusOr<tracker::Shared> BuildTrackerCore(const SwarmConfig& swarm,
                                                 std::shared_ptr<const AccessList> access_list);

}  // namespace reef

#endif  // REEF_SERVER_PROTOCOL_WORKERS_H_
