// [swarm]: the torrent and peer store and the announce rules, shared by every protocol.
#ifndef REEF_SERVER_SWARM_SWARM_CONFIG_H_
#define REEF_SERVER_SWARM_SWARM_CONFIG_H_

#include "absl/time/time.h"
#include "server/common/config_section.h"

namespace reef {

// The most info hashes one scrape may ask about, whatever the protocol. UDP holds fewer
// (what fits its datagram: [udp] checks that); the cap is for protocols over TCP, where
// a request can be long.
inline constexpr int kMaxScrapeHashesLimit = 1000;

struct SwarmConfig {
  absl::Duration announce_interval = absl::Seconds(1800);
  absl::Duration min_announce_interval = absl::Seconds(900);
  absl::Duration peer_inactivity_timeout = absl::Seconds(2700);
  int max_response_peers = 50;
  int max_scrape_hashes = 74;
  int shards = 64;
  absl::Duration cleaning_interval = absl::Seconds(60);
  friend bool operator==(const SwarmConfig&, const SwarmConfig&) = default;
};

const config::Section<SwarmConfig>& SwarmSection();

}  // namespace reef

#endif  // REEF_SERVER_SWARM_SWARM_CONFIG_H_
