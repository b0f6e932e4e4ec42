#include "server/ws/ws_server.h"

#include <utility>

#include "server/ws/ws_stream.h"

namespace reef::ws {

absl::StatusOr<WebTorrentServer> InstallWebTorrent(const WsConfig& ws, const SwarmConfig& swarm,
                                                   std::shared_ptr<const AccessList> access_list,
                                                   std::span<tcp::TcpWorker* const> workers,
                                                   uint64_t seed) {
  const ConnectionLimits limits = ws.connection_limits();
  if (absl::Status s = ValidateConnectionLimits(limits); !s.ok()) return s;
  const WebTorrentOptions options = ws.tracker_options();
  if (absl::Status s = ValidateWebTorrentOptions(options); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<WebTorrentSwarm>> created =
      WebTorrentSwarm::Create(ws.swarm_config(swarm.shards));
  if (!created.ok()) return created.status();

  WebTorrentServer server;
  server.swarm = std::move(created).value();
  if (workers.size() > 1) {
    absl::StatusOr<std::unique_ptr<RelayMailboxes>> boxes =
        RelayMailboxes::Create(workers.size(), static_cast<size_t>(ws.relay_queue_size),
                               WebTorrentTracker::RelayBufferSize(options));
    if (!boxes.ok()) return boxes.status();
    server.mailboxes = std::move(boxes).value();
  }
  for (size_t i = 0; i < workers.size(); ++i) {
    auto factory = std::make_unique<WsStreamFactory>(
        static_cast<uint16_t>(i), limits, options, server.swarm, access_list, server.mailboxes,
        seed * 0x9e3779b97f4a7c15ULL + i);
    server.hosts.push_back(&factory->host());
    WsStreamFactory::Install(std::move(factory), *workers[i]);
  }
  return server;
}

}  // namespace reef::ws
