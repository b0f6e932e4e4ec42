// What [ws] adds to reef's HTTP socket workers (see ws_stream.h for the design): the
// WebTorrent swarm, the mailboxes between workers and one WsStreamFactory per worker.
//
//   ... make the HTTP TcpWorkers (server/http/http_server.h) ...
//   auto ws = InstallWebTorrent(config.ws, config.swarm, access_list, tcp_workers, seed);
//   ... the store's cleaner also cleans ws->swarm, shard by shard (protocol_workers.cc)
#ifndef REEF_SERVER_WS_WS_SERVER_H_
#define REEF_SERVER_WS_WS_SERVER_H_

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/access_list.h"
#include "server/swarm/swarm_config.h"
#include "server/tcp/limits.h"
#include "server/tcp/tcp_worker.h"
#include "server/ws/relay_mailbox.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_swarm.h"
#include "server/ws/ws_config.h"

namespace reef::ws {

struct WebTorrentServer {
  std::shared_ptr<WebTorrentSwarm> swarm;
  std::shared_ptr<RelayMailboxes> mailboxes;  // null with one worker
  // Each worker's host, for counters; valid while its worker lives.
  std::vector<const WebTorrentHost*> hosts;
};

// Installs WebTorrent on `workers`, before they run. Fails if a part cannot be made
// (eventfds). `seed` seeds each worker's offer picks. The swarm has [swarm] shards, so
// that one cleaner visits the torrent store and the WebTorrent swarm shard by shard.
absl::StatusOr<WebTorrentServer> InstallWebTorrent(const WsConfig& ws, const SwarmConfig& swarm,
                                                   std::shared_ptr<const AccessList> access_list,
                                                   std::span<tcp::TcpWorker* const> workers,
                                                   uint64_t seed);

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_WS_SERVER_H_
