#include "server/redis/redis_swarm.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <limits>
#include <utility>

#include "server/common/strings.h"
#include "server/redis/swarm_scripts.h"

namespace reef::redis {
namespace {

constexpr size_t kAnnounceKeys = 8;
constexpr size_t kScrapeKeys = 5;

absl::Status BadReply(std::string_view what) {
  return absl::InternalError(StrCat("redis swarm script: unexpected reply: ", what));
}

uint32_t Saturate(long long n) {
  return static_cast<uint32_t>(
      std::clamp<long long>(n, 0, std::numeric_limits<uint32_t>::max()));
}

std::string_view Text(const redisReply& reply) { return {reply.str, reply.len}; }

std::string CompactEndpoint(const Endpoint& endpoint) {
  std::string out(reinterpret_cast<const char*>(endpoint.address.bytes.data()),
                  endpoint.address.size());
  out.push_back(static_cast<char>(endpoint.port >> 8));
  out.push_back(static_cast<char>(endpoint.port & 0xFF));
  return out;
}

// The per-torrent keys s4 l4 s6 l6 d c after `base`.
constexpr std::string_view kTorrentSuffixes[] = {"s4", "l4", "s6", "l6", "d", "c"};

}  // namespace

absl::Status ValidateRedisSwarmOptions(const RedisSwarmOptions& o) {
  if (o.key_prefix.empty() || o.key_prefix.size() > kMaxKeyPrefixBytes ||
      o.key_prefix.find_first_of("{}") != std::string::npos) {
    return absl::InvalidArgumentError(
        "key_prefix: 1..64 bytes without '{' or '}' (they would change the hash slot)");
  }
  swarm::StoreConfig store;
  store.max_response_peers = o.max_response_peers;
  store.peer_inactivity_timeout_s = o.peer_inactivity_timeout_s;
  store.prefix_cap = o.prefix_cap;
  store.prefix_bits_v4 = o.prefix_bits_v4;
  store.prefix_bits_v6 = o.prefix_bits_v6;
  store.completed_window_s = o.completed_window_s;
  if (absl::Status status = swarm::ValidateStoreConfig(store); !status.ok()) return status;
  if (o.max_peers_per_slot < 1 || o.max_peers_per_slot > swarm::kMaxPeersLimit) {
    return absl::InvalidArgumentError("max_peers_per_slot: 1..2^32");
  }
  if (o.max_torrents_per_slot < 1 || o.max_torrents_per_slot > swarm::kMaxTorrentsLimit) {
    return absl::InvalidArgumentError("max_torrents_per_slot: 1..2^32");
  }
  if (o.trim_per_call < 1 || o.trim_per_call > kMaxTrimPerCall) {
    return absl::InvalidArgumentError("trim_per_call: 1..100000");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RedisSwarm>> RedisSwarm::Create(
    ClusterClient& client, const RedisSwarmOptions& options, uint64_t rng_seed) {
  if (absl::Status status = ValidateRedisSwarmOptions(options); !status.ok()) return status;
  return std::unique_ptr<RedisSwarm>(new RedisSwarm(client, options, rng_seed));
}

RedisSwarm::RedisSwarm(ClusterClient& client, const RedisSwarmOptions& options,
                       uint64_t rng_seed)
    : client_(client),
      options_(options),
      rng_(rng_seed),
      announce_sha_(ScriptSha1(kAnnounceScript)),
      scrape_sha_(ScriptSha1(kScrapeScript)) {}

void RedisSwarm::RunScript(uint16_t slot, std::string_view script, const std::string& sha,
                           std::vector<std::string> keys_and_args, size_t key_count,
                           ClusterClient::Callback done) {
  auto command = [key_count](std::string_view verb, std::string_view body,
                             const std::vector<std::string>& rest) {
    const std::string key_count_text = std::to_string(key_count);
    std::vector<std::string_view> args = {verb, body, key_count_text};
    args.insert(args.end(), rest.begin(), rest.end());
    return FormatCommand(args);
  };
  std::string evalsha = command("EVALSHA", sha, keys_and_args);
  // The script's text is sent only when a node answers NOSCRIPT: the EVAL is built then.
  client_.Command(
      slot, std::move(evalsha),
      [&client = client_, slot, script, command, rest = std::move(keys_and_args),
       done = std::move(done)](absl::StatusOr<const redisReply*> reply) mutable {
        if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR &&
            Text(**reply).starts_with("NOSCRIPT")) {
          // This node has not seen the script: EVAL runs it and keeps it for EVALSHA.
          client.Command(slot, command("EVAL", script, rest), std::move(done));
          return;
        }
        done(std::move(reply));
      });
}

void RedisSwarm::Announce(const swarm::AnnounceRequest& request, AnnounceCallback done) {
  const std::string base = TorrentKeyBase(options_.key_prefix, request.info_hash);
  const uint16_t slot = KeySlot(base);
  const auto hex = request.info_hash.ToHex();
  const std::string slot_base = StrCat(options_.key_prefix, ":{", SlotTag(slot), "}:");
  std::vector<std::string> keys_and_args;
  keys_and_args.reserve(kAnnounceKeys + 18);
  for (std::string_view suffix : kTorrentSuffixes) keys_and_args.push_back(StrCat(base, suffix));
  keys_and_args.push_back(slot_base + "t");
  keys_and_args.push_back(slot_base + "n");
  const AddressFamily family = request.endpoint.family();
  const bool seeder = request.left == 0;
  const char* event = "none";
  if (request.event == swarm::AnnounceEvent::kStarted) event = "started";
  if (request.event == swarm::AnnounceEvent::kStopped) event = "stopped";
  if (request.event == swarm::AnnounceEvent::kCompleted) event = "completed";
  const uint32_t wanted = std::min(request.peers_wanted, options_.max_response_peers);
  for (std::string value : {
           std::string(hex.data(), hex.size()),
           std::string(family == AddressFamily::kV4 ? "4" : "6"),
           CompactEndpoint(request.endpoint),
           std::string(reinterpret_cast<const char*>(request.peer_id.data()), kPeerIdSize),
           request.key.has_value() ? std::to_string(*request.key) : std::string(),
           std::string(seeder ? "1" : "0"),
           std::string(event),
           std::to_string(wanted),
           std::to_string(uint64_t{options_.peer_inactivity_timeout_s} * 1000),
           std::to_string(options_.prefix_cap),
           std::to_string(options_.prefix_bits_v4),
           std::to_string(options_.prefix_bits_v6),
           std::to_string(uint64_t{options_.completed_window_s} * 1000),
           std::to_string(options_.max_peers_per_slot),
           std::to_string(options_.max_torrents_per_slot),
           std::to_string(rng_() >> 33),  // Lua's randomseed takes an int
           base,
           std::to_string(options_.trim_per_call),
       }) {
    keys_and_args.push_back(std::move(value));
  }
  RunScript(
      slot, kAnnounceScript, announce_sha_, std::move(keys_and_args), kAnnounceKeys,
      [family, done = std::move(done)](absl::StatusOr<const redisReply*> reply) mutable {
        if (!reply.ok()) {
          done(reply.status());
          return;
        }
        const redisReply& r = **reply;
        if (r.type == REDIS_REPLY_ERROR) {
          // A node at maxmemory refuses the script's writes: the store is full.
          if (Text(r).find("OOM") != std::string_view::npos) {
            RedisAnnounce full;
            full.status = swarm::AnnounceStatus::kFull;
            full.family = family;
            done(full);
          } else {
            done(BadReply(Text(r)));
          }
          return;
        }
        if (r.type != REDIS_REPLY_ARRAY || r.elements != 7 ||
            r.element[0]->type != REDIS_REPLY_STRING ||
            r.element[5]->type != REDIS_REPLY_STRING ||
            r.element[6]->type != REDIS_REPLY_STRING) {
          done(BadReply("not the announce script's array"));
          return;
        }
        for (size_t i = 1; i <= 4; ++i) {
          if (r.element[i]->type != REDIS_REPLY_INTEGER) {
            done(BadReply("a count is not an integer"));
            return;
          }
        }
        RedisAnnounce out;
        out.family = family;
        out.status = Text(*r.element[0]) == "full" ? swarm::AnnounceStatus::kFull
                                                   : swarm::AnnounceStatus::kOk;
        out.counts = {Saturate(r.element[1]->integer), Saturate(r.element[2]->integer),
                      Saturate(r.element[3]->integer)};
        const long long flags = r.element[4]->integer;
        out.prefix_evicted = (flags & 1) != 0;
        out.stop_key_mismatch = (flags & 2) != 0;
        out.completed_not_counted = (flags & 4) != 0;
        out.peers = Text(*r.element[5]);
        out.peer_ids = Text(*r.element[6]);
        const size_t entry = swarm::TorrentStore::CompactEntrySize(family);
        if (out.peers.size() % entry != 0 ||
            out.peer_ids.size() != out.peers.size() / entry * kPeerIdSize) {
          done(BadReply("peers and peer ids of different lengths"));
          return;
        }
        out.peer_count = static_cast<uint32_t>(out.peers.size() / entry);
        if (out.status == swarm::AnnounceStatus::kFull) out.peer_count = 0;
        done(out);
      });
}

void RedisSwarm::Scrape(std::span<const InfoHash> hashes, ScrapeCallback done) {
  struct Gather {
    std::vector<swarm::SwarmCounts> counts;
    size_t outstanding = 0;
    absl::Status error;
    ScrapeCallback done;
  };
  auto gather = std::make_shared<Gather>();
  gather->counts.resize(hashes.size());
  gather->outstanding = hashes.size();
  gather->done = std::move(done);
  if (hashes.empty()) {
    gather->done(std::move(gather->counts));
    return;
  }
  for (size_t i = 0; i < hashes.size(); ++i) {
    const std::string base = TorrentKeyBase(options_.key_prefix, hashes[i]);
    std::vector<std::string> keys;
    for (std::string_view suffix : {"s4", "l4", "s6", "l6", "c"}) {
      keys.push_back(StrCat(base, suffix));
    }
    RunScript(KeySlot(base), kScrapeScript, scrape_sha_, std::move(keys), kScrapeKeys,
              [gather, i](absl::StatusOr<const redisReply*> reply) {
                if (!reply.ok()) {
                  if (gather->error.ok()) gather->error = reply.status();
                } else {
                  const redisReply& r = **reply;
                  if (r.type != REDIS_REPLY_ARRAY || r.elements != 3 ||
                      r.element[0]->type != REDIS_REPLY_INTEGER ||
                      r.element[1]->type != REDIS_REPLY_INTEGER ||
                      r.element[2]->type != REDIS_REPLY_INTEGER) {
                    if (gather->error.ok()) {
                      gather->error = BadReply(r.type == REDIS_REPLY_ERROR
                                                   ? Text(r)
                                                   : "not the scrape script's array");
                    }
                  } else {
                    gather->counts[i] = {Saturate(r.element[0]->integer),
                                         Saturate(r.element[1]->integer),
                                         Saturate(r.element[2]->integer)};
                  }
                }
                if (--gather->outstanding == 0) {
                  if (gather->error.ok()) {
                    gather->done(std::move(gather->counts));
                  } else {
                    gather->done(gather->error);
                  }
                }
              });
  }
}

}  // namespace reef::redis
