#include "server/metrics/webtorrent_metrics.h"

#include "server/metrics/worker_metrics.h"

namespace reef::metrics {
namespace {

constexpr FamilyInfo kMessages = {
    .name = "reef_webtorrent_messages_total",
    .help = "WebTorrent messages handled (ws and wss, both address families), by type.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kErrorsSent = {
    .name = "reef_webtorrent_errors_sent_total",
    .help = "WebTorrent failure reasons sent, any cause.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kRefused = {
    .name = "reef_webtorrent_refused_total",
    .help = "WebTorrent announces refused, by reason.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kRelayed = {
    .name = "reef_webtorrent_relayed_total",
    .help = "WebRTC offers and answers relayed to another peer's connection, by kind.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kDropped = {
    .name = "reef_webtorrent_dropped_total",
    .help = "WebRTC offers and answers not delivered, by cause.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kMailbox = {
    .name = "reef_webtorrent_mailbox_frames_total",
    .help = "Relayed frames passed between socket workers' mailboxes, by direction.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kRemovedOnClose = {
    .name = "reef_webtorrent_closed_connection_peers_total",
    .help = "WebTorrent peers removed from the swarm because their connection ended.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kOpen = {
    .name = "reef_websocket_connections_open",
    .help = "WebSocket connections open now.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kOpened = {
    .name = "reef_websocket_connections_opened_total",
    .help = "WebSocket connections opened (HTTP(S) connections upgraded).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kClosed = {
    .name = "reef_websocket_connections_closed_total",
    .help = "WebSocket connections closed, by cause (shutdown closes are not counted).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kTorrents = {
    .name = "reef_webtorrent_torrents",
    .help = "Torrents with at least one WebTorrent peer.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kPeers = {
    .name = "reef_webtorrent_peers",
    .help = "WebTorrent peers held, by status (seeder: left = 0).",
    .type = MetricType::kGauge,
};

void CollectHost(const ws::WebTorrentHost& host, Exposition& out) {
  const ws::WebTorrentStats& t = host.tracker_stats();
  out.Add(kMessages, {{"type", "announce"}}, Load(t.announces));
  out.Add(kMessages, {{"type", "answer"}}, Load(t.answers));
  out.Add(kMessages, {{"type", "scrape"}}, Load(t.scrapes));
  out.Add(kErrorsSent, {}, Load(t.errors_sent));
  out.Add(kRefused, {{"reason", "info hash not allowed"}}, Load(t.refused_access));
  out.Add(kRefused, {{"reason", "peer id in use"}}, Load(t.refused_not_owner));
  out.Add(kRefused, {{"reason", "tracker full"}}, Load(t.refused_full));
  out.Add(kRefused, {{"reason", "too many torrents per connection"}},
          Load(t.refused_too_many_torrents));
  out.Add(kRelayed, {{"kind", "offer"}}, Load(t.offers_relayed));
  out.Add(kRelayed, {{"kind", "answer"}}, Load(t.answers_relayed));
  out.Add(kDropped, {{"cause", "answer to unknown peer"}}, Load(t.answers_no_peer));
  out.Add(kDropped, {{"cause", "answer from peer not in swarm"}}, Load(t.answers_not_in_swarm));
  out.Add(kDropped, {{"cause", "too big"}}, Load(t.relay_too_big));
  out.Add(kRemovedOnClose, {}, Load(t.entries_removed_on_close));

  const ws::RelayStats& r = host.relay_stats();
  out.Add(kDropped, {{"cause", "mailbox full"}}, Load(r.mailbox_full));
  out.Add(kDropped, {{"cause", "receiver gone"}}, Load(r.to_closed));
  out.Add(kMailbox, {{"direction", "sent"}}, Load(r.sent_to_mailbox));
  out.Add(kMailbox, {{"direction", "received"}}, Load(r.received_from_mailbox));

  // open_now, not open_connections(): the host's own count is its worker's alone.
  const ws::ConnectionStats& c = host.connection_stats();
  out.Add(kDropped, {{"cause", "receiver backlog"}}, Load(c.relayed_dropped));
  out.Add(kOpen, {}, Load(c.open_now));
  out.Add(kOpened, {}, Load(c.opened));
  out.Add(kClosed, {{"cause", "client close"}}, Load(c.closed_by_client));
  out.Add(kClosed, {{"cause", "protocol error"}}, Load(c.protocol_errors));
  out.Add(kClosed, {{"cause", "too big"}}, Load(c.too_big));
  out.Add(kClosed, {{"cause", "binary message"}}, Load(c.binary_refused));
  out.Add(kClosed, {{"cause", "idle timeout"}}, Load(c.idle_timeouts));
  out.Add(kClosed, {{"cause", "socket closed"}}, Load(c.socket_closed));
}

void CollectSwarm(const ws::WebTorrentSwarm& swarm, Exposition& out) {
  const ws::WebTorrentStoreStats stats = swarm.Stats();
  out.Add(kTorrents, {}, stats.torrents);
  out.Add(kPeers, {{"status", "seeder"}}, stats.seeders);
  out.Add(kPeers, {{"status", "leecher"}}, stats.leechers);
}

}  // namespace

void AddWebTorrentCollector(Registry& registry, const ServerObservables& observed) {
  registry.AddCollector([&observed](Exposition& out) {
    if (observed.webtorrent == nullptr) return;
    for (const ws::WebTorrentHost* host : observed.ws_hosts) CollectHost(*host, out);
    CollectSwarm(*observed.webtorrent, out);
  });
}

uint64_t SumWebTorrentMessages(const ServerObservables& observed) {
  uint64_t total = 0;
  for (const ws::WebTorrentHost* host : observed.ws_hosts) {
    const ws::WebTorrentStats& t = host->tracker_stats();
    total += Load(t.announces) + Load(t.answers) + Load(t.scrapes);
  }
  return total;
}

}  // namespace reef::metrics
