// [ws]: the WebTorrent tracker (WebSocket upgrades on the HTTP and HTTPS listeners), its
// limits and its swarm.
#ifndef REEF_SERVER_WS_WS_CONFIG_H_
#define REEF_SERVER_WS_WS_CONFIG_H_

#include "absl/time/time.h"
#include "server/common/config_section.h"
#include "server/ws/connection.h"
#include "server/ws/relay_mailbox.h"
#include "server/ws/webtorrent_swarm.h"
#include "server/ws/webtorrent_tracker.h"

namespace reef {

// Bounds on [ws] values that are not the library's own, named for the tests.
inline constexpr int kMaxWsPeers = 1'000'000'000;
inline constexpr int kMaxWsTorrents = 1'000'000'000;

struct WsConfig {
  bool enabled = true;
  absl::Duration announce_interval = absl::Seconds(ws::kDefaultWsAnnounceIntervalS);
  int max_message_size = static_cast<int>(ws::kDefaultMaxMessageSize);
  int max_outbound_size = static_cast<int>(ws::kDefaultMaxOutboundBytes);
  absl::Duration ping_interval = absl::Milliseconds(ws::kDefaultPingIntervalMs);
  absl::Duration idle_timeout = absl::Milliseconds(ws::kDefaultIdleTimeoutMs);
  int max_offers = static_cast<int>(ws::kDefaultMaxOffers);
  int max_scrape_hashes = static_cast<int>(ws::kDefaultMaxScrapeHashes);
  int max_torrents_per_connection = static_cast<int>(ws::kDefaultMaxTorrentsPerConnection);
  int max_peers = static_cast<int>(ws::kDefaultMaxPeers);
  int max_torrents = static_cast<int>(ws::kDefaultMaxTorrents);
  absl::Duration peer_inactivity_timeout = absl::Seconds(ws::kDefaultPeerInactivityTimeoutS);
  int relay_queue_size = static_cast<int>(ws::kDefaultRelayQueueBytes);
  friend bool operator==(const WsConfig&, const WsConfig&) = default;

  // The library's views of it.
  ws::ConnectionLimits connection_limits() const;
  ws::WebTorrentOptions tracker_options() const;
  // `shards` from [swarm]: both stores are cleaned shard by shard by one cleaner.
  ws::WebTorrentSwarmConfig swarm_config(int shards) const;
};

const config::Section<WsConfig>& WsSection();

}  // namespace reef

#endif  // REEF_SERVER_WS_WS_CONFIG_H_
