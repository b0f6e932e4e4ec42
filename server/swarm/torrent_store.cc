#include "server/swarm/torrent_store.h"

#include <time.h>

#include <algorithm>
#include <limits>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace reef::swarm {
namespace {

using internal::SwarmMap;
using internal::SwarmV4;
using internal::SwarmV6;

// How many entries of an output of `entries` the store may fill, as the uint32_t Select
// counts in.
uint32_t Room(size_t entries) {
  return static_cast<uint32_t>(
      std::min<size_t>(entries, std::numeric_limits<uint32_t>::max()));
}

// Work done under a shard's lock before cleaning releases it and takes it again, so
// announces to that shard wait at most about one slice: peers looked at, plus one per
// torrent. (Measured in swarm_benchmark, BM_WorstPause*; docs/benchmarks.md.)
constexpr uint32_t kCleanSliceWork = 2048;

// Measures the CPU time of each slice, when asked (the benchmark's figures).
class SliceTimer {
 public:
  explicit SliceTimer(double* longest_s) : longest_s_(longest_s) {}
  void Start() {
    if (longest_s_ != nullptr) start_ = Now();
  }
  void Stop() {
    if (longest_s_ != nullptr) *longest_s_ = std::max(*longest_s_, Now() - start_);
  }

 private:
  static double Now() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  double* longest_s_;
  double start_ = 0;
};

// Removes the idle peers of every swarm of one family of the shard, then the swarms left
// empty, in slices of kCleanSliceWork. `Mine` and `Other` pick the family's map and the
// other one's from the shard. The torrents to visit are copied first, so that the lock
// can be released between slices; a torrent added meanwhile waits for the next cleaning,
// and one removed meanwhile is skipped.
template <typename Swarm, typename OtherSwarm, typename Mine, typename Other>
void CleanFamily(internal::Shard& shard, Mine mine_of, Other other_of,
                 const internal::PrefixRule& rule, uint32_t now, uint32_t timeout_s,
                 CleanStats& stats, SliceTimer& timer) {
  std::vector<InfoHash> torrents;
  {
    MutexLock lock(&shard.mu);
    const SwarmMap<Swarm>& mine = mine_of(shard);
    torrents.reserve(mine.size());
    for (const auto& [info_hash, swarm] : mine) torrents.push_back(info_hash);
  }
  constexpr uint32_t kWhole = std::numeric_limits<uint32_t>::max();
  size_t next = 0;
  uint32_t resume_below = kWhole;  // a swarm cut short by the last slice: its next part
  while (next < torrents.size()) {
    MutexLock lock(&shard.mu);
    timer.Start();
    SwarmMap<Swarm>& mine = mine_of(shard);
    const SwarmMap<OtherSwarm>& other = other_of(shard);
    uint32_t work = 0;
    while (next < torrents.size() && work < kCleanSliceWork) {
      const auto it = mine.find(torrents[next]);
      ++work;
      if (it == mine.end()) {
        ++next;
        resume_below = kWhole;
        continue;
      }
      Swarm& swarm = it->second;
      const uint32_t end = std::min(resume_below, swarm.size());
      const uint32_t budget = kCleanSliceWork - std::min(work, kCleanSliceWork);
      const uint32_t begin = end > budget ? end - budget : 0;
      const uint32_t seeders = swarm.seeders();
      const uint32_t leechers = swarm.leechers();
      stats.peers_removed += swarm.RemoveIdleIn(begin, end, now, timeout_s, rule);
      shard.counters.Adjust(seeders, leechers, swarm);
      work += end - begin;
      if (begin > 0) {
        resume_below = begin;
        break;
      }
      resume_below = kWhole;
      ++next;
      swarm.Compact();
      if (!swarm.empty()) continue;
      if (!other.contains(it->first)) {
        --shard.counters.torrents;
        ++stats.torrents_removed;
      }
      mine.erase(it);
    }
    timer.Stop();
  }
  MutexLock lock(&shard.mu);
  // absl tables never shrink by themselves; give back most of a table that emptied.
  SwarmMap<Swarm>& mine = mine_of(shard);
  if (mine.capacity() > 64 && mine.size() < mine.capacity() / 8) mine.rehash(0);
}

template <typename Swarm>
SwarmInfo InfoOf(const Swarm& swarm) {
  SwarmInfo info;
  info.seeders = swarm.seeders();
  info.leechers = swarm.leechers();
  info.completed = swarm.completed();
  info.is_inline = swarm.is_inline();
  info.heap_bytes = swarm.HeapBytes();
  return info;
}

}  // namespace

uint32_t CompactPeerWriter::Capacity(AddressFamily family) const {
  return Room((out_.size() - written_) / TorrentStore::CompactEntrySize(family));
}

absl::Status ValidateStoreConfig(const StoreConfig& config) {
  if (config.shards < 1 || config.shards > kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shards must be between 1 and ", kMaxShards, ", not ", config.shards));
  }
  if (config.max_response_peers < 1 || config.max_response_peers > kMaxResponsePeersLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_response_peers must be between 1 and ", kMaxResponsePeersLimit,
                     ", not ", config.max_response_peers));
  }
  if (config.peer_inactivity_timeout_s < 1 ||
      config.peer_inactivity_timeout_s > kMaxPeerInactivityTimeoutS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "peer_inactivity_timeout_s must be between 1 and ", kMaxPeerInactivityTimeoutS,
        " (30 days), not ", config.peer_inactivity_timeout_s));
  }
  if (config.max_peers < config.shards || config.max_peers > kMaxPeersLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_peers must be between shards (",
                                                   config.shards, ") and ", kMaxPeersLimit,
                                                   ", not ", config.max_peers));
  }
  if (config.max_torrents < config.shards || config.max_torrents > kMaxTorrentsLimit) {
    return absl::InvalidArgumentError(absl::StrCat("max_torrents must be between shards (",
                                                   config.shards, ") and ", kMaxTorrentsLimit,
                                                   ", not ", config.max_torrents));
  }
  if (config.prefix_bits_v4 < 1 || config.prefix_bits_v4 > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix_bits_v4 must be between 1 and 32, not ", config.prefix_bits_v4));
  }
  if (config.prefix_bits_v6 < 1 || config.prefix_bits_v6 > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("prefix_bits_v6 must be between 1 and 128, not ", config.prefix_bits_v6));
  }
  if (config.completed_window_s < 1 || config.completed_window_s > kMaxPeerInactivityTimeoutS) {
    return absl::InvalidArgumentError(absl::StrCat(
        "completed_window_s must be between 1 and ", kMaxPeerInactivityTimeoutS,
        " (30 days), not ", config.completed_window_s));
  }
  return absl::OkStatus();
}

absl::StatusOr<TorrentStore> TorrentStore::Create(const StoreConfig& config) {
  if (absl::Status status = ValidateStoreConfig(config); !status.ok()) return status;
  return TorrentStore(config);
}

TorrentStore::TorrentStore(const StoreConfig& config)
    : config_(config),
      shard_count_(config.shards),
      shards_(std::make_unique<internal::Shard[]>(config.shards)) {
  for (size_t i = 0; i < shard_count_; ++i) {
    internal::ShardRules& rules = shards_[i].rules;
    rules.peer_limit = ShardPeerLimit(i);
    rules.torrent_limit = ShardTorrentLimit(i);
    rules.completion_limit = rules.torrent_limit;
    rules.prefix_v4 = {config.prefix_bits_v4, config.prefix_cap};
    rules.prefix_v6 = {config.prefix_bits_v6, config.prefix_cap};
    rules.completed_window_s = config.completed_window_s;
  }
}

TorrentStore::TorrentStore(TorrentStore&&) noexcept = default;
TorrentStore& TorrentStore::operator=(TorrentStore&&) noexcept = default;
TorrentStore::~TorrentStore() = default;

size_t TorrentStore::ShardOf(const InfoHash& info_hash) const {
  return internal::ShardIndex(absl::Hash<InfoHash>{}(info_hash), shard_count_);
}

uint64_t TorrentStore::ShardPeerLimit(size_t shard) const {
  return config_.max_peers / shard_count_ + (shard < config_.max_peers % shard_count_ ? 1 : 0);
}

uint64_t TorrentStore::ShardTorrentLimit(size_t shard) const {
  return config_.max_torrents / shard_count_ +
         (shard < config_.max_torrents % shard_count_ ? 1 : 0);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<Endpoint> out, Rng& rng) {
  EndpointWriter writer(out);
  return Announce(request, now, rng, writer);
}

AnnounceResult TorrentStore::Announce(const AnnounceRequest& request, int64_t now,
                                      std::span<PeerRecord> out, Rng& rng) {
  RecordWriter writer(out);
  return Announce(request, now, rng, writer);
}

AnnounceResult TorrentStore::AnnounceCompact(const AnnounceRequest& request, int64_t now,
                                             std::span<uint8_t> out, Rng& rng) {
  CompactPeerWriter writer(out);
  return Announce(request, now, rng, writer);
}

SwarmCounts TorrentStore::Scrape(const InfoHash& info_hash) const {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  const internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  return internal::CountsOf(internal::FindSwarm(shard.v4, info_hash, hash),
                           internal::FindSwarm(shard.v6, info_hash, hash));
}

CleanStats TorrentStore::CleanShard(size_t shard_index, int64_t now,
                                    double* longest_slice_cpu_s) {
  CleanStats stats;
  if (shard_index >= shard_count_) return stats;
  internal::Shard& shard = shards_[shard_index];
  const uint32_t now32 = internal::Clock32(now);
  SliceTimer timer(longest_slice_cpu_s);
  // The lambdas name the shard's members under its lock, taken in CleanFamily.
  auto v4 = [](internal::Shard& s) ABSL_NO_THREAD_SAFETY_ANALYSIS -> SwarmMap<SwarmV4>& {
    return s.v4;
  };
  auto v6 = [](internal::Shard& s) ABSL_NO_THREAD_SAFETY_ANALYSIS -> SwarmMap<SwarmV6>& {
    return s.v6;
  };
  CleanFamily<SwarmV4, SwarmV6>(shard, v4, v6, shard.rules.prefix_v4, now32,
                                config_.peer_inactivity_timeout_s, stats, timer);
  CleanFamily<SwarmV6, SwarmV4>(shard, v6, v4, shard.rules.prefix_v6, now32,
                                config_.peer_inactivity_timeout_s, stats, timer);
  MutexLock lock(&shard.mu);
  timer.Start();
  const auto window = static_cast<int32_t>(config_.completed_window_s);
  stats.completions_forgotten += absl::erase_if(shard.completions, [&](const auto& record) {
    return static_cast<int32_t>(now32 - record.second) >= window;
  });
  if (shard.completions.capacity() > 64 &&
      shard.completions.size() < shard.completions.capacity() / 8) {
    shard.completions.rehash(0);
  }
  timer.Stop();
  return stats;
}

StoreStats TorrentStore::Stats() const {
  StoreStats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    const internal::Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    const internal::ShardCounters& c = shard.counters;
    stats.torrents += c.torrents;
    stats.seeders += c.seeders_v4 + c.seeders_v6;
    stats.leechers += c.leechers_v4 + c.leechers_v6;
    stats.peers_v4 += c.seeders_v4 + c.leechers_v4;
    stats.peers_v6 += c.seeders_v6 + c.leechers_v6;
    stats.completion_records += shard.completions.size();
  }
  return stats;
}

std::optional<SwarmInfo> TorrentStore::InspectSwarm(const InfoHash& info_hash,
                                                    AddressFamily family) const {
  const size_t hash = absl::Hash<InfoHash>{}(info_hash);
  const internal::Shard& shard = shards_[internal::ShardIndex(hash, shard_count_)];
  MutexLock lock(&shard.mu);
  if (family == AddressFamily::kV4) {
    if (const SwarmV4* swarm = internal::FindSwarm(shard.v4, info_hash, hash)) return InfoOf(*swarm);
  } else {
    if (const SwarmV6* swarm = internal::FindSwarm(shard.v6, info_hash, hash)) return InfoOf(*swarm);
  }
  return std::nullopt;
}

}  // namespace reef::swarm
