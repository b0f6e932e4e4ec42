// The WebTorrent tracker on reef's HTTP socket workers: WebSocket upgrades on the HTTP and
// HTTPS ports, one WebTorrentHost per worker, offers and answers relayed between workers.
//
// How it fits DESIGN.md's server:
//   - Socket workers own their connections. An HTTP worker (server/tcp TcpWorker) parses
//     each request head; a GET with `Upgrade: websocket` goes to this worker's
//     WsStreamFactory instead of the HTTP handler, which validates the upgrade (RFC 6455
//     section 4.2.1, protocol/ws/handshake.h) and answers 101 or a refusal (426 for the
//     version, 400 otherwise). An accepted connection keeps its socket, TLS, buffers and
//     timers in server/tcp and carries a WsStream: the bytes it reads go to the
//     WebSocket state machine (WsConnection, apart from sockets), whose frames go back out
//     through the TCP connection's bounded output buffer (encrypted under TLS). So ws://
//     and wss:// are the HTTP and HTTPS listeners themselves, as in bittorrent-tracker.
//   - Timers without a syscall per connection: the TCP connection's timer queues gain two
//     phases, kStreamIdle (the client silent for [ws] ping_interval: send a ping) and
//     kStreamGrace (silent idle_timeout - ping_interval longer: close), each a FIFO of
//     connections with one duration, as server/tcp/timers.h does for HTTP.
//   - One swarm for the process: every worker's host shares one WebTorrentSwarm (sharded,
//     a lock per shard, cleaned shard by shard by the cleaner worker, bounded by [ws]
//     max_peers and max_torrents). Its peers are kept apart from UDP and HTTP peers
//     (webtorrent_swarm.h says why).
//   - Cross-worker relay: an offer or answer for a connection of another worker goes into
//     that worker's mailbox (RelayMailboxes: a bounded, lock-free ring per ordered pair of
//     workers), and the receiving worker is woken through its eventfd, which is one of its
//     TcpWorker's wake sources. No worker ever waits for another, not even for a lock: a
//     full ring drops the message and counts it (relay_mailbox.h). Offers for a
//     connection of the same worker are queued directly.
//   - After each loop turn the worker gives the connections that received relayed frames
//     a chance to send (TcpWorker::Refresh) and wakes the workers it sent frames to, once
//     per turn, not once per frame.
//   - Nothing a client sends ends a worker: bad frames close that connection with the
//     RFC's code, bad messages get a failure reason, and every limit ([ws]) has a
//     counter. Everything a closing connection announced leaves the swarm at once.
#ifndef REEF_SERVER_WS_WS_STREAM_H_
#define REEF_SERVER_WS_WS_STREAM_H_

#include <cstdint>
#include <memory>
#include <span>

#include "protocol/http/request.h"
#include "server/common/access_list.h"
#include "server/tcp/connection.h"
#include "server/tcp/handler.h"
#include "server/tcp/tcp_worker.h"
#include "server/ws/connection.h"
#include "server/ws/relay_mailbox.h"
#include "server/ws/webtorrent_host.h"
#include "server/ws/webtorrent_swarm.h"
#include "server/ws/webtorrent_tracker.h"

namespace reef::ws {

// The largest answer to an upgrade request: a 101 (~130 bytes) or a refusal with its
// reason (~200).
inline constexpr size_t kMaxUpgradeResponseBytes = 512;

// Whether `request` asks for a WebSocket: an Upgrade header whose list names "websocket".
bool AsksForWebSocket(const http::Request& request);

class WsStreamFactory final : public tcp::StreamFactory {
 public:
  // `worker` is this worker's index among the HTTP workers (its mailbox address).
  // `mailboxes` may be null with a single worker. The factory keeps the shared parts alive
  // as long as its worker's connections need them.
  WsStreamFactory(uint16_t worker, const ConnectionLimits& limits,
                  const WebTorrentOptions& options, std::shared_ptr<WebTorrentSwarm> swarm,
                  std::shared_ptr<const AccessList> access_list,
                  std::shared_ptr<RelayMailboxes> mailboxes, uint64_t rng_seed);

  // Installs the factory on `worker` (which takes ownership): the WebSocket ping and idle
  // timers as its stream timers, the mailbox's eventfd as a wake source, and a turn hook
  // that sends relayed frames and wakes other workers.
  static void Install(std::unique_ptr<WsStreamFactory> factory, tcp::TcpWorker& worker);

  bool Wants(const http::Request& request) const override;
  size_t Upgrade(const http::Request& request, const tcp::RequestContext& context,
                 std::span<uint8_t> out, std::unique_ptr<tcp::Stream>* stream) override;
  size_t MaxResponseBytes() const override { return kMaxUpgradeResponseBytes; }

  WebTorrentHost& host() { return host_; }

 private:
  const ConnectionLimits limits_;
  const std::shared_ptr<WebTorrentSwarm> swarm_;
  const std::shared_ptr<const AccessList> access_list_;
  const std::shared_ptr<RelayMailboxes> mailboxes_;
  WebTorrentHost host_;
};

}  // namespace reef::ws

#endif  // REEF_SERVER_WS_WS_STREAM_H_
