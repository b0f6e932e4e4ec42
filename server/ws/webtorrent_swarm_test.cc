#include "server/ws/webtorrent_swarm.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <vector>

namespace reef::ws {
namespace {

InfoHash Torrent(uint8_t n) {
  std::array<uint8_t, 20> b{};
  b[0] = n;
  b[19] = 0x5a;
  return InfoHash(b);
}

PeerId Peer(uint32_t n) {
  std::array<uint8_t, 20> b{};
  b.fill('p');
  b[0] = static_cast<uint8_t>(n);
  b[1] = static_cast<uint8_t>(n >> 8);
  return PeerId(b);
}

ConnectionHandle Conn(uint32_t slot, uint32_t generation = 1, uint16_t worker = 0) {
  return {worker, slot, generation};
}

std::unique_ptr<WebTorrentSwarm> MakeSwarm(WebTorrentSwarmConfig config = {}) {
  auto swarm = WebTorrentSwarm::Create(config);
  REQUIRE(swarm.ok());
  return std::move(swarm).value();
}

struct Announcer {
  explicit Announcer(WebTorrentSwarm& s) : swarm(s) {}
  WebTorrentSwarm& swarm;
  swarm::Rng rng{7};
  int64_t now = 100;
  std::vector<ConnectionHandle> receivers;

  AnnounceOutcome operator()(uint8_t torrent, uint32_t peer, ConnectionHandle conn,
                             bool seeder = false, PeerEvent event = PeerEvent::kUpdate,
                             uint32_t wanted = 0) {
    PeerAnnounce a;
    a.info_hash = Torrent(torrent);
    a.peer_id = Peer(peer);
    a.connection = conn;
    a.seeder = seeder;
    a.event = event;
    a.receivers_wanted = wanted;
    receivers.assign(16, ConnectionHandle{});
    auto outcome = swarm.Announce(a, now, receivers, rng);
    receivers.resize(outcome.receivers);
    return outcome;
  }
};

TEST_CASE("announces add peers and count seeders, leechers and completed events") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  auto r = announce(1, 1, Conn(1), false, PeerEvent::kStarted);
  CHECK(r.status == AnnounceStatus::kOk);
  CHECK(r.added);
  CHECK(r.counts == SwarmCounts{0, 1, 0});
  r = announce(1, 2, Conn(2), true);
  CHECK(r.counts == SwarmCounts{1, 1, 0});
  r = announce(1, 1, Conn(1), true, PeerEvent::kCompleted);
  CHECK_FALSE(r.added);
  CHECK(r.counts == SwarmCounts{2, 0, 1});
  r = announce(1, 1, Conn(1), true, PeerEvent::kCompleted);  // once per entry
  CHECK(r.counts == SwarmCounts{2, 0, 1});
  CHECK(swarm->Scrape(Torrent(1)) == SwarmCounts{2, 0, 1});
  CHECK(swarm->Scrape(Torrent(2)) == SwarmCounts{});
  CHECK(swarm->Stats() == WebTorrentStoreStats{1, 2, 0, 0});
}

TEST_CASE("a peer id held by one connection cannot be taken, stopped or answered for by another") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  REQUIRE(announce(1, 1, Conn(1)).added);
  REQUIRE(announce(1, 2, Conn(2)).added);

  auto r = announce(1, 1, Conn(3), true);
  CHECK(r.status == AnnounceStatus::kNotOwner);
  CHECK(r.counts == SwarmCounts{0, 2, 0});  // not made a seeder
  r = announce(1, 1, Conn(3), false, PeerEvent::kStopped);
  CHECK(r.status == AnnounceStatus::kNotOwner);
  CHECK_FALSE(r.removed);
  // The same slot with another generation is another connection.
  r = announce(1, 1, Conn(1, 2));
  CHECK(r.status == AnnounceStatus::kNotOwner);
  CHECK_FALSE(swarm->Remove(Torrent(1), Peer(1), Conn(1, 2)));
  CHECK_FALSE(swarm->Remove(Torrent(1), Peer(1), Conn(1, 1, /*worker=*/1)));
  CHECK(swarm->RouteAnswer(Torrent(1), Peer(1), Conn(3), Peer(2), 100).status ==
        AnswerStatus::kNotInSwarm);
  CHECK(swarm->Scrape(Torrent(1)) == SwarmCounts{0, 2, 0});

  // The same peer id on another torrent is another entry, free to take.
  CHECK(announce(2, 1, Conn(3)).added);
}

TEST_CASE("stopped removes the owner's entry; an empty torrent goes at once") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  announce(1, 1, Conn(1), false, PeerEvent::kCompleted);
  auto r = announce(1, 1, Conn(1), false, PeerEvent::kStopped);
  CHECK(r.status == AnnounceStatus::kOk);
  CHECK(r.removed);
  CHECK(r.counts == SwarmCounts{0, 0, 1});
  CHECK(swarm->Stats() == WebTorrentStoreStats{});
  // A stop for an entry that is not there changes nothing and creates nothing.
  r = announce(3, 1, Conn(1), false, PeerEvent::kStopped);
  CHECK_FALSE(r.removed);
  CHECK(swarm->Stats().torrents == 0);
}

TEST_CASE("offer receivers: distinct, never the sender, as many as wanted and available") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  auto r = announce(1, 0, Conn(0), false, PeerEvent::kStarted, 5);
  CHECK(r.receivers == 0);  // alone
  for (uint32_t p = 1; p < 4; ++p) announce(1, p, Conn(p));
  r = announce(1, 0, Conn(0), false, PeerEvent::kUpdate, 5);
  REQUIRE(r.receivers == 3);  // only three others
  std::set<uint32_t> slots;
  for (const auto& h : announce.receivers) slots.insert(h.slot);
  CHECK(slots == std::set<uint32_t>{1, 2, 3});
  r = announce(1, 0, Conn(0), false, PeerEvent::kUpdate, 2);
  CHECK(r.receivers == 2);
  r = announce(1, 0, Conn(0), false, PeerEvent::kUpdate, 0);
  CHECK(r.receivers == 0);
}

TEST_CASE("offer receivers are chosen uniformly at random") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  constexpr uint32_t kPeers = 40;  // past the linear-scan size, so the index is in use
  for (uint32_t p = 0; p < kPeers; ++p) announce(1, p, Conn(p), p % 3 == 0);
  std::map<uint32_t, int> hits;
  constexpr int kRounds = 8000;
  for (int i = 0; i < kRounds; ++i) {
    auto r = announce(1, 5, Conn(5), false, PeerEvent::kUpdate, 3);
    REQUIRE(r.receivers == 3);
    std::set<uint32_t> distinct;
    for (const auto& h : announce.receivers) {
      CHECK(h.slot != 5);
      distinct.insert(h.slot);
      ++hits[h.slot];
    }
    CHECK(distinct.size() == 3);
  }
  CHECK(hits.size() == kPeers - 1);
  const double expected = kRounds * 3.0 / (kPeers - 1);  // ~615
  for (const auto& hit : hits) {
    CAPTURE(hit.first);
    CHECK(hit.second > expected * 0.75);
    CHECK(hit.second < expected * 1.25);
  }
}

TEST_CASE("a seeder's offers go to leechers first") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  for (uint32_t p = 1; p <= 3; ++p) announce(1, p, Conn(p), /*seeder=*/false);
  for (uint32_t p = 4; p <= 8; ++p) announce(1, p, Conn(p), /*seeder=*/true);
  for (int i = 0; i < 50; ++i) {
    auto r = announce(1, 4, Conn(4), true, PeerEvent::kUpdate, 3);
    REQUIRE(r.receivers == 3);
    for (const auto& h : announce.receivers) CHECK(h.slot <= 3);
    r = announce(1, 4, Conn(4), true, PeerEvent::kUpdate, 5);
    REQUIRE(r.receivers == 5);
    int leechers = 0;
    for (const auto& h : announce.receivers) {
      CHECK(h.slot != 4);
      leechers += h.slot <= 3 ? 1 : 0;
    }
    CHECK(leechers == 3);
  }
}

TEST_CASE("answers are routed to the connection that holds to_peer_id") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  announce(1, 1, Conn(1));
  announce(1, 2, Conn(2, 9, 3));
  auto route = swarm->RouteAnswer(Torrent(1), Peer(1), Conn(1), Peer(2), 100);
  CHECK(route.status == AnswerStatus::kForward);
  CHECK(route.to == Conn(2, 9, 3));
  CHECK(swarm->RouteAnswer(Torrent(1), Peer(1), Conn(1), Peer(7), 100).status ==
        AnswerStatus::kNoSuchPeer);
  // A peer of another torrent is not reachable through this one.
  announce(2, 7, Conn(7));
  CHECK(swarm->RouteAnswer(Torrent(1), Peer(1), Conn(1), Peer(7), 100).status ==
        AnswerStatus::kNoSuchPeer);
  CHECK(swarm->RouteAnswer(Torrent(9), Peer(1), Conn(1), Peer(2), 100).status ==
        AnswerStatus::kNotInSwarm);
}

TEST_CASE("the budget refuses new peers and torrents just past it; old ones keep working") {
  WebTorrentSwarmConfig config;
  config.shards = 1;
  config.max_peers = 5;
  config.max_torrents = 2;
  auto swarm = MakeSwarm(config);
  Announcer announce(*swarm);
  CHECK(announce(1, 1, Conn(1)).status == AnnounceStatus::kOk);
  CHECK(announce(2, 2, Conn(2)).status == AnnounceStatus::kOk);
  auto r = announce(3, 3, Conn(3));  // a third torrent
  CHECK(r.status == AnnounceStatus::kFull);
  CHECK_FALSE(r.added);
  CHECK(announce(1, 3, Conn(3)).status == AnnounceStatus::kOk);
  CHECK(announce(1, 4, Conn(4)).status == AnnounceStatus::kOk);
  CHECK(announce(1, 5, Conn(5)).status == AnnounceStatus::kOk);  // the fifth peer
  r = announce(1, 6, Conn(6));                                     // the sixth
  CHECK(r.status == AnnounceStatus::kFull);
  CHECK(r.counts == SwarmCounts{0, 4, 0});
  // Existing entries still announce, complete and stop.
  CHECK(announce(1, 1, Conn(1), true, PeerEvent::kCompleted).status == AnnounceStatus::kOk);
  CHECK(announce(1, 1, Conn(1), true, PeerEvent::kStopped).removed);
  CHECK(announce(1, 6, Conn(6)).status == AnnounceStatus::kOk);  // room again
  CHECK(swarm->Stats().refused_full == 2);
}

TEST_CASE("the budget is shared out per shard") {
  WebTorrentSwarmConfig config;
  config.shards = 4;
  config.max_peers = 7;  // 2 per shard, rounded up
  auto swarm = MakeSwarm(config);
  Announcer announce(*swarm);
  int accepted = 0;
  for (uint32_t p = 0; p < 10; ++p) {
    accepted += announce(1, p, Conn(p)).status == AnnounceStatus::kOk ? 1 : 0;
  }
  CHECK(accepted == 2);  // one torrent: one shard
}

TEST_CASE("cleaning removes entries not refreshed for the inactivity timeout") {
  WebTorrentSwarmConfig config;
  config.shards = 2;
  config.peer_inactivity_timeout_s = 60;
  auto swarm = MakeSwarm(config);
  Announcer announce(*swarm);
  announce(1, 1, Conn(1));  // at 100
  announce.now = 150;
  announce(1, 2, Conn(2));
  announce(3, 3, Conn(3));
  // An answer refreshes its sender too.
  REQUIRE(swarm->RouteAnswer(Torrent(3), Peer(3), Conn(3), Peer(9), 155).status ==
          AnswerStatus::kNoSuchPeer);
  const auto clean_all = [&](int64_t now) {
    WebTorrentCleanStats total;
    for (size_t s = 0; s <= swarm->shard_count(); ++s) {  // one past the end: nothing
      auto stats = swarm->CleanShard(s, now);
      total.peers_removed += stats.peers_removed;
      total.torrents_removed += stats.torrents_removed;
    }
    return total;
  };
  CHECK(clean_all(160) == WebTorrentCleanStats{0, 0});  // 60 s is not over the timeout
  CHECK(clean_all(161) == WebTorrentCleanStats{1, 0});
  CHECK(swarm->Scrape(Torrent(1)) == SwarmCounts{0, 1, 0});
  CHECK(clean_all(211) == WebTorrentCleanStats{1, 1});  // peer 2, and torrent 1 with it
  CHECK(swarm->Scrape(Torrent(3)) == SwarmCounts{0, 1, 0});
  CHECK(clean_all(216) == WebTorrentCleanStats{1, 1});
  CHECK(swarm->Stats() == WebTorrentStoreStats{});
}

TEST_CASE("large swarms stay consistent as peers come, change and go") {
  auto swarm = MakeSwarm();
  Announcer announce(*swarm);
  constexpr uint32_t kPeers = 100;
  for (uint32_t p = 0; p < kPeers; ++p) announce(1, p, Conn(p), p % 2 == 0);
  CHECK(swarm->Scrape(Torrent(1)) == SwarmCounts{50, 50, 0});
  for (uint32_t p = 0; p < kPeers; p += 3) {
    CHECK(announce(1, p, Conn(p), p % 2 != 0).status == AnnounceStatus::kOk);  // flip
  }
  for (uint32_t p = 0; p < kPeers; p += 2) CHECK(swarm->Remove(Torrent(1), Peer(p), Conn(p)));
  // Odd peers remain; those divisible by 3 were flipped to seeders.
  uint32_t seeders = 0;
  for (uint32_t p = 1; p < kPeers; p += 2) seeders += p % 3 == 0 ? 1 : 0;
  CHECK(swarm->Scrape(Torrent(1)) == SwarmCounts{seeders, 50 - seeders, 0});
  // Every remaining peer is still found (and owned by its connection).
  for (uint32_t p = 1; p < kPeers; p += 2) {
    CHECK(announce(1, p, Conn(1000)).status == AnnounceStatus::kNotOwner);
  }
  for (uint32_t p = 1; p < kPeers; p += 2) CHECK(swarm->Remove(Torrent(1), Peer(p), Conn(p)));
  CHECK(swarm->Stats() == WebTorrentStoreStats{});
}

TEST_CASE("the configuration is validated") {
  WebTorrentSwarmConfig c;
  CHECK(ValidateWebTorrentSwarmConfig(c).ok());
  c.shards = 0;
  CHECK_FALSE(WebTorrentSwarm::Create(c).ok());
  c = {};
  c.shards = swarm::kMaxShards + 1;
  CHECK_FALSE(ValidateWebTorrentSwarmConfig(c).ok());
  c = {};
  c.max_peers = 0;
  CHECK_FALSE(ValidateWebTorrentSwarmConfig(c).ok());
  c = {};
  c.max_torrents = 0;
  CHECK_FALSE(ValidateWebTorrentSwarmConfig(c).ok());
  c = {};
  c.peer_inactivity_timeout_s = 0;
  CHECK_FALSE(ValidateWebTorrentSwarmConfig(c).ok());
}

}  // namespace
}  // namespace reef::ws
