#include "server/snapshot/store_snapshot.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "server/snapshot/test_dir.h"

namespace reef::snapshot {
namespace {

using swarm::AnnounceEvent;
using swarm::TorrentStore;

constexpr uint32_t kTimeout = 1200;

Options At(const std::string& path) {
  Options options;
  options.path = path;
  options.peer_timeout_s = kTimeout;
  return options;
}

TorrentStore NewStore(size_t shards) {
  return *TorrentStore::Create({.shards = shards, .peer_inactivity_timeout_s = kTimeout});
}

InfoHash Hash(uint8_t n) {
  InfoHash hash;
  hash.mutable_bytes()[0] = n;
  hash.mutable_bytes()[19] = static_cast<uint8_t>(n * 7);
  return hash;
}

Endpoint V4(uint8_t host, uint16_t port) { return Endpoint::V4({10, 0, 0, host}, port); }
Endpoint V6(uint8_t host, uint16_t port) {
  return Endpoint::V6({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, host}, port);
}

std::string Describe(const Endpoint& endpoint) {
  std::string out;
  for (uint8_t byte : endpoint.address.view()) out += std::to_string(byte) + ".";
  return out + std::to_string(endpoint.port);
}

void Announce(TorrentStore& store, const InfoHash& hash, const Endpoint& endpoint,
              uint64_t left, AnnounceEvent event, int64_t now) {
  swarm::Rng rng(1);
  std::array<Endpoint, 50> out;
  swarm::AnnounceRequest request;
  request.info_hash = hash;
  const std::string id = "-qB4500-" + std::string(12, static_cast<char>('a' + endpoint.port % 26));
  request.peer_id = *PeerId::FromString(id);
  request.endpoint = endpoint;
  request.left = left;
  request.event = event;
  request.peers_wanted = 50;
  store.Announce(request, now, out, rng);
}

// Every peer of the store as "hash endpoint seeder completed idle", sorted.
std::vector<std::string> Peers(const TorrentStore& store, int64_t now) {
  std::vector<std::string> out;
  InfoHash current;
  for (size_t shard = 0; shard < store.shard_count(); ++shard) {
    store.VisitShard(
        shard, now, [&](const swarm::StoredTorrent& t) { current = t.info_hash; },
        [&](const swarm::StoredPeer& p) {
          const auto hex = current.ToHex();
          out.push_back(std::string(hex.begin(), hex.end()) + " " + Describe(p.endpoint) + " " +
                        (p.seeder ? "seeder" : "leecher") + (p.completed ? " completed " : " ") +
                        std::to_string(p.idle_s));
        });
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_CASE("a store written and loaded into a new one has the same torrents, peers and counts") {
  FakeClock clock(/*wall_seconds=*/1800000000, /*monotonic_seconds=*/5000);
  TorrentStore before = NewStore(8);
  const int64_t t0 = clock.MonotonicSeconds();
  // Torrent 1: both families, a seeder that completed, two leechers, a stopped peer.
  Announce(before, Hash(1), V4(1, 6881), 0, AnnounceEvent::kCompleted, t0 - 100);
  Announce(before, Hash(1), V4(2, 6882), 500, AnnounceEvent::kStarted, t0 - 10);
  Announce(before, Hash(1), V6(3, 6883), 500, AnnounceEvent::kStarted, t0);
  Announce(before, Hash(1), V6(4, 6884), 0, AnnounceEvent::kCompleted, t0);
  Announce(before, Hash(1), V6(4, 6884), 0, AnnounceEvent::kStopped, t0);  // completed count stays
  // Torrent 2: IPv6 only. Torrents 3..40: one peer each, across the shards.
  Announce(before, Hash(2), V6(5, 1), 1, AnnounceEvent::kNone, t0 - 1000);
  for (uint8_t n = 3; n <= 40; ++n) {
    Announce(before, Hash(n), V4(n, static_cast<uint16_t>(n)), n % 2, AnnounceEvent::kNone, t0);
  }
  const swarm::StoreStats stats = before.Stats();
  CHECK(stats.torrents == 40);
  const std::string dir = testing::TempDir("store_snapshot_round_trip");
  absl::StatusOr<SnapshotDirectory> directory = SnapshotDirectory::Open(dir + "/reef.snapshot");
  REQUIRE(directory.ok());
  absl::StatusOr<WriteResult> written = WriteFromStore(*directory, before, clock);
  REQUIRE(written.ok());
  CHECK(written->torrents == 40);
  CHECK(written->peers == 42);

  // reef is down for 150 s; the new process's monotonic clock starts elsewhere.
  clock.SetWall(clock.WallSeconds() + 150);
  clock.SetMonotonic(42);
  TorrentStore after = NewStore(3);  // another shard count: records go where they hash
  const LoadResult loaded = LoadIntoStore(At(dir + "/reef.snapshot"), clock, after);
  CHECK(loaded.outcome == LoadResult::Outcome::kLoaded);
  CHECK(loaded.peers == 42);
  CHECK(loaded.expired == 0);
  CHECK(loaded.downtime_s == 150);
  // The same totals; the (torrent, prefix) records that stop a second `completed`
  // within the window are not in a snapshot: the peers' own completed flags are.
  swarm::StoreStats without_records = stats;
  without_records.completion_records = 0;
  CHECK(after.Stats() == without_records);
  for (uint8_t n = 1; n <= 40; ++n) CHECK(after.Scrape(Hash(n)) == before.Scrape(Hash(n)));
  CHECK(after.Scrape(Hash(1)).completed == 2);
  // The same peers, each idle 150 s longer.
  std::vector<std::string> expected = Peers(before, t0 + 150);
  CHECK(Peers(after, clock.MonotonicSeconds()) == expected);

  // The restored seeder's completed was counted before the restart: a repeat is not.
  Announce(after, Hash(1), V4(1, 6881), 0, AnnounceEvent::kCompleted, 42);
  CHECK(after.Scrape(Hash(1)).completed == 2);
  // A peer's idle time carries on: the one idle 1000 s + 150 s goes 51 s later.
  CHECK(after.CleanShard(after.ShardOf(Hash(2)), 42 + 50).peers_removed == 0);
  CHECK(after.CleanShard(after.ShardOf(Hash(2)), 42 + 51).peers_removed == 1);
}

TEST_CASE("peers whose idle time passes the timeout while reef is down are left out") {
  FakeClock clock(1800000000, 100000);
  TorrentStore before = NewStore(4);
  const int64_t now = clock.MonotonicSeconds();
  Announce(before, Hash(1), V4(1, 1), 1, AnnounceEvent::kNone, now - 1000);  // 1000 s idle
  Announce(before, Hash(1), V4(2, 2), 1, AnnounceEvent::kNone, now - 1100);  // 1100 s idle
  const std::string path = testing::TempDir("store_snapshot_expiry") + "/reef.snapshot";
  REQUIRE(WriteFromStore(*SnapshotDirectory::Open(path), before, clock).ok());
  clock.SetWall(clock.WallSeconds() + kTimeout - 1100);  // the second is exactly at the limit
  TorrentStore after = NewStore(4);
  LoadResult loaded = LoadIntoStore(At(path), clock, after);
  CHECK(loaded.peers == 2);
  clock.SetWall(clock.WallSeconds() + 1);
  TorrentStore later = NewStore(4);
  loaded = LoadIntoStore(At(path), clock, later);
  CHECK(loaded.peers == 1);
  CHECK(loaded.expired == 1);
  CHECK(later.Stats().peers_v4 == 1);
}

TEST_CASE("an empty store writes a snapshot that loads as empty") {
  FakeClock clock;
  TorrentStore store = NewStore(2);
  const std::string path = testing::TempDir("store_snapshot_empty") + "/reef.snapshot";
  absl::StatusOr<WriteResult> written = WriteFromStore(*SnapshotDirectory::Open(path), store, clock);
  REQUIRE(written.ok());
  CHECK(written->bytes == kHeaderSize + kTrailerSize);
  TorrentStore after = NewStore(2);
  CHECK(LoadIntoStore(At(path), clock, after).outcome == LoadResult::Outcome::kLoaded);
  CHECK(after.Stats() == swarm::StoreStats{});
}

}  // namespace
}  // namespace reef::snapshot
