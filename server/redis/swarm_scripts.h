// The Lua scripts behind the Redis swarm backend (redis_swarm.h) and the keys they use.
//
// Keys of one torrent, all with the info hash's hex as their hash tag, so they live in
// one slot and one script call on the node serving it sees them all:
//   <p>:{<hex>}:s4  <p>:{<hex>}:l4     ZSETs of IPv4 seeders / leechers: member the compact
//   <p>:{<hex>}:s6  <p>:{<hex>}:l6     endpoint (address, port big-endian), score the time
//                                      (ms, Redis's clock) the entry expires
//   <p>:{<hex>}:d                      HASH endpoint -> flag byte ('c': its `completed`
//                                      was counted, else '-') .. peer id (20 bytes) ..
//                                      key (decimal, empty when none)
//   <p>:{<hex>}:c                      STRING the completed count
//   <p>:{<hex>}:x4:<prefix>            ZSET of the entries of one address prefix (the
//   <p>:{<hex>}:x6:<prefix>            prefix cap; only with prefix_cap > 0), same scores
//   <p>:{<hex>}:w4:<prefix>            STRING with a PX lifetime: this prefix's `completed`
//   <p>:{<hex>}:w6:<prefix>            was counted within completed_window
// Every announce that writes sets the torrent's keys' PEXPIRE to the peer lifetime, so a
// torrent nobody announces to any more disappears by itself, with no cleaner.
//
// Keys of one slot (the per-slot budget), hash tag a short string that hashes to the
// same slot as the torrent's (SlotTag):
//   <p>:{<tag>}:t   ZSET hex info hash -> when the torrent expires
//   <p>:{<tag>}:n   HASH hex info hash -> its peers (both families); field "*": the total
// An announce first drops the slot's torrents past their expiry (their peers have all
// expired with them) from both, up to trim_per_call of them.
#ifndef REEF_SERVER_REDIS_SWARM_SCRIPTS_H_
#define REEF_SERVER_REDIS_SWARM_SCRIPTS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/common/fixed_bytes.h"

namespace reef::redis {

// The announce script. KEYS: s4 l4 s6 l6 d c t n (see above). ARGV: hex info hash,
// family ("4"/"6"), endpoint (compact), peer id, key (decimal or ""), seeder ("1"/"0"),
// event ("none", "started", "stopped", "completed"), peers wanted, peer lifetime ms,
// prefix cap, prefix bits v4, prefix bits v6, completed window ms, slot peer limit, slot
// torrent limit, random seed, the torrent's key base "<p>:{<hex>}:", trim per call.
// Returns {status ("ok"/"full"), seeders, leechers, completed, flags (1: an entry of the
// prefix was evicted, 2: a `stopped` with the wrong key, 4: `completed` not counted),
// peers (compact entries, concatenated), their peer ids (20 bytes each, same order)}.
extern const std::string_view kAnnounceScript;

// The scrape script, read-only. KEYS: s4 l4 s6 l6 c. Returns {seeders, leechers,
// completed}, counting only entries not yet expired.
extern const std::string_view kScrapeScript;

// Hex SHA-1 of a script, as EVALSHA wants it.
std::string ScriptSha1(std::string_view script);

// A short string whose slot is `slot` ("0".."16383" do not cover every slot; this finds
// the first "s<n>" that does, from a table built once).
const std::string& SlotTag(uint16_t slot);

// "<prefix>:{<40 hex digits>}:"
std::string TorrentKeyBase(std::string_view prefix, const InfoHash& info_hash);

}  // namespace reef::redis

#endif  // REEF_SERVER_REDIS_SWARM_SCRIPTS_H_
