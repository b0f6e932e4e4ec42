#include "server/ws/webtorrent_swarm.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/common/mutex.h"

namespace reef::ws {
namespace {

// Past this many peers a torrent keeps a hash index from peer id to position; up to it,
// a linear scan of the peer ids (20 bytes each, one cache line every three) is as fast
// and costs no memory.
constexpr size_t kLinearScanPeers = 16;

// The low 32 bits of the caller's clock: differences are taken modulo 2^32, which is
// right for any two times less than 68 years apart.
uint32_t Clock32(int64_t now) { return static_cast<uint32_t>(static_cast<uint64_t>(now)); }

size_t ShardIndex(size_t hash, size_t shards) {
  return static_cast<size_t>(((static_cast<uint64_t>(hash) >> 32) * shards) >> 32);
}

struct Peer {
  PeerId peer_id;
  ConnectionHandle connection;
  uint32_t last_seen = 0;
  bool completed_counted = false;
};

// One torrent's peers in one dense array, leechers first: [0, leechers) are leechers,
// [leechers, size) seeders. Random picks index the array; the position of a peer id is
// found by a scan or, in large swarms, an index.
class Torrent {
 public:
  uint32_t size() const { return static_cast<uint32_t>(peers_.size()); }
  uint32_t leechers() const { return leechers_; }
  uint32_t seeders() const { return size() - leechers_; }
  uint32_t completed() const { return completed_; }
  bool empty() const { return peers_.empty(); }
  SwarmCounts counts() const { return {seeders(), leechers(), completed_}; }

  // The position of `peer_id`, or size() if absent.
  uint32_t Find(const PeerId& peer_id) const {
    if (index_ != nullptr) {
      const auto it = index_->find(peer_id);
      return it == index_->end() ? size() : it->second;
    }
    for (uint32_t i = 0; i < size(); ++i) {
      if (peers_[i].peer_id == peer_id) return i;
    }
    return size();
  }

  const Peer& at(uint32_t i) const { return peers_[i]; }
  Peer& at(uint32_t i) { return peers_[i]; }
  bool IsSeeder(uint32_t i) const { return i >= leechers_; }

  // Appends a peer; returns its position.
  uint32_t Add(const Peer& peer, bool seeder) {
    peers_.push_back(peer);
    uint32_t at = size() - 1;
    if (index_ != nullptr) index_->emplace(peer.peer_id, at);
    if (!seeder) {
      Swap(at, leechers_);
      at = leechers_++;
    }
    if (index_ == nullptr && peers_.size() > kLinearScanPeers) BuildIndex();
    return at;
  }

  // Makes the peer at `i` a seeder or a leecher; returns its new position.
  uint32_t SetSeeder(uint32_t i, bool seeder) {
    if (seeder == IsSeeder(i)) return i;
    if (seeder) {
      Swap(i, leechers_ - 1);
      return --leechers_;
    }
    Swap(i, leechers_);
    return leechers_++;
  }

  void CountCompleted(uint32_t i) {
    if (peers_[i].completed_counted) return;
    peers_[i].completed_counted = true;
    if (completed_ < std::numeric_limits<uint32_t>::max()) ++completed_;
  }

  void RemoveAt(uint32_t i) {
    if (!IsSeeder(i)) {
      Swap(i, leechers_ - 1);
      i = --leechers_;
    }
    Swap(i, size() - 1);
    if (index_ != nullptr) index_->erase(peers_.back().peer_id);
    peers_.pop_back();
    if (index_ != nullptr && peers_.size() <= kLinearScanPeers / 2) index_.reset();
  }

  // Removes peers silent for more than `timeout_s`; returns how many.
  uint64_t RemoveIdle(uint32_t now, uint32_t timeout_s) {
    uint64_t removed = 0;
    for (uint32_t i = size(); i-- > 0;) {
      if (now - peers_[i].last_seen > timeout_s) {
        RemoveAt(i);
        ++removed;
      }
    }
    if (peers_.capacity() > 2 * peers_.size()) peers_.shrink_to_fit();
    return removed;
  }

  // Writes up to `wanted` distinct positions other than `self`, chosen at random, into
  // `out`: leechers first when `leechers_first`. Returns how many.
  uint32_t PickOthers(uint32_t self, bool leechers_first, uint32_t wanted,
                      std::span<uint32_t> out, swarm::Rng& rng) const {
    wanted = std::min<uint32_t>(wanted, static_cast<uint32_t>(out.size()));
    if (!leechers_first) return PickRange(0, size(), self, wanted, out, rng);
    uint32_t n = PickRange(0, leechers_, self, wanted, out, rng);
    n += PickRange(leechers_, size(), self, wanted - n, out.subspan(n), rng);
    return n;
  }

  size_t heap_bytes() const {
    return peers_.capacity() * sizeof(Peer) +
           (index_ != nullptr ? index_->capacity() * (sizeof(PeerId) + sizeof(uint32_t) + 1)
                              : 0);
  }

 private:
  void Swap(uint32_t a, uint32_t b) {
    if (a == b) return;
    std::swap(peers_[a], peers_[b]);
    if (index_ != nullptr) {
      (*index_)[peers_[a].peer_id] = a;
      (*index_)[peers_[b].peer_id] = b;
    }
  }

  void BuildIndex() {
    index_ = std::make_unique<absl::flat_hash_map<PeerId, uint32_t>>();
    index_->reserve(peers_.size());
    for (uint32_t i = 0; i < size(); ++i) index_->emplace(peers_[i].peer_id, i);
  }

  // Up to `wanted` distinct positions from [begin, end) without `self`, every subset of
  // that size equally likely (Floyd's algorithm over the m candidates; wanted is small,
  // so the membership test is a scan of what is picked so far).
  static uint32_t PickRange(uint32_t begin, uint32_t end, uint32_t self, uint32_t wanted,
                            std::span<uint32_t> out, swarm::Rng& rng) {
    const bool self_inside = self >= begin && self < end;
    const uint32_t m = end - begin - (self_inside ? 1 : 0);
    const uint32_t k = std::min(wanted, m);
    const auto position = [&](uint32_t j) {
      const uint32_t p = begin + j;
      return self_inside && p >= self ? p + 1 : p;
    };
    if (k == m) {
      for (uint32_t j = 0; j < m; ++j) out[j] = position(j);
      return k;
    }
    uint32_t n = 0;
    for (uint32_t j = m - k; j < m; ++j) {
      const uint32_t t = position(rng.Below(j + 1));
      const bool taken = std::find(out.begin(), out.begin() + n, t) != out.begin() + n;
      out[n++] = taken ? position(j) : t;
    }
    return k;
  }

  std::vector<Peer> peers_;
  uint32_t leechers_ = 0;
  uint32_t completed_ = 0;
  std::unique_ptr<absl::flat_hash_map<PeerId, uint32_t>> index_;
};

}  // namespace

struct alignas(64) WebTorrentSwarm::Shard {
  mutable Mutex mu;
  absl::flat_hash_map<InfoHash, Torrent> torrents ABSL_GUARDED_BY(mu);
  uint64_t peers ABSL_GUARDED_BY(mu) = 0;
  uint64_t seeders ABSL_GUARDED_BY(mu) = 0;
  uint64_t refused_full ABSL_GUARDED_BY(mu) = 0;
};

absl::Status ValidateWebTorrentSwarmConfig(const WebTorrentSwarmConfig& config) {
  if (config.shards < 1 || config.shards > swarm::kMaxShards) {
    return absl::InvalidArgumentError(absl::StrCat("shards must be 1..", swarm::kMaxShards));
  }
  if (config.max_peers < 1) return absl::InvalidArgumentError("max_peers must be at least 1");
  if (config.max_torrents < 1) {
    return absl::InvalidArgumentError("max_torrents must be at least 1");
  }
  if (config.peer_inactivity_timeout_s < 1 ||
      config.peer_inactivity_timeout_s > swarm::kMaxPeerInactivityTimeoutS) {
    return absl::InvalidArgumentError(absl::StrCat("peer_inactivity_timeout must be 1..",
                                                   swarm::kMaxPeerInactivityTimeoutS, " s"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WebTorrentSwarm>> WebTorrentSwarm::Create(
    const WebTorrentSwarmConfig& config) {
  if (absl::Status status = ValidateWebTorrentSwarmConfig(config); !status.ok()) return status;
  return std::unique_ptr<WebTorrentSwarm>(new WebTorrentSwarm(config));
}

WebTorrentSwarm::WebTorrentSwarm(const WebTorrentSwarmConfig& config)
    : config_(config),
      shard_count_(config.shards),
      max_peers_per_shard_((config.max_peers + config.shards - 1) / config.shards),
      max_torrents_per_shard_((config.max_torrents + config.shards - 1) / config.shards),
      shards_(std::make_unique<Shard[]>(config.shards)) {}

WebTorrentSwarm::~WebTorrentSwarm() = default;

size_t WebTorrentSwarm::ShardOf(const InfoHash& info_hash) const {
  return ShardIndex(absl::Hash<InfoHash>{}(info_hash), shard_count_);
}

AnnounceOutcome WebTorrentSwarm::Announce(const PeerAnnounce& a, int64_t now,
                                          std::span<ConnectionHandle> receivers,
                                          swarm::Rng& rng) {
  AnnounceOutcome outcome;
  Shard& shard = shards_[ShardOf(a.info_hash)];
  MutexLock lock(&shard.mu);
  auto it = shard.torrents.find(a.info_hash);
  uint32_t position = it == shard.torrents.end() ? 0 : it->second.Find(a.peer_id);
  const bool exists = it != shard.torrents.end() && position < it->second.size();
  if (exists && !(it->second.at(position).connection == a.connection)) {
    outcome.status = AnnounceStatus::kNotOwner;
    outcome.counts = it->second.counts();
    return outcome;
  }

  if (a.event == PeerEvent::kStopped) {
    if (!exists) {
      if (it != shard.torrents.end()) outcome.counts = it->second.counts();
      return outcome;
    }
    Torrent& torrent = it->second;
    shard.seeders -= torrent.IsSeeder(position) ? 1u : 0u;
    --shard.peers;
    torrent.RemoveAt(position);
    outcome.removed = true;
    outcome.counts = torrent.counts();
    if (torrent.empty()) shard.torrents.erase(it);
    return outcome;
  }

  if (!exists) {
    const bool new_torrent = it == shard.torrents.end();
    if (shard.peers >= max_peers_per_shard_ ||
        (new_torrent && shard.torrents.size() >= max_torrents_per_shard_)) {
      ++shard.refused_full;
      outcome.status = AnnounceStatus::kFull;
      if (!new_torrent) outcome.counts = it->second.counts();
      return outcome;
    }
    if (new_torrent) it = shard.torrents.try_emplace(a.info_hash).first;
    Peer peer;
    peer.peer_id = a.peer_id;
    peer.connection = a.connection;
    position = it->second.Add(peer, a.seeder);
    ++shard.peers;
    shard.seeders += a.seeder ? 1u : 0u;
    outcome.added = true;
  }
  Torrent& torrent = it->second;
  if (torrent.IsSeeder(position) != a.seeder) {
    shard.seeders = a.seeder ? shard.seeders + 1 : shard.seeders - 1;
    position = torrent.SetSeeder(position, a.seeder);
  }
  torrent.at(position).last_seen = Clock32(now);
  if (a.event == PeerEvent::kCompleted) torrent.CountCompleted(position);
  outcome.counts = torrent.counts();

  std::array<uint32_t, 64> picked;
  const uint32_t wanted = static_cast<uint32_t>(
      std::min<size_t>({a.receivers_wanted, receivers.size(), picked.size()}));
  const uint32_t n = torrent.PickOthers(position, /*leechers_first=*/a.seeder, wanted,
                                        picked, rng);
  for (uint32_t i = 0; i < n; ++i) receivers[i] = torrent.at(picked[i]).connection;
  outcome.receivers = n;
  return outcome;
}

AnswerRoute WebTorrentSwarm::RouteAnswer(const InfoHash& info_hash, const PeerId& from_peer_id,
                                         const ConnectionHandle& from, const PeerId& to_peer_id,
                                         int64_t now) {
  AnswerRoute route;
  Shard& shard = shards_[ShardOf(info_hash)];
  MutexLock lock(&shard.mu);
  const auto it = shard.torrents.find(info_hash);
  if (it == shard.torrents.end()) {
    route.status = AnswerStatus::kNotInSwarm;
    return route;
  }
  Torrent& torrent = it->second;
  const uint32_t me = torrent.Find(from_peer_id);
  if (me == torrent.size() || !(torrent.at(me).connection == from)) {
    route.status = AnswerStatus::kNotInSwarm;
    return route;
  }
  torrent.at(me).last_seen = Clock32(now);
  const uint32_t to = torrent.Find(to_peer_id);
  if (to == torrent.size()) {
    route.status = AnswerStatus::kNoSuchPeer;
    return route;
  }
  route.status = AnswerStatus::kForward;
  route.to = torrent.at(to).connection;
  return route;
}

bool WebTorrentSwarm::Remove(const InfoHash& info_hash, const PeerId& peer_id,
                             const ConnectionHandle& connection) {
  Shard& shard = shards_[ShardOf(info_hash)];
  MutexLock lock(&shard.mu);
  const auto it = shard.torrents.find(info_hash);
  if (it == shard.torrents.end()) return false;
  Torrent& torrent = it->second;
  const uint32_t position = torrent.Find(peer_id);
  if (position == torrent.size() || !(torrent.at(position).connection == connection)) {
    return false;
  }
  shard.seeders -= torrent.IsSeeder(position) ? 1u : 0u;
  --shard.peers;
  torrent.RemoveAt(position);
  if (torrent.empty()) shard.torrents.erase(it);
  return true;
}

SwarmCounts WebTorrentSwarm::Scrape(const InfoHash& info_hash) const {
  const Shard& shard = shards_[ShardOf(info_hash)];
  MutexLock lock(&shard.mu);
  const auto it = shard.torrents.find(info_hash);
  return it == shard.torrents.end() ? SwarmCounts{} : it->second.counts();
}

WebTorrentCleanStats WebTorrentSwarm::CleanShard(size_t shard_index, int64_t now) {
  WebTorrentCleanStats stats;
  if (shard_index >= shard_count_) return stats;
  Shard& shard = shards_[shard_index];
  MutexLock lock(&shard.mu);
  const uint32_t now32 = Clock32(now);
  for (auto it = shard.torrents.begin(); it != shard.torrents.end();) {
    Torrent& torrent = it->second;
    const uint32_t seeders = torrent.seeders();
    const uint64_t removed = torrent.RemoveIdle(now32, config_.peer_inactivity_timeout_s);
    stats.peers_removed += removed;
    shard.peers -= removed;
    shard.seeders = shard.seeders - seeders + torrent.seeders();
    if (torrent.empty()) {
      ++stats.torrents_removed;
      shard.torrents.erase(it++);
    } else {
      ++it;
    }
  }
  return stats;
}

WebTorrentStoreStats WebTorrentSwarm::Stats() const {
  WebTorrentStoreStats stats;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& shard = shards_[i];
    MutexLock lock(&shard.mu);
    stats.torrents += shard.torrents.size();
    stats.seeders += shard.seeders;
    stats.leechers += shard.peers - shard.seeders;
    stats.refused_full += shard.refused_full;
  }
  return stats;
}

}  // namespace reef::ws
