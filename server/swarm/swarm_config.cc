#include "server/swarm/swarm_config.h"

#include <limits>

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

// Each shard holds its share of the budget, so each needs a share of at least one.
void CheckBudget(const SwarmConfig& swarm, config::Problems& problems) {
  if (swarm.max_peers < swarm.shards) {
    problems.Add("max_peers", StrCat("must be at least swarm.shards (", swarm.shards,
                                     "): each shard holds its share; got ", swarm.max_peers));
  }
  if (swarm.max_torrents < swarm.shards) {
    problems.Add("max_torrents", StrCat("must be at least swarm.shards (", swarm.shards,
                                        "): each shard holds its share; got ",
                                        swarm.max_torrents));
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
           "4096. Many more shards than socket workers keep lock contention rare, and each\n"
           "shard holds 1/shards of max_peers and max_torrents, which bounds how long one\n"
           "shard's lock is held when its tables grow: with 256 and the default budget, 32 ms\n"
           "at worst for the torrent table and 43 ms for a swarm at the shard's whole peer\n"
           "share (measured, docs/benchmarks.md); cleaning works in slices of 2048 peers.\n"
           "More shards shorten those pauses but also cap the largest swarm, at\n"
           "max_peers / shards peers.");
    s->Key("cleaning_interval_seconds", &SwarmConfig::cleaning_interval, config::Seconds(1),
           "Every shard is swept of peers past peer_inactivity_timeout_seconds, and of empty\n"
           "torrents, once per interval, the shards' sweeps spread evenly across it. A stale\n"
           "peer lingers at most this long past its timeout: one minute is small next to 45,\n"
           "and sweeping more often would cost more than the stale peers do.");
    s->Key("max_peers", &SwarmConfig::max_peers, config::Int(1, std::numeric_limits<int>::max()),
           "The most peers the store holds, both address families, every protocol. Each shard\n"
           "holds its share (max_peers / shards), so one swarm holds at most that share\n"
           "(292,968 with the defaults). When a shard is full, a new peer gets \"tracker\n"
           "is full\" (counted as refused \"tracker full\"), while the peers it holds are\n"
           "answered as always. Measured (swarm_benchmark, docs/benchmarks.md): a peer of a\n"
           "large swarm takes 46 bytes (IPv4, alone in its address) to 70 bytes (IPv6, 16 in\n"
           "one /64), and just after its swarm's arrays doubled up to 54 more (computed: the\n"
           "arrays' 54 bytes per such IPv6 peer, twice over); so 75 million peers take at most\n"
           "9.3 GB. With max_torrents below, the store stays under 14 GB: a 24 GiB machine\n"
           "keeps 10 GB for the kernel, socket buffers and the rest. Scale both to the machine.");
    s->Key("max_torrents", &SwarmConfig::max_torrents,
           config::Int(1, std::numeric_limits<int>::max()),
           "The most torrents (info hashes) the store holds; each shard holds its share. A\n"
           "new torrent in a full shard gets \"tracker is full\"; an empty torrent keeps its\n"
           "place until its shard is cleaned. Measured: a torrent with one peer takes 237\n"
           "bytes (IPv4) or 287 (IPv6), and its record of `completed` (below) up to 94 more;\n"
           "10 million torrents take at most 3.8 GB.");
    s->Key("prefix_cap", &SwarmConfig::prefix_cap, config::Int(0, 65535),
           "The most entries one swarm holds from one address prefix (prefix_bits_v4 and\n"
           "prefix_bits_v6 below), 0 for no cap. A new entry of a prefix at its cap replaces\n"
           "the entry of that prefix that announced least recently, so one host cannot fill\n"
           "a swarm with 65,535 ports and push real peers out of every reply. 16, not 1 or 2:\n"
           "a household puts several clients behind one address, and carrier-grade NAT\n"
           "hundreds, and two of them in one swarm is common for popular torrents. Peers\n"
           "behind CGNAT can rarely take incoming connections, so more than 16 entries from\n"
           "one address seldom help anyone, and the ones over the cap still announce and get\n"
           "peers, they take turns being listed. Tests and benchmarks that simulate many\n"
           "peers from 127.0.0.1 set the cap they need in their own config.");
    s->Key("prefix_bits_v4", &SwarmConfig::prefix_bits_v4, config::Int(1, 32),
           "The leading bits of an IPv4 address that make its prefix for prefix_cap and\n"
           "completed_window_seconds, 1 to 32. 32: one address, since IPv4 addresses are\n"
           "scarce and neighbours in a /24 are usually different customers.");
    s->Key("prefix_bits_v6", &SwarmConfig::prefix_bits_v6, config::Int(1, 128),
           "The same for IPv6, 1 to 128. 64: one host can pick any of its /64's 2^64\n"
           "addresses (SLAAC, privacy addresses), so a longer prefix would not limit it; a\n"
           "household or a LAN gets a /64 or more.");
    s->Key("completed_window_seconds", &SwarmConfig::completed_window, config::Seconds(1),
           "A torrent's completed count (\"downloaded\") takes at most one `completed` from\n"
           "one address prefix in this window, so a loop of `completed` and `stopped` cannot\n"
           "inflate it. 45 minutes, the peer timeout: a client that really downloads the\n"
           "torrent again takes longer. Each shard remembers at most its share of\n"
           "max_torrents (torrent, prefix) pairs at once; when that is full, a `completed`\n"
           "from a prefix it does not remember is not counted (counted as\n"
           "completed_not_counted) until cleaning forgets pairs past the window.");
    s->Check(&CheckIntervals);
    s->Check(&CheckBudget);
    return s;
  }();
  return *section;
}

}  // namespace reef
