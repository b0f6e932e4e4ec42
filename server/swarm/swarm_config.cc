#include "server/swarm/swarm_config.h"

#include "server/common/strings.h"
#include "server/swarm/torrent_store.h"

namespace reef {
namespace {

void CheckIntervals(const SwarmConfig& swarm, config::Problems& problems) {
  if (swarm.min_announce_interval > swarm.announce_interval) {
    problems.Add("min_announce_interval_seconds",
                 StrCat("must be at most swarm.announce_interval_seconds (",
                        absl::ToInt64Seconds(swarm.announce_interval), "), got ",
                        absl::ToInt64Seconds(swarm.min_announce_interval)));
  }
  if (swarm.peer_inactivity_timeout <= swarm.announce_interval) {
    problems.Add("peer_inactivity_timeout_seconds",
                 StrCat("must be more than swarm.announce_interval_seconds (",
                        absl::ToInt64Seconds(swarm.announce_interval),
                        "), or every peer expires before it announces again; got ",
                        absl::ToInt64Seconds(swarm.peer_inactivity_timeout)));
  }
}

}  // namespace

const config::Section<SwarmConfig>& SwarmSection() {
  static const auto* section = [] {
    auto* s = new config::Section<SwarmConfig>(
        "swarm", "The torrent and peer store, shared by every protocol.");
    s->Key("announce_interval_seconds", &SwarmConfig::announce_interval, config::Seconds(1),
           "How often clients are told to announce (the \"interval\" of BEP 3 and 15): 30\n"
           "minutes, as most public trackers do. 15 minutes would double the announce load\n"
           "for fresher peer lists, yet clients announce at once when they start, stop or\n"
           "complete, which is when fresh lists matter.");
    s->Key("min_announce_interval_seconds", &SwarmConfig::min_announce_interval, config::Seconds(1),
           "The \"min interval\" of HTTP replies (BEP 3): clients should not announce more\n"
           "often, even to ask for more peers. Half the interval lets a client short of peers\n"
           "ask again without inviting a flood. UDP replies have no such field. At most\n"
           "announce_interval_seconds.");
    s->Key("peer_inactivity_timeout_seconds", &SwarmConfig::peer_inactivity_timeout,
           config::Seconds(1),
           "A peer that has not announced for this long is dropped. 45 minutes, 1.5 intervals:\n"
           "a peer whose announce comes late, after BEP 15 retries or a suspended laptop,\n"
           "keeps its place, and a peer that vanished without a \"stopped\" event is handed\n"
           "out for at most 15 minutes past its due time. More than announce_interval_seconds.");
    s->Key("max_response_peers", &SwarmConfig::max_response_peers,
           config::Int(1, static_cast<int>(swarm::kMaxResponsePeersLimit)),
           "Most peers in one announce reply (a client's numwant may ask for fewer, never\n"
           "more), 1 to 1024; with UDP on, at most what fits udp.max_datagram_size as IPv6\n"
           "peers, (size - 20) / 18, 82 for 1500 bytes. 50 is what clients ask for by default\n"
           "(BEP 3) and fills a client's connection slots over a few announces; 50 IPv6 peers\n"
           "make a 920-byte UDP reply, which crosses any IPv6 path (1280-byte minimum MTU)\n"
           "whole.");
    s->Key("max_scrape_hashes", &SwarmConfig::max_scrape_hashes,
           config::Int(1, kMaxScrapeHashesLimit),
           "Most info hashes answered in one scrape, 1 to 1000; with UDP on, at most what one\n"
           "request of udp.max_datagram_size holds, (size - 16) / 20, 74 for 1500 bytes. 74 is\n"
           "BEP 15's own figure, what fits one Ethernet frame (a 1496-byte request).");
    s->Key("shards", &SwarmConfig::shards, config::Int(1, static_cast<int>(swarm::kMaxShards)),
           "The store is split by info hash into this many independently locked shards, 1 to\n"
           "4096. Many more shards than socket workers keep lock contention rare, and cleaning\n"
           "holds one shard at a time: with 64, each pause touches 1/64 of the store.");
    s->Key("cleaning_interval_seconds", &SwarmConfig::cleaning_interval, config::Seconds(1),
           "Every shard is swept of peers past peer_inactivity_timeout_seconds, and of empty\n"
           "torrents, once per interval, the shards' sweeps spread evenly across it. A stale\n"
           "peer lingers at most this long past its timeout: one minute is small next to 45,\n"
           "and sweeping more often would cost more than the stale peers do.");
    s->Check(&CheckIntervals);
    return s;
  }();
  return *section;
}

}  // namespace reef
