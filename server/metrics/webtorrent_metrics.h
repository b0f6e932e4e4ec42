// WebTorrent as metrics: each HTTP worker's WebTorrentHost counters (its tracker, relay
// and WebSocket connections), summed over the workers, and the WebTorrent swarm's totals.
// Nothing is exported with [ws] off (ServerObservables::webtorrent is null then).
//
//   reef_webtorrent_messages_total{type}      messages handled: announce, answer, scrape
//   reef_webtorrent_errors_sent_total         failure reasons sent, any cause (refusals,
//                                             malformed messages, too many offers or
//                                             info hashes)
//   reef_webtorrent_refused_total{reason}     announces refused: info hash not allowed,
//                                             peer id in use, tracker full, too many
//                                             torrents per connection
//   reef_webtorrent_relayed_total{kind}       offers and answers handed to a connection
//                                             (this worker's or another's mailbox)
//   reef_webtorrent_dropped_total{cause}      offers and answers not delivered: answer to
//                                             unknown peer, answer from peer not in swarm,
//                                             too big, mailbox full, receiver gone,
//                                             receiver backlog
//   reef_webtorrent_mailbox_frames_total{direction}  frames between workers: sent, received
//   reef_webtorrent_closed_connection_peers_total     peers removed because their
//                                             connection ended
//   reef_websocket_connections_open           WebSocket connections open now
//   reef_websocket_connections_opened_total
//   reef_websocket_connections_closed_total{cause}  client close, protocol error, too big,
//                                             binary message, idle timeout, socket closed
//   reef_webtorrent_torrents                  torrents with a WebTorrent peer
//   reef_webtorrent_peers{status}             seeder, leecher
//
// WebTorrent requests are not in reef_requests_total{protocol="ws"|"wss"}: a host counts
// per worker, not per connection, so it cannot tell ws from wss nor IPv4 from IPv6.
// reef_webtorrent_messages_total is their count, both schemes and families together.
//
// The swarm's totals are read with WebTorrentSwarm::Stats(), one shard's lock at a time.
#ifndef REEF_SERVER_METRICS_WEBTORRENT_METRICS_H_
#define REEF_SERVER_METRICS_WEBTORRENT_METRICS_H_

#include <cstdint>

#include "server/metrics/registry.h"
#include "server/protocol_workers.h"

namespace reef::metrics {

// The collector over `observed` (which must stay valid while the registry is scraped).
void AddWebTorrentCollector(Registry& registry, const ServerObservables& observed);

// WebTorrent messages handled since start (announces, answers, scrapes), over every
// worker: what the statistics page shows and rates.
uint64_t SumWebTorrentMessages(const ServerObservables& observed);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_WEBTORRENT_METRICS_H_
