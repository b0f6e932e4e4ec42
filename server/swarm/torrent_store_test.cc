// Unit tests of TorrentStore: one TEST_CASE (or a few) per rule in torrent_store.h.
#include "server/swarm/torrent_store.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/hash/hash.h"
#include "testing/alloc_counter.h"

namespace reef::swarm {
namespace {

InfoHash Hash(uint32_t n) {
  std::array<uint8_t, 20> bytes{};
  for (size_t i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bytes[19] = 0x5a;
  return InfoHash(bytes);
}

PeerId Id(uint32_t n) {
  std::array<uint8_t, 20> bytes{};
  bytes.fill('-');
  for (size_t i = 0; i < 4; ++i) bytes[16 + i] = static_cast<uint8_t>(n >> (8 * i));
  return PeerId(bytes);
}

Endpoint V4(uint32_t host, uint16_t port = 6881) {
  return Endpoint::V4({10, static_cast<uint8_t>(host >> 16), static_cast<uint8_t>(host >> 8),
                           static_cast<uint8_t>(host)},
                          port);
}

Endpoint V6(uint32_t host, uint16_t port = 6881) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  // Each host in a /64 of its own (the prefix cap's default unit), at the end of it too.
  a[5] = static_cast<uint8_t>(host >> 16);
  a[6] = static_cast<uint8_t>(host >> 8);
  a[7] = static_cast<uint8_t>(host);
  a[13] = static_cast<uint8_t>(host >> 16);
  a[14] = static_cast<uint8_t>(host >> 8);
  a[15] = static_cast<uint8_t>(host);
  return Endpoint::V6(a, port);
}

AnnounceRequest Req(const InfoHash& info_hash, const Endpoint& endpoint, uint64_t left,
                    AnnounceEvent event = AnnounceEvent::kNone, uint32_t peer_id = 0,
                    uint32_t wanted = 1000) {
  AnnounceRequest r;
  r.info_hash = info_hash;
  r.peer_id = Id(peer_id);
  r.endpoint = endpoint;
  r.left = left;
  r.event = event;
  r.peers_wanted = wanted;
  return r;
}

StoreConfig Config(uint32_t max_peers = 50, uint32_t timeout = 100, size_t shards = 4) {
  StoreConfig c;
  c.shards = shards;
  c.max_response_peers = max_peers;
  c.peer_inactivity_timeout_s = timeout;
  c.completed_window_s = timeout;  // as the server's default: the peer timeout
  return c;
}

// A store, a clock and an Rng, with helpers that return what was written.
struct Fixture {
  explicit Fixture(const StoreConfig& config = Config()) : store(TorrentStore::Create(config).value()) {}

  AnnounceResult Announce(const AnnounceRequest& r, std::vector<Endpoint>* got = nullptr,
                          size_t room = 1024) {
    std::vector<Endpoint> out(room);
    AnnounceResult result = store.Announce(r, now, out, rng);
    out.resize(result.peers_written);
    if (got != nullptr) *got = out;
    return result;
  }

  std::vector<Endpoint> Peers(const AnnounceRequest& r) {
    std::vector<Endpoint> got;
    Announce(r, &got);
    return got;
  }

  // Cleans every shard at the current time.
  CleanStats CleanAll() {
    CleanStats total;
    for (size_t i = 0; i < store.shard_count(); ++i) {
      const CleanStats s = store.CleanShard(i, now);
      total.peers_removed += s.peers_removed;
      total.torrents_removed += s.torrents_removed;
      total.completions_forgotten += s.completions_forgotten;
    }
    return total;
  }

  TorrentStore store;
  int64_t now = 1000;
  Rng rng{1};
};

bool Contains(const std::vector<Endpoint>& v, const Endpoint& e) {
  return std::find(v.begin(), v.end(), e) != v.end();
}

// ---------------------------------------------------------------------------------------
// Config

TEST_CASE("ValidateStoreConfig accepts the bounds and refuses one past each") {
  CHECK(ValidateStoreConfig(StoreConfig{}).ok());
  StoreConfig c;
  c.shards = 1;
  CHECK(ValidateStoreConfig(c).ok());
  c.shards = kMaxShards;
  CHECK(ValidateStoreConfig(c).ok());
  c.shards = 0;
  CHECK(ValidateStoreConfig(c).message().find("shards") != std::string::npos);
  c.shards = kMaxShards + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));

  c = StoreConfig{};
  c.max_response_peers = 1;
  CHECK(ValidateStoreConfig(c).ok());
  c.max_response_peers = kMaxResponsePeersLimit;
  CHECK(ValidateStoreConfig(c).ok());
  c.max_response_peers = 0;
  CHECK(ValidateStoreConfig(c).message().find("max_response_peers") != std::string::npos);
  c.max_response_peers = kMaxResponsePeersLimit + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));

  c = StoreConfig{};
  c.peer_inactivity_timeout_s = 1;
  CHECK(ValidateStoreConfig(c).ok());
  c.peer_inactivity_timeout_s = kMaxPeerInactivityTimeoutS;
  CHECK(ValidateStoreConfig(c).ok());
  c.peer_inactivity_timeout_s = 0;
  CHECK(ValidateStoreConfig(c).message().find("peer_inactivity_timeout_s") !=
        std::string::npos);
  c.peer_inactivity_timeout_s = kMaxPeerInactivityTimeoutS + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));
}

TEST_CASE("a store of kMaxShards shards works and spreads torrents over them") {
  Fixture f(Config(50, 100, kMaxShards));
  CHECK(f.store.shard_count() == kMaxShards);
  std::set<size_t> used;
  for (uint32_t t = 0; t < 20000; ++t) {
    const size_t shard = f.store.ShardOf(Hash(t));
    CHECK(shard < kMaxShards);
    used.insert(shard);
  }
  // 20000 torrents over 4096 shards leave ~32 empty by chance; a broken spread far more.
  CHECK(used.size() > kMaxShards - 200);
}

// ---------------------------------------------------------------------------------------
// Counts

TEST_CASE("left == 0 is a seeder, anything else a leecher; counts include the requester") {
  Fixture f;
  const InfoHash t = Hash(1);
  AnnounceResult r = f.Announce(Req(t, V4(1), 100, AnnounceEvent::kStarted));
  CHECK(r.counts == SwarmCounts{0, 1, 0});
  r = f.Announce(Req(t, V4(2), 0, AnnounceEvent::kStarted));
  CHECK(r.counts == SwarmCounts{1, 1, 0});
  r = f.Announce(Req(t, V4(3), 1));
  CHECK(r.counts == SwarmCounts{1, 2, 0});
  CHECK(f.store.Scrape(t) == SwarmCounts{1, 2, 0});
  // A leecher that finishes without saying `completed` becomes a seeder anyway.
  r = f.Announce(Req(t, V4(1), 0));
  CHECK(r.counts == SwarmCounts{2, 1, 0});
  // And a seeder can go back to leeching (a recheck found bad data).
  r = f.Announce(Req(t, V4(2), 5));
  CHECK(r.counts == SwarmCounts{1, 2, 0});
  CHECK(f.store.Stats() == StoreStats{1, 1, 2, 3, 0});
}

TEST_CASE("Scrape of an unknown torrent is zeros and creates nothing") {
  Fixture f;
  CHECK(f.store.Scrape(Hash(9)) == SwarmCounts{});
  CHECK(f.store.Stats() == StoreStats{});
  CHECK_FALSE(f.store.InspectSwarm(Hash(9), AddressFamily::kV4).has_value());
}

TEST_CASE("stopped removes the peer, writes no peers, never creates a torrent") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 10));
  f.Announce(Req(t, V4(2), 0));
  std::vector<Endpoint> got;
  AnnounceResult r = f.Announce(Req(t, V4(1), 10, AnnounceEvent::kStopped), &got);
  CHECK(r.counts == SwarmCounts{1, 0, 0});
  CHECK(r.peers_written == 0);
  CHECK(got.empty());
  // Stopping again, or a peer that was never there, changes nothing.
  r = f.Announce(Req(t, V4(1), 10, AnnounceEvent::kStopped));
  CHECK(r.counts == SwarmCounts{1, 0, 0});
  r = f.Announce(Req(t, V4(7), 0, AnnounceEvent::kStopped));
  CHECK(r.counts == SwarmCounts{1, 0, 0});
  // A stopped announce for an unknown torrent does not create it.
  r = f.Announce(Req(Hash(2), V4(1), 0, AnnounceEvent::kStopped));
  CHECK(r.counts == SwarmCounts{});
  CHECK(f.store.Stats().torrents == 1);
  CHECK_FALSE(f.store.InspectSwarm(Hash(2), AddressFamily::kV4).has_value());
}

TEST_CASE("completed counts once per peer entry, and once per address prefix per window") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 10, AnnounceEvent::kStarted));
  AnnounceResult r = f.Announce(Req(t, V4(1), 0, AnnounceEvent::kCompleted));
  CHECK(r.counts == SwarmCounts{1, 0, 1});
  // The same peer repeating `completed` (a retry after a lost response) counts once.
  r = f.Announce(Req(t, V4(1), 0, AnnounceEvent::kCompleted));
  CHECK(r.counts.completed == 1);
  // Even under another peer id: the endpoint is the peer.
  r = f.Announce(Req(t, V4(1), 0, AnnounceEvent::kCompleted, /*peer_id=*/5));
  CHECK(r.counts.completed == 1);
  // Another peer counts.
  r = f.Announce(Req(t, V4(2), 0, AnnounceEvent::kCompleted));
  CHECK(r.counts == SwarmCounts{2, 0, 2});
  // A loop of stopped and completed from one address (any port) counts no more within
  // the window (issue 11: it used to count every time, a new entry each).
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kStopped));
  for (uint16_t port = 1; port <= 50; ++port) {
    r = f.Announce(Req(t, V4(1, port), 0, AnnounceEvent::kCompleted));
    CHECK(r.counts.completed == 2);
    CHECK(r.completed_not_counted);
    f.Announce(Req(t, V4(1, port), 0, AnnounceEvent::kStopped));
  }
  // After the window (the peer timeout, 100 s, here), a new entry from it counts again.
  f.now += 101;
  r = f.Announce(Req(t, V4(1), 0, AnnounceEvent::kCompleted));
  CHECK(r.counts.completed == 3);
  CHECK_FALSE(r.completed_not_counted);
  // The completed count outlives its peers until the torrent is cleaned away.
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kStopped));
  f.Announce(Req(t, V4(2), 0, AnnounceEvent::kStopped));
  CHECK(f.store.Scrape(t) == SwarmCounts{0, 0, 3});
  f.CleanAll();
  CHECK(f.store.Scrape(t) == SwarmCounts{});
}

TEST_CASE("completed with bytes left counts and leaves a leecher; paused is like none") {
  Fixture f;
  const InfoHash t = Hash(1);
  AnnounceResult r = f.Announce(Req(t, V4(1), 10, AnnounceEvent::kCompleted));
  CHECK(r.counts == SwarmCounts{0, 1, 1});
  r = f.Announce(Req(t, V4(2), 10, AnnounceEvent::kPaused));
  CHECK(r.counts == SwarmCounts{0, 2, 1});
  r = f.Announce(Req(t, V4(2), 0, AnnounceEvent::kPaused));
  CHECK(r.counts == SwarmCounts{1, 1, 1});
}

// ---------------------------------------------------------------------------------------
// Identity: the endpoint, not the peer id

TEST_CASE("another client reusing a peer id can neither remove nor replace an entry") {
  Fixture f;
  const InfoHash t = Hash(1);
  const uint32_t victim_id = 42;
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kStarted, victim_id));

  // The attacker, at another address, stops "as" the victim's peer id.
  AnnounceResult r = f.Announce(Req(t, V4(2), 0, AnnounceEvent::kStopped, victim_id));
  CHECK(r.counts == SwarmCounts{1, 0, 0});
  // It announces as that peer id, as a leecher: a separate entry, the victim's stays.
  r = f.Announce(Req(t, V4(2), 100, AnnounceEvent::kStarted, victim_id));
  CHECK(r.counts == SwarmCounts{1, 1, 0});
  // Same address, another port: still another peer.
  r = f.Announce(Req(t, V4(1, 9999), 100, AnnounceEvent::kStopped, victim_id));
  CHECK(r.counts == SwarmCounts{1, 1, 0});

  // The victim's entry kept its endpoint, status and peer id.
  std::vector<PeerRecord> records(10);
  r = f.store.Announce(Req(t, V4(3), 100, AnnounceEvent::kStarted, 7), f.now, records, f.rng);
  REQUIRE(r.peers_written == 2);
  records.resize(2);
  const auto victim = std::find_if(records.begin(), records.end(),
                                   [](const PeerRecord& p) { return p.endpoint == V4(1); });
  REQUIRE(victim != records.end());
  CHECK(victim->peer_id == Id(victim_id));
  CHECK(f.store.Scrape(t) == SwarmCounts{1, 2, 0});
}

TEST_CASE("the same endpoint with a new peer id replaces the stored id") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kStarted, 1));
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kStarted, 2));  // the client restarted
  std::vector<PeerRecord> records(10);
  const AnnounceResult r = f.store.Announce(Req(t, V4(2), 5), f.now, records, f.rng);
  REQUIRE(r.peers_written == 1);
  CHECK(records[0].endpoint == V4(1));
  CHECK(records[0].peer_id == Id(2));
  CHECK(r.counts == SwarmCounts{1, 1, 0});
}

// ---------------------------------------------------------------------------------------
// Families

TEST_CASE("IPv4 and IPv6 peers are kept apart; the counts are of both") {
  Fixture f;
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 5; ++i) f.Announce(Req(t, V4(i), i % 2));
  for (uint32_t i = 0; i < 3; ++i) f.Announce(Req(t, V6(i), 0));
  // The same address bytes in both families are different peers.
  std::vector<Endpoint> got;
  AnnounceResult r = f.Announce(Req(t, V4(100), 10), &got);
  CHECK(r.counts == SwarmCounts{3 + 3, 2 + 1, 0});
  CHECK(got.size() == 5);
  for (const Endpoint& e : got) CHECK(e.family() == AddressFamily::kV4);
  r = f.Announce(Req(t, V6(100), 10), &got);
  CHECK(got.size() == 3);
  for (const Endpoint& e : got) CHECK(e.family() == AddressFamily::kV6);
  CHECK(r.counts == SwarmCounts{6, 4, 0});
  CHECK(f.store.Stats() == StoreStats{1, 6, 4, 6, 4});
  // A v6 peer's stop does not touch the v4 peer with the same address bytes.
  f.Announce(Req(t, V6(0), 0, AnnounceEvent::kStopped));
  CHECK(f.store.Stats().peers_v4 == 6);
  CHECK(f.store.Stats().peers_v6 == 3);
}

TEST_CASE("a torrent with peers of both families counts once; each family cleans apart") {
  Fixture f(Config(50, 100));
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 0, AnnounceEvent::kCompleted));
  f.now += 60;
  f.Announce(Req(t, V6(1), 0, AnnounceEvent::kCompleted));
  CHECK(f.store.Stats().torrents == 1);
  CHECK(f.store.Scrape(t) == SwarmCounts{2, 0, 2});
  f.now += 60;  // the v4 peer is idle 120 s, the v6 one 60 s
  CleanStats c = f.CleanAll();
  CHECK(c == CleanStats{1, 0, 1});  // the v4 prefix's completion record is past the window
  CHECK(f.store.Stats() == StoreStats{1, 1, 0, 0, 1, 1});
  // The v4 part went, and its share of `completed` with it.
  CHECK(f.store.Scrape(t) == SwarmCounts{1, 0, 1});
  CHECK_FALSE(f.store.InspectSwarm(t, AddressFamily::kV4).has_value());
  f.now += 60;
  c = f.CleanAll();
  CHECK(c == CleanStats{1, 1, 1});
  CHECK(f.store.Stats() == StoreStats{});
}

// ---------------------------------------------------------------------------------------
// Peer selection

TEST_CASE("the requester is never in its own response") {
  Fixture f;
  const InfoHash t = Hash(1);
  CHECK(f.Peers(Req(t, V4(1), 0)).empty());  // alone
  for (uint32_t i = 2; i <= 30; ++i) f.Announce(Req(t, V4(i), i % 3));
  for (uint32_t i = 1; i <= 30; ++i) {
    const std::vector<Endpoint> got = f.Peers(Req(t, V4(i), i % 3));
    CHECK(got.size() == 29);
    CHECK_FALSE(Contains(got, V4(i)));
  }
}

TEST_CASE("at most min(peers_wanted, max_response_peers, room) peers, all distinct") {
  Fixture f(Config(/*max_peers=*/20));
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 100; ++i) f.Announce(Req(t, V4(i), i % 2));
  std::vector<Endpoint> got;
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, /*wanted=*/1000), &got);
  CHECK(got.size() == 20);  // max_response_peers
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, /*wanted=*/7), &got);
  CHECK(got.size() == 7);  // peers_wanted
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, /*wanted=*/0), &got);
  CHECK(got.empty());
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, /*wanted=*/1000), &got, /*room=*/3);
  CHECK(got.size() == 3);  // out.size()
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, 1000), &got, /*room=*/0);
  CHECK(got.empty());
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, 1000), &got);
  std::set<std::vector<uint8_t>> distinct;
  for (const Endpoint& e : got) {
    distinct.insert({e.address.bytes[0], e.address.bytes[1], e.address.bytes[2], e.address.bytes[3],
                     static_cast<uint8_t>(e.port >> 8), static_cast<uint8_t>(e.port)});
  }
  CHECK(distinct.size() == got.size());
}

TEST_CASE("max_response_peers at its limit returns that many") {
  Fixture f(Config(kMaxResponsePeersLimit));
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < kMaxResponsePeersLimit + 10; ++i) f.Announce(Req(t, V4(i), 1, AnnounceEvent::kNone, 0, 0));
  std::vector<Endpoint> got;
  f.Announce(Req(t, V4(1), 1, AnnounceEvent::kNone, 0, 0xffffffffu), &got, 5000);
  CHECK(got.size() == kMaxResponsePeersLimit);
  CHECK_FALSE(Contains(got, V4(1)));
}

TEST_CASE("a seeder gets leechers first, seeders only to fill up") {
  Fixture f(Config(/*max_peers=*/10));
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 4; ++i) f.Announce(Req(t, V4(i), 100));        // leechers
  for (uint32_t i = 100; i < 150; ++i) f.Announce(Req(t, V4(i), 0));      // seeders
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<Endpoint> got = f.Peers(Req(t, V4(120), 0));
    REQUIRE(got.size() == 10);
    for (uint32_t i = 0; i < 4; ++i) CHECK(Contains(got, V4(i)));  // all 4 leechers
    CHECK_FALSE(Contains(got, V4(120)));
  }
  // With more leechers than room, a seeder gets only leechers.
  for (uint32_t i = 4; i < 30; ++i) f.Announce(Req(t, V4(i), 100));
  for (int trial = 0; trial < 50; ++trial) {
    for (const Endpoint& e : f.Peers(Req(t, V4(120), 0))) CHECK(e.address.bytes[3] < 30);
  }
}

TEST_CASE("a leecher gets seeders and leechers alike") {
  Fixture f(Config(/*max_peers=*/10));
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 20; ++i) f.Announce(Req(t, V4(i), 100));    // leechers
  for (uint32_t i = 100; i < 120; ++i) f.Announce(Req(t, V4(i), 0));   // seeders
  int seeders = 0, total = 0;
  for (int trial = 0; trial < 400; ++trial) {
    for (const Endpoint& e : f.Peers(Req(t, V4(5), 100))) {
      seeders += e.address.bytes[3] >= 100 ? 1 : 0;
      ++total;
    }
  }
  // 20 of the 39 others are seeders: expect ~51% (sd ~0.8%) of 4000 picks.
  CHECK(total == 4000);
  CHECK(seeders > 1800);
  CHECK(seeders < 2300);
}

TEST_CASE("selection from a large swarm is spread over all of it") {
  Fixture f(Config(/*max_peers=*/50));
  const InfoHash t = Hash(1);
  constexpr uint32_t kPeers = 2000;
  for (uint32_t i = 0; i < kPeers; ++i) f.Announce(Req(t, V4(i), 1, AnnounceEvent::kNone, 0, 0));
  std::vector<int> picked(kPeers, 0);
  constexpr int kTrials = 2000;  // 100000 picks, ~50 per peer
  for (int trial = 0; trial < kTrials; ++trial) {
    for (const Endpoint& e : f.Peers(Req(t, V4(0), 1))) {
      ++picked[(uint32_t{e.address.bytes[1]} << 16) | (uint32_t{e.address.bytes[2]} << 8) | e.address.bytes[3]];
    }
  }
  CHECK(picked[0] == 0);  // the requester
  const auto [lo, hi] = std::minmax_element(picked.begin() + 1, picked.end());
  // Binomial(100000, 1/1999): mean 50, sd 7; over 1999 peers the extremes stay within
  // ~4 sd. A window scheme or a bias towards one end of the array would break this.
  CHECK(*lo > 15);
  CHECK(*hi < 90);
}

TEST_CASE("the three outputs agree: endpoints, records with ids, compact bytes") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, Endpoint::V4({192, 0, 2, 1}, 0x1ae1), 0, AnnounceEvent::kNone, 11));
  std::array<uint8_t, 16> a6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
  f.Announce(Req(t, Endpoint::V6(a6, 0xc8d5), 0, AnnounceEvent::kNone, 12));

  std::array<uint8_t, 64> bytes{};
  AnnounceResult r = f.store.AnnounceCompact(Req(t, V4(9), 1), f.now, bytes, f.rng);
  REQUIRE(r.peers_written == 1);
  CHECK(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 6) ==
        std::vector<uint8_t>{192, 0, 2, 1, 0x1a, 0xe1});

  r = f.store.AnnounceCompact(Req(t, V6(9), 1), f.now, bytes, f.rng);
  REQUIRE(r.peers_written == 1);
  std::vector<uint8_t> want6(a6.begin(), a6.end());
  want6.push_back(0xc8);
  want6.push_back(0xd5);
  CHECK(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 18) == want6);

  // The room is counted in whole entries: 17 bytes hold no IPv6 peer, 11 one IPv4 peer.
  r = f.store.AnnounceCompact(Req(t, V6(9), 1), f.now, std::span(bytes).first(17), f.rng);
  CHECK(r.peers_written == 0);
  f.Announce(Req(t, V4(10), 1));
  r = f.store.AnnounceCompact(Req(t, V4(9), 1), f.now, std::span(bytes).first(11), f.rng);
  CHECK(r.peers_written == 1);

  std::vector<PeerRecord> records(4);
  r = f.store.Announce(Req(t, V6(9), 1), f.now, records, f.rng);
  REQUIRE(r.peers_written == 1);
  CHECK(records[0].endpoint == Endpoint::V6(a6, 0xc8d5));
  CHECK(records[0].peer_id == Id(12));
  CHECK(TorrentStore::CompactEntrySize(AddressFamily::kV4) == 6);
  CHECK(TorrentStore::CompactEntrySize(AddressFamily::kV6) == 18);
}

// A writer that records the order of its calls, and writes a bencoded compact "peers"
// string the way an HTTP body does: "5:peers<6n>:" and then the entries, in one pass.
struct BencodeLikeWriter {
  uint32_t Capacity(AddressFamily) const { return capacity; }
  void Begin(AddressFamily f, const SwarmCounts& c, uint32_t n) {
    calls.push_back("begin " + std::to_string(n));
    family = f;
    counts = c;
    const size_t entry = TorrentStore::CompactEntrySize(f);
    const std::string prefix = (f == AddressFamily::kV4 ? "5:peers" : "6:peers6") +
                               std::to_string(n * entry) + ":";
    out.insert(out.end(), prefix.begin(), prefix.end());
  }
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const PeerIdBytes& id) {
    calls.push_back("add");
    out.insert(out.end(), peer.begin(), peer.end());
    ids.push_back(PeerId(id));
  }

  uint32_t capacity = 1000;
  AddressFamily family = AddressFamily::kV6;
  SwarmCounts counts;
  std::vector<std::string> calls;
  std::vector<uint8_t> out;
  std::vector<PeerId> ids;
};
static_assert(PeerWriter<BencodeLikeWriter>);
static_assert(PeerWriter<CompactPeerWriter>);
static_assert(PeerWriter<EndpointWriter>);
static_assert(PeerWriter<RecordWriter>);

TEST_CASE("a PeerWriter is told the counts and the number of peers before the first peer") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, Endpoint::V4({192, 0, 2, 1}, 0x1ae1), 0, AnnounceEvent::kNone, 11));
  f.Announce(Req(t, V4(2), 5, AnnounceEvent::kCompleted, 12));

  BencodeLikeWriter w;
  AnnounceResult r = f.store.Announce(Req(t, V4(3), 1, AnnounceEvent::kNone, 13), f.now, f.rng, w);
  CHECK(r.peers_written == 2);
  CHECK(w.calls == std::vector<std::string>{"begin 2", "add", "add"});
  CHECK(w.family == AddressFamily::kV4);
  CHECK(w.counts == SwarmCounts{1, 2, 1});  // after the announce, the requester included
  CHECK(w.counts == r.counts);
  const std::string prefix = "5:peers12:";
  REQUIRE(w.out.size() == prefix.size() + 12);
  CHECK(std::string(w.out.begin(), w.out.begin() + static_cast<long>(prefix.size())) == prefix);
  CHECK(std::set<PeerId>(w.ids.begin(), w.ids.end()) == std::set<PeerId>{Id(11), Id(12)});

  // The count is capped by wanted, max_response_peers and the writer's capacity alike.
  for (uint32_t capacity : {0u, 1u}) {
    BencodeLikeWriter small;
    small.capacity = capacity;
    r = f.store.Announce(Req(t, V4(3), 1), f.now, f.rng, small);
    CHECK(r.peers_written == capacity);
    CHECK(small.calls.front() == "begin " + std::to_string(capacity));
    CHECK(small.calls.size() == 1 + capacity);
  }
  BencodeLikeWriter wants_one;
  r = f.store.Announce(Req(t, V4(3), 1, AnnounceEvent::kNone, 13, /*wanted=*/1), f.now, f.rng,
                       wants_one);
  CHECK(wants_one.calls == std::vector<std::string>{"begin 1", "add"});

  // stopped: Begin with 0 and the counts without the peer; nothing added.
  BencodeLikeWriter stopped;
  r = f.store.Announce(Req(t, V4(3), 1, AnnounceEvent::kStopped), f.now, f.rng, stopped);
  CHECK(stopped.calls == std::vector<std::string>{"begin 0"});
  CHECK(stopped.counts == SwarmCounts{1, 1, 1});
  CHECK(std::string(stopped.out.begin(), stopped.out.end()) == "5:peers0:");
  // ...also for a torrent the store does not hold.
  BencodeLikeWriter unknown;
  r = f.store.Announce(Req(Hash(99), V6(3), 1, AnnounceEvent::kStopped), f.now, f.rng, unknown);
  CHECK(unknown.calls == std::vector<std::string>{"begin 0"});
  CHECK(unknown.family == AddressFamily::kV6);
  CHECK(unknown.counts == SwarmCounts{});
  CHECK(std::string(unknown.out.begin(), unknown.out.end()) == "6:peers60:");
}

TEST_CASE("Create refuses an invalid config with the reason; a store can be moved") {
  StoreConfig bad = Config();
  bad.shards = 0;
  absl::StatusOr<TorrentStore> refused = TorrentStore::Create(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(absl::IsInvalidArgument(refused.status()));
  CHECK(refused.status().message() == ValidateStoreConfig(bad).message());

  absl::StatusOr<TorrentStore> created = TorrentStore::Create(Config());
  REQUIRE(created.ok());
  TorrentStore store = std::move(*created);
  Rng rng(1);
  std::vector<Endpoint> out(4);
  store.Announce(Req(Hash(1), V4(1), 0), 0, out, rng);
  CHECK(store.Scrape(Hash(1)).seeders == 1);
  CHECK(store.shard_count() == Config().shards);
}

// ---------------------------------------------------------------------------------------
// Inline and heap storage

TEST_CASE("a swarm switches from inline to hashed past kInlinePeers, and back on cleaning") {
  Fixture f;
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < kInlinePeers; ++i) f.Announce(Req(t, V4(i), 1));
  std::optional<SwarmInfo> info = f.store.InspectSwarm(t, AddressFamily::kV4);
  REQUIRE(info.has_value());
  CHECK(info->is_inline);
  CHECK(info->heap_bytes == 0);

  f.Announce(Req(t, V4(kInlinePeers), 0));  // one past inline
  info = f.store.InspectSwarm(t, AddressFamily::kV4);
  CHECK_FALSE(info->is_inline);
  CHECK(info->heap_bytes > 0);
  CHECK(info->seeders == 1);
  CHECK(info->leechers == kInlinePeers);

  // Shrinking does not move it back on the announce path...
  f.Announce(Req(t, V4(0), 1, AnnounceEvent::kStopped));
  info = f.store.InspectSwarm(t, AddressFamily::kV4);
  CHECK_FALSE(info->is_inline);
  // ...cleaning does, and the peers are all still there.
  f.CleanAll();
  info = f.store.InspectSwarm(t, AddressFamily::kV4);
  CHECK(info->is_inline);
  CHECK(info->heap_bytes == 0);
  CHECK(f.store.Scrape(t) == SwarmCounts{1, kInlinePeers - 1, 0});
  std::vector<Endpoint> got = f.Peers(Req(t, V4(77), 1));
  CHECK(got.size() == kInlinePeers);
  for (uint32_t i = 1; i <= kInlinePeers; ++i) CHECK(Contains(got, V4(i)));
}

TEST_CASE("a large swarm cleaned down to a few peers keeps the right ones") {
  Fixture f(Config(50, 100));
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 1000; ++i) f.Announce(Req(t, V4(i), i % 2, AnnounceEvent::kNone, 0, 0));
  f.now += 90;
  f.Announce(Req(t, V4(500), 1, AnnounceEvent::kNone, 0, 0));
  f.Announce(Req(t, V4(777), 0, AnnounceEvent::kNone, 0, 0));
  f.now += 20;  // everyone else is idle 110 s > 100
  const CleanStats c = f.CleanAll();
  CHECK(c == CleanStats{998, 0});
  const std::optional<SwarmInfo> info = f.store.InspectSwarm(t, AddressFamily::kV4);
  REQUIRE(info.has_value());
  CHECK(info->is_inline);
  CHECK(f.store.Scrape(t) == SwarmCounts{1, 1, 0});
  const std::vector<Endpoint> got = f.Peers(Req(t, V4(5000), 1));
  CHECK(got.size() == 2);
  CHECK(Contains(got, V4(500)));
  CHECK(Contains(got, V4(777)));
}

// ---------------------------------------------------------------------------------------
// Cleaning

TEST_CASE("a peer idle exactly the timeout stays; one second more and it is cleaned") {
  Fixture f(Config(50, 100));
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 0));
  f.now += 100;
  CHECK(f.CleanAll() == CleanStats{0, 0});
  CHECK(f.store.Scrape(t).seeders == 1);
  f.now += 1;
  CHECK(f.CleanAll() == CleanStats{1, 1});
  CHECK(f.store.Scrape(t) == SwarmCounts{});
  CHECK(f.store.Stats() == StoreStats{});
}

TEST_CASE("an idle peer is still served until its shard is cleaned; announcing refreshes") {
  Fixture f(Config(50, 100));
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 0));
  f.Announce(Req(t, V4(2), 0));
  f.now += 90;
  f.Announce(Req(t, V4(1), 0));  // refreshed
  f.now += 50;                   // 1 idle 50 s, 2 idle 140 s
  CHECK(f.Peers(Req(t, V4(3), 1)).size() == 2);  // cleaning has not run yet
  CHECK(f.CleanAll() == CleanStats{1, 0});
  const std::vector<Endpoint> got = f.Peers(Req(t, V4(3), 1));
  CHECK(got.size() == 1);
  CHECK(Contains(got, V4(1)));
}

TEST_CASE("a clock that steps back does not make peers idle") {
  Fixture f(Config(50, 100));
  const InfoHash t = Hash(1);
  f.now = 5000;
  f.Announce(Req(t, V4(1), 0));
  f.now = 4990;  // another worker's slightly older reading
  f.Announce(Req(t, V4(2), 0));
  f.now = 5000;
  CHECK(f.CleanAll() == CleanStats{0, 0});
  CHECK(f.store.Scrape(t).seeders == 2);
}

TEST_CASE("the clock may start anywhere, negative included, and cross 2^32") {
  for (int64_t start : {int64_t{-50}, int64_t{0xffffffff} - 20, int64_t{1} << 40}) {
    CAPTURE(start);
    Fixture f(Config(50, 100));
    f.now = start;
    f.Announce(Req(Hash(1), V4(1), 0));
    f.now = start + 100;
    CHECK(f.CleanAll() == CleanStats{0, 0});
    f.now = start + 101;
    CHECK(f.CleanAll() == CleanStats{1, 1});
  }
}

TEST_CASE("CleanShard cleans its own shard only; out of range cleans nothing") {
  Fixture f(Config(50, 100, 8));
  // Two torrents in different shards.
  const InfoHash a = Hash(1);
  InfoHash b = Hash(2);
  for (uint32_t n = 2; f.store.ShardOf(b) == f.store.ShardOf(a); ++n) b = Hash(n);
  f.Announce(Req(a, V4(1), 0));
  f.Announce(Req(b, V4(1), 0));
  f.now += 500;
  CHECK(f.store.CleanShard(f.store.shard_count(), f.now) == CleanStats{});
  CHECK(f.store.Stats().torrents == 2);
  CHECK(f.store.CleanShard(f.store.ShardOf(a), f.now) == CleanStats{1, 1});
  CHECK(f.store.Scrape(a) == SwarmCounts{});
  CHECK(f.store.Scrape(b).seeders == 1);
  CHECK(f.store.CleanShard(f.store.ShardOf(b), f.now) == CleanStats{1, 1});
  CHECK(f.store.Stats() == StoreStats{});
}

TEST_CASE("cleaning many torrents away keeps the store usable and the totals right") {
  Fixture f(Config(50, 10, 2));
  for (uint32_t t = 0; t < 5000; ++t) f.Announce(Req(Hash(t), V4(t), t % 2));
  CHECK(f.store.Stats().torrents == 5000);
  f.now += 11;
  for (uint32_t t = 0; t < 10; ++t) f.Announce(Req(Hash(t), V4(t), t % 2));
  CHECK(f.CleanAll() == CleanStats{4990, 4990});
  CHECK(f.store.Stats() == StoreStats{10, 5, 5, 10, 0});
  for (uint32_t t = 0; t < 10; ++t) CHECK(f.store.Scrape(Hash(t)).seeders + f.store.Scrape(Hash(t)).leechers == 1);
  f.Announce(Req(Hash(9999), V4(1), 0));
  CHECK(f.store.Scrape(Hash(9999)).seeders == 1);
}

// ---------------------------------------------------------------------------------------
// The budget, the prefix cap, key ownership (issue 11 §1, §5)

// Counts the calls a PeerWriter gets.
struct CallCounter {
  int capacity_calls = 0;
  int begin_calls = 0;
  int adds = 0;
  uint32_t Capacity(AddressFamily) {
    ++capacity_calls;
    return 100;
  }
  void Begin(AddressFamily, const SwarmCounts&, uint32_t) { ++begin_calls; }
  template <size_t N>
  void Add(const std::array<uint8_t, N>&, const PeerIdBytes&) {
    ++adds;
  }
};
static_assert(PeerWriter<CallCounter>);

TEST_CASE("ValidateStoreConfig: the budget, the prefix rule and the completed window") {
  StoreConfig c;
  c.shards = 4;
  c.max_peers = 4;
  c.max_torrents = 4;
  CHECK(ValidateStoreConfig(c).ok());
  c.max_peers = 3;  // less than one per shard
  CHECK(ValidateStoreConfig(c).message().find("max_peers must be between shards (4)") !=
        std::string::npos);
  c.max_peers = kMaxPeersLimit;
  CHECK(ValidateStoreConfig(c).ok());
  c.max_peers = kMaxPeersLimit + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));
  c = StoreConfig{};
  c.shards = 4;
  c.max_torrents = 3;
  CHECK(ValidateStoreConfig(c).message().find("max_torrents") != std::string::npos);
  c.max_torrents = kMaxTorrentsLimit + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));

  c = StoreConfig{};
  for (uint32_t bits : {1u, 32u}) {
    c.prefix_bits_v4 = bits;
    CHECK(ValidateStoreConfig(c).ok());
  }
  for (uint32_t bits : {0u, 33u}) {
    c.prefix_bits_v4 = bits;
    CHECK(ValidateStoreConfig(c).message().find("prefix_bits_v4") != std::string::npos);
  }
  c = StoreConfig{};
  for (uint32_t bits : {1u, 128u}) {
    c.prefix_bits_v6 = bits;
    CHECK(ValidateStoreConfig(c).ok());
  }
  for (uint32_t bits : {0u, 129u}) {
    c.prefix_bits_v6 = bits;
    CHECK(ValidateStoreConfig(c).message().find("prefix_bits_v6") != std::string::npos);
  }
  c = StoreConfig{};
  c.prefix_cap = 0;  // off
  CHECK(ValidateStoreConfig(c).ok());
  c.completed_window_s = 1;
  CHECK(ValidateStoreConfig(c).ok());
  c.completed_window_s = 0;
  CHECK(ValidateStoreConfig(c).message().find("completed_window_s") != std::string::npos);
  c.completed_window_s = kMaxPeerInactivityTimeoutS + 1;
  CHECK(absl::IsInvalidArgument(ValidateStoreConfig(c)));
}

TEST_CASE("each shard gets its share of the budget, and the shares add up to it") {
  StoreConfig c = Config(50, 100, 7);
  c.max_peers = 100;
  c.max_torrents = 7 * 3 + 2;
  TorrentStore store = TorrentStore::Create(c).value();
  uint64_t peers = 0, torrents = 0;
  for (size_t i = 0; i < 7; ++i) {
    CHECK(store.ShardPeerLimit(i) == (i < 2 ? 15u : 14u));
    CHECK(store.ShardTorrentLimit(i) == (i < 2 ? 4u : 3u));
    peers += store.ShardPeerLimit(i);
    torrents += store.ShardTorrentLimit(i);
  }
  CHECK(peers == 100);
  CHECK(torrents == 23);
}

// Info hashes that all fall in shard 0 of `store`.
std::vector<InfoHash> HashesInShard0(const TorrentStore& store, size_t count) {
  std::vector<InfoHash> out;
  for (uint32_t n = 0; out.size() < count; ++n) {
    if (store.ShardOf(Hash(n)) == 0) out.push_back(Hash(n));
  }
  return out;
}

TEST_CASE("a full shard refuses a new torrent; its swarms keep working") {
  // Before issue 11 the store took every torrent: the 4th was accepted.
  StoreConfig c = Config(50, 100, 2);
  c.max_torrents = 6;  // 3 per shard
  c.max_peers = 1000;
  Fixture f(c);
  const std::vector<InfoHash> t = HashesInShard0(f.store, 4);
  for (size_t i = 0; i < 3; ++i) CHECK(f.Announce(Req(t[i], V4(1), 0)).status == AnnounceStatus::kOk);
  CallCounter writer;
  AnnounceResult r = f.store.Announce(Req(t[3], V4(1), 0), f.now, f.rng, writer);
  CHECK(r.status == AnnounceStatus::kFull);
  CHECK(writer.begin_calls == 0);
  CHECK(writer.adds == 0);
  CHECK(f.store.Scrape(t[3]) == SwarmCounts{});
  CHECK(f.store.Stats().torrents == 3);
  // A stopped for a torrent it does not hold is answered as ever, and creates nothing.
  CHECK(f.Announce(Req(t[3], V4(1), 0, AnnounceEvent::kStopped)).status == AnnounceStatus::kOk);
  // The torrents it holds take new peers (the peer budget has room), and the other family.
  r = f.Announce(Req(t[0], V4(2), 10));
  CHECK(r.status == AnnounceStatus::kOk);
  CHECK(r.counts == SwarmCounts{1, 1, 0});
  CHECK(f.Announce(Req(t[0], V6(2), 10)).status == AnnounceStatus::kOk);
  // The other shard has its own share.
  const InfoHash elsewhere = [&] {
    for (uint32_t n = 0;; ++n) {
      if (f.store.ShardOf(Hash(n)) == 1) return Hash(n);
    }
  }();
  CHECK(f.Announce(Req(elsewhere, V4(1), 0)).status == AnnounceStatus::kOk);
  // Once cleaning removes a torrent, a new one fits again.
  f.Announce(Req(t[1], V4(1), 0, AnnounceEvent::kStopped));
  f.CleanAll();
  CHECK(f.Announce(Req(t[3], V4(1), 0)).status == AnnounceStatus::kOk);
}

TEST_CASE("a full shard refuses a new peer; a known peer re-announcing is always accepted") {
  StoreConfig c = Config(50, 100, 1);
  c.max_peers = 10;
  Fixture f(c);
  const InfoHash a = Hash(1), b = Hash(2);
  for (uint32_t host = 0; host < 8; ++host) CHECK(f.Announce(Req(a, V4(host), 10)).status == AnnounceStatus::kOk);
  CHECK(f.Announce(Req(b, V6(1), 10)).status == AnnounceStatus::kOk);
  CHECK(f.Announce(Req(b, V4(1), 10)).status == AnnounceStatus::kOk);
  CHECK(f.store.Stats().peers_v4 + f.store.Stats().peers_v6 == 10);
  // Full: a new peer, in either family, in an existing torrent or a new one, is refused.
  CHECK(f.Announce(Req(a, V4(100), 10)).status == AnnounceStatus::kFull);
  CHECK(f.Announce(Req(a, V6(100), 10)).status == AnnounceStatus::kFull);
  CHECK(f.Announce(Req(Hash(3), V4(100), 10)).status == AnnounceStatus::kFull);
  CHECK(f.store.Stats().torrents == 2);
  // Known peers: updated, answered, their events applied.
  std::vector<Endpoint> got;
  AnnounceResult r = f.Announce(Req(a, V4(3), 0, AnnounceEvent::kCompleted), &got);
  CHECK(r.status == AnnounceStatus::kOk);
  CHECK(r.counts == SwarmCounts{1, 7, 1});
  CHECK(got.size() == 7);
  // A stop makes room for one new peer, and only one.
  CHECK(f.Announce(Req(a, V4(3), 0, AnnounceEvent::kStopped)).status == AnnounceStatus::kOk);
  CHECK(f.Announce(Req(a, V4(100), 10)).status == AnnounceStatus::kOk);
  CHECK(f.Announce(Req(a, V4(101), 10)).status == AnnounceStatus::kFull);
  // Cleaning makes room too.
  f.now += 101;
  f.Announce(Req(a, V4(100), 10));
  f.CleanAll();
  CHECK(f.store.Stats().peers_v4 + f.store.Stats().peers_v6 == 1);
  CHECK(f.Announce(Req(a, V4(101), 10)).status == AnnounceStatus::kOk);
}

TEST_CASE("a prefix at its cap: the entry that announced least recently gives way") {
  // Before issue 11 one address could hold any number of entries in a swarm.
  StoreConfig c = Config(1000, 10000, 1);
  c.prefix_cap = 3;
  Fixture f(c);
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(50), 10));  // someone else
  for (uint16_t port = 1; port <= 3; ++port) {
    CHECK_FALSE(f.Announce(Req(t, V4(1, port), 10)).prefix_evicted);
    f.now += 1;
  }
  f.Announce(Req(t, V4(1, 1), 10));  // port 1 announces again: port 2 is now the oldest
  f.now += 1;
  AnnounceResult r = f.Announce(Req(t, V4(1, 4), 10));
  CHECK(r.prefix_evicted);
  CHECK(r.counts.leechers == 4);
  const std::vector<Endpoint> peers = f.Peers(Req(t, V4(50), 10));
  CHECK(peers.size() == 3);
  CHECK(Contains(peers, V4(1, 1)));
  CHECK_FALSE(Contains(peers, V4(1, 2)));
  CHECK(Contains(peers, V4(1, 3)));
  CHECK(Contains(peers, V4(1, 4)));
  // Many more ports, and in a large swarm (heap form): never more than 3 of them.
  for (uint32_t host = 100; host < 200; ++host) f.Announce(Req(t, V4(host), host % 2));
  for (uint16_t port = 5; port < 2000; ++port) {
    f.now += 1;
    f.Announce(Req(t, V4(1, port), port % 3 == 0 ? 0 : 10));
    if (port % 7 == 0) f.Announce(Req(t, V4(1, static_cast<uint16_t>(port - 2)), 10));
  }
  const std::vector<Endpoint> all = f.Peers(Req(t, V4(50), 10, AnnounceEvent::kNone, 0, 1000));
  CHECK(std::count_if(all.begin(), all.end(), [](const Endpoint& e) {
          return e.address == V4(1).address;
        }) == 3);
  // The three are the last three to announce: 1997 (re-announced at 1999), 1998, 1999.
  CHECK(Contains(all, V4(1, 1997)));
  CHECK(Contains(all, V4(1, 1998)));
  CHECK(Contains(all, V4(1, 1999)));
  CHECK(all.size() == 1 + 100 + 3 - 1);  // V4(50) itself is not in its answer
}

TEST_CASE("the prefix cap groups by the configured prefix lengths, per family") {
  StoreConfig c = Config(1000, 10000, 1);
  c.prefix_cap = 2;
  c.prefix_bits_v4 = 24;
  c.prefix_bits_v6 = 48;
  Fixture f(c);
  const InfoHash t = Hash(1);
  // 10.0.0.1-10.0.0.4: one /24.
  for (uint32_t host = 1; host <= 4; ++host) {
    f.Announce(Req(t, V4(host), 10));
    f.now += 1;
  }
  // 10.0.1.1: another /24.
  f.Announce(Req(t, V4(0x101), 10));
  CHECK(f.store.Scrape(t).leechers == 3);
  // V6 hosts 1..3 differ in bytes 5..7 and 13..15: the same /40, so the same /48 only
  // where byte 5 is equal. Hosts 1, 2, 3 have byte 5 == 0 (host >> 16): one /48.
  for (uint32_t host = 1; host <= 3; ++host) {
    f.Announce(Req(t, V6(host), 10));
    f.now += 1;
  }
  CHECK(f.store.Scrape(t).leechers == 5);
  const std::vector<Endpoint> peers = f.Peers(Req(t, V4(0x101), 10));
  CHECK(Contains(peers, V4(3)));
  CHECK(Contains(peers, V4(4)));
}

TEST_CASE("a full shard still lets a prefix at its cap replace its oldest entry") {
  StoreConfig c = Config(50, 100, 1);
  c.max_peers = 4;
  c.prefix_cap = 2;
  Fixture f(c);
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1, 1), 10));
  f.Announce(Req(t, V4(1, 2), 10));
  f.Announce(Req(t, V4(2), 10));
  f.Announce(Req(t, V4(3), 10));
  CHECK(f.Announce(Req(t, V4(4), 10)).status == AnnounceStatus::kFull);
  const AnnounceResult r = f.Announce(Req(t, V4(1, 3), 10));
  CHECK(r.status == AnnounceStatus::kOk);
  CHECK(r.prefix_evicted);
  CHECK(r.counts.leechers == 4);
}

TEST_CASE("stopped removes an entry with a key only when the key matches") {
  // Before issue 11 the key was ignored: anyone at the address could stop the entry.
  Fixture f;
  const InfoHash t = Hash(1);
  AnnounceRequest owner = Req(t, V4(1), 10);
  owner.key = 0xfeedbeef;
  f.Announce(owner);
  f.Announce(Req(t, V4(2), 10));
  // Another client behind the same address: no key, or a wrong one, and the entry stays.
  AnnounceRequest stop = Req(t, V4(1), 10, AnnounceEvent::kStopped);
  AnnounceResult r = f.Announce(stop);
  CHECK(r.stop_key_mismatch);
  CHECK(r.counts.leechers == 2);
  stop.key = 0xfeedbeee;
  r = f.Announce(stop);
  CHECK(r.stop_key_mismatch);
  CHECK(f.store.Scrape(t).leechers == 2);
  // The owner's key stops it.
  stop.key = 0xfeedbeef;
  r = f.Announce(stop);
  CHECK_FALSE(r.stop_key_mismatch);
  CHECK(r.counts.leechers == 1);
  // An entry without a key is stopped by any stop from its endpoint, keyed or not.
  AnnounceRequest keyed_stop = Req(t, V4(2), 10, AnnounceEvent::kStopped);
  keyed_stop.key = 7;
  CHECK_FALSE(f.Announce(keyed_stop).stop_key_mismatch);
  CHECK(f.store.Scrape(t).leechers == 0);
}

TEST_CASE("a normal announce with a new key replaces the entry's key") {
  Fixture f;
  const InfoHash t = Hash(1);
  AnnounceRequest r = Req(t, V4(1), 10);
  r.key = 1;
  f.Announce(r);
  r.key = 2;  // the client restarted with a new key
  f.Announce(r);
  AnnounceRequest stop = Req(t, V4(1), 10, AnnounceEvent::kStopped);
  stop.key = 1;
  CHECK(f.Announce(stop).stop_key_mismatch);
  stop.key = 2;
  CHECK(f.Announce(stop).counts == SwarmCounts{});
  // The key is kept in the heap form too.
  for (uint32_t host = 10; host < 20; ++host) f.Announce(Req(t, V4(host), 10));
  r.key = 3;
  f.Announce(r);
  stop.key = 2;
  CHECK(f.Announce(stop).stop_key_mismatch);
  stop.key = 3;
  CHECK(f.Announce(stop).counts.leechers == 10);
}

TEST_CASE("cleaning in slices: a swarm and a shard larger than a slice are cleaned whole") {
  StoreConfig c = Config(50, 100, 1);
  c.prefix_cap = 2;
  Fixture f(c);
  const InfoHash big = Hash(1);
  // 30,000 peers (several slices of 2048), every other one idle; seeders and leechers.
  for (uint32_t host = 0; host < 30000; ++host) {
    f.now = host % 2 == 0 ? 1000 : 1150;
    f.Announce(Req(big, V4(host), host % 3 == 0 ? 0 : 10));
  }
  // And 20,000 torrents of one idle peer each.
  f.now = 1000;
  for (uint32_t t = 2; t < 20002; ++t) f.Announce(Req(Hash(t), V4(t), 0));
  f.now = 1200;
  double longest = 0;
  const CleanStats cleaned = f.store.CleanShard(0, f.now, &longest);
  CHECK(cleaned.peers_removed == 15000 + 20000);
  CHECK(cleaned.torrents_removed == 20000);
  CHECK(longest > 0);
  const SwarmCounts counts = f.store.Scrape(big);
  CHECK(counts.seeders + counts.leechers == 15000);
  CHECK(counts.seeders == 5000);  // the odd hosts divisible by 3
  CHECK(f.store.Stats().torrents == 1);
  // The survivors are all still there, and the prefix bookkeeping still works.
  for (uint32_t host = 1; host < 30000; host += 2) {
    REQUIRE(f.Announce(Req(big, V4(host), 10)).counts.seeders + counts.leechers >= 1);
  }
  CHECK(f.store.Scrape(big).leechers == 15000);
  f.Announce(Req(big, V4(1, 1), 10));
  f.Announce(Req(big, V4(1, 2), 10));
  CHECK(f.Announce(Req(big, V4(1, 3), 10)).prefix_evicted);
  CHECK(f.store.Scrape(big).leechers == 15000 + 1);
}

// A restored peer (a snapshot at start) is held to what an announce is held to, and
// joins the prefix bookkeeping announces use: restoring with no prefix rule into a store
// with a cap corrupted the heap at the next announce to that swarm.
TEST_CASE("RestorePeer: the budget and the prefix cap apply; announces and cleaning after it work") {
  StoreConfig c = Config(1000, 100, 1);
  c.prefix_cap = 3;
  c.max_peers = 120;
  c.max_torrents = 2;
  Fixture f(c);
  const InfoHash big = Hash(1);
  auto stored = [](Endpoint endpoint, bool seeder, uint32_t idle_s) {
    StoredPeer peer;
    peer.endpoint = endpoint;
    peer.seeder = seeder;
    peer.idle_s = idle_s;
    return peer;
  };
  // 100 hosts (a large swarm, heap form), then six ports of one address: three fit.
  for (uint32_t host = 100; host < 200; ++host) {
    REQUIRE(f.store.RestorePeer(big, stored(V4(host), host % 2 == 0, 5), f.now));
  }
  for (uint16_t port = 1; port <= 6; ++port) {
    CHECK(f.store.RestorePeer(big, stored(V4(1, port), false, static_cast<uint32_t>(10 - port)), f.now) == (port <= 3));
  }
  CHECK(f.store.Scrape(big).seeders + f.store.Scrape(big).leechers == 103);
  // A second torrent fits the torrent budget, a third does not.
  CHECK(f.store.RestorePeer(Hash(2), stored(V4(7), true, 0), f.now));
  CHECK_FALSE(f.store.RestorePeer(Hash(3), stored(V4(8), true, 0), f.now));
  CHECK(f.store.Stats().torrents == 2);
  // The peer budget: 104 held, 16 more fit.
  uint32_t accepted = 0;
  for (uint32_t host = 300; host < 340; ++host) {
    accepted += f.store.RestorePeer(Hash(2), stored(V4(host), false, 0), f.now) ? 1u : 0u;
  }
  CHECK(accepted == 16);
  CHECK(f.store.Stats().peers_v4 == 120);
  // The prefix's oldest restored entry (port 1, idle 9 s) gives way to a new port.
  CHECK(f.Announce(Req(big, V4(1, 50), 10)).prefix_evicted);
  const std::vector<Endpoint> all = f.Peers(Req(big, V4(100), 0, AnnounceEvent::kNone, 0, 1000));
  CHECK_FALSE(Contains(all, V4(1, 1)));
  CHECK(Contains(all, V4(1, 2)));
  CHECK(Contains(all, V4(1, 50)));
  // Stops and a cleaning that removes everything keep the sets consistent.
  CHECK(f.Announce(Req(big, V4(1, 2), 10, AnnounceEvent::kStopped)).counts.leechers == 52);
  f.now += 1000;
  f.CleanAll();
  CHECK(f.store.Stats() == StoreStats{});
}

// ---------------------------------------------------------------------------------------
// Allocation

TEST_CASE("no allocation: announcing into a small swarm that is already present") {
  Fixture f;
  const InfoHash t = Hash(1);
  f.Announce(Req(t, V4(1), 0));  // creates the torrent
  std::array<Endpoint, 50> out;
  std::array<uint8_t, 300> compact;
  std::array<PeerRecord, 50> records;
  testing::AllocationScope scope;
  AnnounceResult r = f.store.Announce(Req(t, V4(2), 10), f.now, out, f.rng);  // joins inline
  CHECK(r.peers_written == 1);
  // (A `completed` may allocate: the record of its torrent and address prefix.)
  r = f.store.Announce(Req(t, V4(2), 0), f.now, out, f.rng);  // becomes a seeder
  CHECK(r.counts == SwarmCounts{2, 0, 0});
  r = f.store.AnnounceCompact(Req(t, V4(1), 0), f.now, compact, f.rng);
  CHECK(r.peers_written == 1);
  r = f.store.Announce(Req(t, V4(1), 0), f.now, records, f.rng);
  CHECK(r.peers_written == 1);
  r = f.store.Announce(Req(t, V4(2), 0, AnnounceEvent::kStopped), f.now, out, f.rng);
  CHECK(f.store.Scrape(t) == SwarmCounts{1, 0, 0});
  CHECK(scope.allocations() == 0);
}

TEST_CASE("no allocation: re-announcing into a large swarm, and scraping") {
  Fixture f;
  const InfoHash t = Hash(1);
  for (uint32_t i = 0; i < 1000; ++i) f.Announce(Req(t, V4(i), i % 2));
  std::array<Endpoint, 50> out;
  testing::AllocationScope scope;
  for (uint32_t i = 0; i < 1000; i += 7) {
    const AnnounceResult r = f.store.Announce(Req(t, V4(i), (i + 1) % 2), f.now, out, f.rng);
    CHECK(r.peers_written == 50);
  }
  CHECK(f.store.Scrape(t).seeders + f.store.Scrape(t).leechers == 1000);
  CHECK(f.store.Scrape(Hash(2)) == SwarmCounts{});
  CHECK(scope.allocations() == 0);
}

// ---------------------------------------------------------------------------------------
// Threads (run under --config=tsan too)

TEST_CASE("concurrent announces, scrapes, stats and cleaning stay consistent") {
  StoreConfig config = Config(30, 5, 8);
  TorrentStore store = TorrentStore::Create(config).value();
  constexpr int kWorkers = 4;
  constexpr uint32_t kTorrents = 64;
  constexpr int kAnnounces = 20000;
  std::atomic<int64_t> clock{0};
  std::atomic<bool> done{false};
  std::atomic<int> bad_responses{0};  // checked on the main thread: doctest asserts stay there

  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      Rng rng(static_cast<uint64_t>(w) + 1);
      std::array<Endpoint, 30> out;
      for (int i = 0; i < kAnnounces; ++i) {
        AnnounceRequest r;
        // A few hot torrents shared by all workers, and endpoints shared too, so the same
        // peers are updated from several threads.
        r.info_hash = Hash(rng.Below(kTorrents));
        const uint32_t host = rng.Below(200);
        r.endpoint = rng.Below(4) == 0 ? V6(host) : V4(host);
        r.peer_id = Id(host);
        r.left = rng.Below(3) == 0 ? 0 : 100;
        r.event = static_cast<AnnounceEvent>(rng.Below(5));
        r.peers_wanted = 30;
        const AnnounceResult result = store.Announce(r, clock.load(), out, rng);
        bool bad = result.peers_written > 30;
        for (uint32_t k = 0; k < result.peers_written && !bad; ++k) {
          bad = out[k].family() != r.endpoint.family() || out[k] == r.endpoint;
        }
        if (bad) bad_responses.fetch_add(1);
        if (i % 64 == 0) (void)store.Scrape(Hash(rng.Below(kTorrents)));
        if (i % 1024 == 0) (void)store.Stats();
        if (w == 0 && i % 200 == 0) clock.fetch_add(1);
      }
    });
  }
  std::thread cleaner([&] {
    // Round-robin over the shards, as the server's cleaner does (without the spacing).
    for (size_t s = 0; !done.load(); s = (s + 1) % store.shard_count()) {
      store.CleanShard(s, clock.load());
      std::this_thread::yield();
    }
  });
  for (auto& t : threads) t.join();
  done.store(true);
  cleaner.join();
  CHECK(bad_responses.load() == 0);

  // Every total matches the sum of the per-torrent counts.
  uint64_t seeders = 0, leechers = 0, torrents = 0;
  for (uint32_t t = 0; t < kTorrents; ++t) {
    const SwarmCounts c = store.Scrape(Hash(t));
    seeders += c.seeders;
    leechers += c.leechers;
    torrents += (store.InspectSwarm(Hash(t), AddressFamily::kV4).has_value() ||
                 store.InspectSwarm(Hash(t), AddressFamily::kV6).has_value())
                    ? 1u
                    : 0u;
  }
  const StoreStats stats = store.Stats();
  CHECK(stats.seeders == seeders);
  CHECK(stats.leechers == leechers);
  CHECK(stats.torrents == torrents);
  CHECK(stats.peers_v4 + stats.peers_v6 == seeders + leechers);
  // Cleaning everything at a far-off time empties the store.
  for (size_t s = 0; s < store.shard_count(); ++s) store.CleanShard(s, clock.load() + 100);
  CHECK(store.Stats() == StoreStats{});
}

}  // namespace
}  // namespace reef::swarm
