// RedisSwarm against a real Redis Cluster (tests/redis_cluster.py): the memory store's
// rules (torrent_store_test.cc) as far as they apply, the per-slot budget, expiry by
// itself, and two instances sharing swarms. Each case uses its own key prefix, so cases
// never see each other's torrents.
#include "server/redis/redis_swarm.h"

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <thread>

#include "doctest/doctest.h"
#include "server/redis/cluster_test_util.h"
#include "server/redis/swarm_scripts.h"

namespace reef::redis {
namespace {

using swarm::AnnounceEvent;
using swarm::AnnounceStatus;
using swarm::SwarmCounts;
using testing::TestLoop;

// An announce's answer copied out of the callback.
struct Answer {
  AnnounceStatus status = AnnounceStatus::kOk;
  SwarmCounts counts;
  bool prefix_evicted = false;
  bool stop_key_mismatch = false;
  bool completed_not_counted = false;
  std::vector<Endpoint> peers;
  std::vector<swarm::PeerIdBytes> ids;
};

// Collects peers through the PeerWriter interface the workers' writers implement.
struct CollectingWriter {
  uint32_t capacity = 1000;
  Answer* answer;
  uint32_t Capacity(AddressFamily) const { return capacity; }
  void Begin(AddressFamily, const SwarmCounts& counts, uint32_t) { answer->counts = counts; }
  template <size_t N>
  void Add(const std::array<uint8_t, N>& peer, const swarm::PeerIdBytes& id) {
    answer->peers.push_back(swarm::EndpointOf(peer));
    answer->ids.push_back(id);
  }
};

int prefix_counter = 0;

RedisSwarmOptions Options() {
  RedisSwarmOptions options;
  options.key_prefix = "test" + std::to_string(++prefix_counter);
  options.prefix_cap = 0;  // most cases announce many peers from 127.0.0.1
  return options;
}

class Fixture {
 public:
  explicit Fixture(RedisSwarmOptions options = Options()) {
    REQUIRE(loop_.WaitForSlotMap());
    auto swarm = RedisSwarm::Create(loop_.client(), options, 42);
    REQUIRE(swarm.ok());
    swarm_ = *std::move(swarm);
  }
  TestLoop& loop() { return loop_; }
  RedisSwarm& swarm() { return *swarm_; }

  absl::StatusOr<Answer> Announce(const swarm::AnnounceRequest& request,
                                  uint32_t capacity = 1000) {
    return AnnounceWith(*swarm_, loop_, request, capacity);
  }
  static absl::StatusOr<Answer> AnnounceWith(RedisSwarm& swarm, TestLoop& loop,
                                             const swarm::AnnounceRequest& request,
                                             uint32_t capacity = 1000) {
    // On the heap: a callback that comes after the test gave up must find it alive.
    struct State {
      bool answered = false;
      absl::StatusOr<Answer> result = absl::DeadlineExceededError("no answer");
    };
    auto state = std::make_shared<State>();
    swarm.Announce(request, [state, capacity](absl::StatusOr<RedisAnnounce> reply) {
      state->answered = true;
      if (!reply.ok()) {
        state->result = reply.status();
        return;
      }
      Answer answer;
      answer.status = reply->status;
      answer.counts = reply->counts;
      answer.prefix_evicted = reply->prefix_evicted;
      answer.stop_key_mismatch = reply->stop_key_mismatch;
      answer.completed_not_counted = reply->completed_not_counted;
      CollectingWriter writer{capacity, &answer};
      const uint32_t n = reply->WritePeers(writer);
      CHECK(n == answer.peers.size());
      state->result = answer;
    });
    loop.client().Flush();
    loop.RunUntil([&] { return state->answered; }, 30000);
    return state->result;
  }
  std::vector<SwarmCounts> Scrape(std::vector<InfoHash> hashes) {
    struct State {
      bool answered = false;
      absl::StatusOr<std::vector<SwarmCounts>> counts;
    };
    auto state = std::make_shared<State>();
    swarm_->Scrape(hashes, [state](absl::StatusOr<std::vector<SwarmCounts>> counts) {
      state->answered = true;
      state->counts = std::move(counts);
    });
    loop_.client().Flush();
    REQUIRE(loop_.RunUntil([&] { return state->answered; }, 30000));
    REQUIRE(state->counts.ok());
    return *state->counts;
  }
  // How many of the torrent's own keys exist right now.
  long long TorrentKeys(const InfoHash& hash) {
    const std::string base = TorrentKeyBase(swarm_->options().key_prefix, hash);
    auto n = loop_.Call(KeySlot(base), {"EXISTS", base + "s4", base + "l4", base + "s6",
                                        base + "l6", base + "d", base + "c"});
    REQUIRE(n.ok());
    return n->integer;
  }

 private:
  TestLoop loop_;
  std::unique_ptr<RedisSwarm> swarm_;
};

InfoHash Hash(uint8_t n) {
  std::array<uint8_t, kInfoHashSize> bytes;
  for (size_t i = 0; i < kInfoHashSize; ++i) bytes[i] = static_cast<uint8_t>(n + i);
  return InfoHash(bytes);
}

swarm::PeerIdBytes Id(uint8_t n) {
  swarm::PeerIdBytes id{};
  id.fill(n);
  return id;
}

Endpoint V4(uint8_t last, uint16_t port) { return Endpoint::V4({10, 0, 0, last}, port); }
Endpoint V6(uint8_t last, uint16_t port) {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x0d, 0xb8};
  a[15] = last;
  return Endpoint::V6(a, port);
}

swarm::AnnounceRequest Request(const InfoHash& hash, const Endpoint& endpoint,
                               uint64_t left = 100, AnnounceEvent event = AnnounceEvent::kNone,
                               uint32_t wanted = 50) {
  swarm::AnnounceRequest r;
  r.info_hash = hash;
  r.endpoint = endpoint;
  r.peer_id = PeerId(Id(static_cast<uint8_t>(endpoint.port)));
  r.left = left;
  r.event = event;
  r.peers_wanted = wanted;
  return r;
}

TEST_CASE("left == 0 is a seeder, anything else a leecher; counts include the requester") {
  Fixture f;
  auto a = f.Announce(Request(Hash(1), V4(1, 1000), 0));
  REQUIRE(a.ok());
  CHECK(a->status == AnnounceStatus::kOk);
  CHECK(a->counts == SwarmCounts{1, 0, 0});
  CHECK(a->peers.empty());
  auto b = f.Announce(Request(Hash(1), V4(2, 1001), 5));
  REQUIRE(b.ok());
  CHECK(b->counts == SwarmCounts{1, 1, 0});
  REQUIRE(b->peers.size() == 1);
  CHECK(b->peers[0] == V4(1, 1000));
  CHECK(b->ids[0] == Id(static_cast<uint8_t>(1000 & 0xFF)));
  CHECK(f.Scrape({Hash(1)})[0] == SwarmCounts{1, 1, 0});
}

TEST_CASE("Scrape of an unknown torrent is zeros and creates nothing") {
  Fixture f;
  CHECK(f.Scrape({Hash(9)})[0] == SwarmCounts{});
  CHECK(f.TorrentKeys(Hash(9)) == 0);
  CHECK(f.Scrape({}).empty());
}

TEST_CASE("stopped removes the peer, writes no peers, never creates a torrent") {
  Fixture f;
  auto none = f.Announce(Request(Hash(2), V4(1, 1000), 0, AnnounceEvent::kStopped));
  REQUIRE(none.ok());
  CHECK(none->counts == SwarmCounts{});
  CHECK(f.TorrentKeys(Hash(2)) == 0);
  REQUIRE(f.Announce(Request(Hash(2), V4(1, 1000), 0)).ok());
  REQUIRE(f.Announce(Request(Hash(2), V4(2, 1001), 5)).ok());
  auto stop = f.Announce(Request(Hash(2), V4(2, 1001), 5, AnnounceEvent::kStopped));
  REQUIRE(stop.ok());
  CHECK(stop->counts == SwarmCounts{1, 0, 0});
  CHECK(stop->peers.empty());
  CHECK(f.Scrape({Hash(2)})[0] == SwarmCounts{1, 0, 0});
}

TEST_CASE("completed counts once per peer entry, and once per address prefix per window") {
  Fixture f;
  auto first = f.Announce(Request(Hash(3), V4(1, 1000), 0, AnnounceEvent::kCompleted));
  REQUIRE(first.ok());
  CHECK(first->counts.completed == 1);
  CHECK_FALSE(first->completed_not_counted);
  // The same entry again: not counted twice.
  auto again = f.Announce(Request(Hash(3), V4(1, 1000), 0, AnnounceEvent::kCompleted));
  CHECK(again->counts.completed == 1);
  // stopped, then completed from the same address: a new entry, the same prefix.
  REQUIRE(f.Announce(Request(Hash(3), V4(1, 1000), 0, AnnounceEvent::kStopped)).ok());
  auto loop = f.Announce(Request(Hash(3), V4(1, 1000), 0, AnnounceEvent::kCompleted));
  CHECK(loop->counts.completed == 1);
  CHECK(loop->completed_not_counted);
  // Another address counts.
  auto other = f.Announce(Request(Hash(3), V4(2, 1000), 0, AnnounceEvent::kCompleted));
  CHECK(other->counts.completed == 2);
  // completed with bytes left counts and leaves a leecher.
  auto partial = f.Announce(Request(Hash(3), V4(3, 1000), 7, AnnounceEvent::kCompleted));
  CHECK(partial->counts == SwarmCounts{2, 1, 3});
}

TEST_CASE("another client reusing a peer id neither removes nor replaces an entry") {
  Fixture f;
  REQUIRE(f.Announce(Request(Hash(4), V4(1, 1000), 0)).ok());
  auto thief = Request(Hash(4), V4(2, 2000), 5, AnnounceEvent::kStopped);
  thief.peer_id = PeerId(Id(1000 & 0xFF));
  REQUIRE(f.Announce(thief).ok());
  CHECK(f.Scrape({Hash(4)})[0] == SwarmCounts{1, 0, 0});
  thief.event = AnnounceEvent::kNone;
  auto both = f.Announce(thief);
  CHECK(both->counts == SwarmCounts{1, 1, 0});
}

TEST_CASE("the same endpoint with a new peer id replaces the stored id") {
  Fixture f;
  REQUIRE(f.Announce(Request(Hash(5), V4(1, 1000), 0)).ok());
  auto restarted = Request(Hash(5), V4(1, 1000), 0);
  restarted.peer_id = PeerId(Id(0xEE));
  REQUIRE(f.Announce(restarted).ok());
  auto seen = f.Announce(Request(Hash(5), V4(2, 1001), 5));
  REQUIRE(seen->peers.size() == 1);
  CHECK(seen->ids[0] == Id(0xEE));
  CHECK(seen->counts == SwarmCounts{1, 1, 0});
}

TEST_CASE("IPv4 and IPv6 peers are kept apart; the counts are of both") {
  Fixture f;
  REQUIRE(f.Announce(Request(Hash(6), V4(1, 1000), 0)).ok());
  REQUIRE(f.Announce(Request(Hash(6), V6(1, 1000), 0)).ok());
  auto v6 = f.Announce(Request(Hash(6), V6(2, 1001), 5));
  REQUIRE(v6.ok());
  CHECK(v6->counts == SwarmCounts{2, 1, 0});
  REQUIRE(v6->peers.size() == 1);
  CHECK(v6->peers[0] == V6(1, 1000));
  auto v4 = f.Announce(Request(Hash(6), V4(2, 1001), 5));
  REQUIRE(v4->peers.size() == 1);
  CHECK(v4->peers[0] == V4(1, 1000));
  CHECK(v4->counts == SwarmCounts{2, 2, 0});
}

TEST_CASE("at most min(peers_wanted, max_response_peers, room) peers, distinct, never self") {
  RedisSwarmOptions options = Options();
  options.max_response_peers = 8;
  Fixture f(options);
  for (uint16_t i = 0; i < 20; ++i) {
    REQUIRE(f.Announce(Request(Hash(7), V4(static_cast<uint8_t>(i), 1000), i % 2)).ok());
  }
  const Endpoint me = V4(3, 1000);
  for (uint32_t wanted : {0u, 1u, 5u, 8u, 50u}) {
    auto a = f.Announce(Request(Hash(7), me, 1, AnnounceEvent::kNone, wanted));
    REQUIRE(a.ok());
    CHECK(a->peers.size() == std::min(wanted, 8u));
    std::set<std::pair<uint32_t, uint16_t>> distinct;
    for (const Endpoint& p : a->peers) {
      CHECK_FALSE(p == me);
      distinct.insert({p.address.bytes[3], p.port});
    }
    CHECK(distinct.size() == a->peers.size());
  }
  // The writer's room: fewer when it has less.
  auto small = f.Announce(Request(Hash(7), me, 1), 3);
  CHECK(small->peers.size() == 3);
}

TEST_CASE("a seeder gets leechers first, seeders only to fill up") {
  Fixture f;
  for (uint8_t i = 1; i <= 5; ++i) REQUIRE(f.Announce(Request(Hash(8), V4(i, 1000), 0)).ok());
  for (uint8_t i = 6; i <= 8; ++i) REQUIRE(f.Announce(Request(Hash(8), V4(i, 1000), 9)).ok());
  auto a = f.Announce(Request(Hash(8), V4(1, 1000), 0, AnnounceEvent::kNone, 3));
  REQUIRE(a->peers.size() == 3);
  for (const Endpoint& p : a->peers) CHECK(p.address.bytes[3] >= 6);  // all three leechers
  auto b = f.Announce(Request(Hash(8), V4(1, 1000), 0, AnnounceEvent::kNone, 5));
  REQUIRE(b->peers.size() == 5);
  int leechers = 0;
  for (const Endpoint& p : b->peers) {
    leechers += p.address.bytes[3] >= 6;
    CHECK(p.address.bytes[3] != 1);
  }
  CHECK(leechers == 3);
}

TEST_CASE("a leecher gets seeders and leechers alike, spread over the swarm") {
  Fixture f;
  for (uint8_t i = 1; i <= 20; ++i) {
    REQUIRE(f.Announce(Request(Hash(10), V4(i, 1000), i <= 10 ? 0 : 1)).ok());
  }
  std::map<uint8_t, int> seen;
  for (int round = 0; round < 40; ++round) {
    auto a = f.Announce(Request(Hash(10), V4(11, 1000), 1, AnnounceEvent::kNone, 4));
    REQUIRE(a->peers.size() == 4);
    for (const Endpoint& p : a->peers) ++seen[p.address.bytes[3]];
  }
  // 160 picks over 19 others (8.4 each on average): every one shows up (missing one by
  // chance: under 0.2%; the set's order once favoured the first members).
  std::string picked;
  for (const auto& [last, times] : seen) {
    picked += std::to_string(last) + "x" + std::to_string(times) + " ";
  }
  CAPTURE(picked);
  CHECK(seen.size() == 19);
  CHECK(seen.count(11) == 0);
}

TEST_CASE("stopped removes an entry with a key only when the key matches") {
  Fixture f;
  auto keyed = Request(Hash(11), V4(1, 1000), 0);
  keyed.key = 1234;
  REQUIRE(f.Announce(keyed).ok());
  auto wrong = keyed;
  wrong.event = AnnounceEvent::kStopped;
  wrong.key = 999;
  auto refused = f.Announce(wrong);
  CHECK(refused->stop_key_mismatch);
  CHECK(refused->counts == SwarmCounts{1, 0, 0});
  wrong.key.reset();
  CHECK(f.Announce(wrong)->stop_key_mismatch);  // no key at all is not the key either
  // A normal announce with a new key replaces it; the old key no longer stops it.
  auto rekeyed = keyed;
  rekeyed.key = 77;
  REQUIRE(f.Announce(rekeyed).ok());
  auto old_key = keyed;
  old_key.event = AnnounceEvent::kStopped;
  CHECK(f.Announce(old_key)->stop_key_mismatch);
  old_key.key = 77;
  auto stopped = f.Announce(old_key);
  CHECK_FALSE(stopped->stop_key_mismatch);
  CHECK(stopped->counts == SwarmCounts{0, 0, 0});
  // An entry made without a key is stopped by anyone at that endpoint.
  REQUIRE(f.Announce(Request(Hash(11), V4(2, 1000), 0)).ok());
  auto any = Request(Hash(11), V4(2, 1000), 0, AnnounceEvent::kStopped);
  any.key = 5;
  CHECK(f.Announce(any)->counts == SwarmCounts{0, 0, 0});
}

TEST_CASE("a prefix at its cap: the entry that announced least recently gives way") {
  RedisSwarmOptions options = Options();
  options.prefix_cap = 2;
  Fixture f(options);
  REQUIRE(f.Announce(Request(Hash(12), V4(1, 1001), 1)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // distinct expiry times
  REQUIRE(f.Announce(Request(Hash(12), V4(1, 1002), 1)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // 1001 re-announces: 1002 is now the least recent.
  REQUIRE(f.Announce(Request(Hash(12), V4(1, 1001), 1)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto third = f.Announce(Request(Hash(12), V4(1, 1003), 1));
  REQUIRE(third.ok());
  CHECK(third->prefix_evicted);
  CHECK(third->counts.leechers == 2);
  REQUIRE(third->peers.size() == 1);
  CHECK(third->peers[0] == V4(1, 1001));
  // Another address is another prefix.
  auto other = f.Announce(Request(Hash(12), V4(2, 1001), 1));
  CHECK_FALSE(other->prefix_evicted);
  CHECK(other->counts.leechers == 3);
}

TEST_CASE("the prefix cap groups by the configured prefix lengths, per family") {
  RedisSwarmOptions options = Options();
  options.prefix_cap = 1;
  options.prefix_bits_v4 = 24;
  options.prefix_bits_v6 = 64;
  Fixture f(options);
  REQUIRE(f.Announce(Request(Hash(13), V4(1, 1000), 1)).ok());
  CHECK(f.Announce(Request(Hash(13), V4(2, 1000), 1))->prefix_evicted);  // same /24
  REQUIRE(f.Announce(Request(Hash(13), V6(1, 1000), 1)).ok());
  auto same64 = f.Announce(Request(Hash(13), V6(2, 1000), 1));  // same /64
  CHECK(same64->prefix_evicted);
  CHECK(same64->counts.leechers == 2);  // one per family
  std::array<uint8_t, 16> far{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};  // another /64
  auto other64 = f.Announce(Request(Hash(13), Endpoint::V6(far, 1000), 1));
  CHECK_FALSE(other64->prefix_evicted);
  CHECK(other64->counts.leechers == 3);
}

// Another info hash in the same slot as `hash` (and so on the same node, sharing the
// slot's budget).
InfoHash HashInSameSlot(const InfoHash& hash, uint8_t salt) {
  const uint16_t slot = KeySlot(TorrentKeyBase("x", hash));
  std::array<uint8_t, kInfoHashSize> bytes{};
  std::memcpy(bytes.data(), hash.data(), kInfoHashSize);
  for (uint32_t i = 0;; ++i) {
    bytes[0] = salt;
    std::memcpy(bytes.data() + 1, &i, sizeof(i));
    const InfoHash other(bytes);
    if (KeySlot(TorrentKeyBase("x", other)) == slot && !(other == hash)) return other;
  }
}

TEST_CASE("a full slot refuses a new peer; a known peer re-announcing is accepted") {
  RedisSwarmOptions options = Options();
  options.max_peers_per_slot = 3;
  Fixture f(options);
  for (uint8_t i = 1; i <= 3; ++i) REQUIRE(f.Announce(Request(Hash(14), V4(i, 1000), 1)).ok());
  auto refused = f.Announce(Request(Hash(14), V4(4, 1000), 1));
  REQUIRE(refused.ok());
  CHECK(refused->status == AnnounceStatus::kFull);
  CHECK(refused->peers.empty());
  // A peer already there is updated and answered however full the slot is.
  auto known = f.Announce(Request(Hash(14), V4(1, 1000), 0));
  CHECK(known->status == AnnounceStatus::kOk);
  CHECK(known->counts == SwarmCounts{1, 2, 0});
  // The budget is the slot's: another torrent of the same slot is refused too.
  const InfoHash neighbour = HashInSameSlot(Hash(14), 0xAB);
  CHECK(f.Announce(Request(neighbour, V4(9, 1000), 1))->status == AnnounceStatus::kFull);
  REQUIRE(f.Announce(Request(Hash(14), V4(2, 1000), 1, AnnounceEvent::kStopped)).ok());
  CHECK(f.Announce(Request(neighbour, V4(9, 1000), 1))->status == AnnounceStatus::kOk);
  CHECK(f.Announce(Request(neighbour, V4(8, 1000), 1))->status == AnnounceStatus::kFull);
}

TEST_CASE("a full slot refuses a new torrent; its torrents keep working") {
  RedisSwarmOptions options = Options();
  options.max_torrents_per_slot = 1;
  Fixture f(options);
  REQUIRE(f.Announce(Request(Hash(15), V4(1, 1000), 1)).ok());
  const InfoHash neighbour = HashInSameSlot(Hash(15), 0xCD);
  auto refused = f.Announce(Request(neighbour, V4(1, 1000), 1));
  CHECK(refused->status == AnnounceStatus::kFull);
  CHECK(f.TorrentKeys(neighbour) == 0);
  CHECK(f.Announce(Request(Hash(15), V4(2, 1000), 1))->status == AnnounceStatus::kOk);
}

TEST_CASE("a full slot still lets a prefix at its cap replace its oldest entry") {
  RedisSwarmOptions options = Options();
  options.max_peers_per_slot = 2;
  options.prefix_cap = 2;
  Fixture f(options);
  REQUIRE(f.Announce(Request(Hash(16), V4(1, 1001), 1)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(f.Announce(Request(Hash(16), V4(1, 1002), 1)).ok());
  auto replaced = f.Announce(Request(Hash(16), V4(1, 1003), 1));
  CHECK(replaced->status == AnnounceStatus::kOk);
  CHECK(replaced->prefix_evicted);
  CHECK(replaced->counts.leechers == 2);
}

TEST_CASE("scrape of many hashes over every master: each hash its own counts") {
  Fixture f;
  std::vector<InfoHash> hashes;
  std::set<std::string> masters;
  for (uint8_t i = 0; i < 40; ++i) {
    InfoHash hash = Hash(static_cast<uint8_t>(100 + i));
    hashes.push_back(hash);
    masters.insert(f.loop().client().slot_map()->NodeFor(
        KeySlot(TorrentKeyBase(f.swarm().options().key_prefix, hash)))->ToString());
    for (uint8_t p = 0; p <= i % 4; ++p) {
      REQUIRE(f.Announce(Request(hash, V4(p, 1000), p % 2)).ok());
    }
  }
  CHECK(masters.size() == 3);  // the hashes are spread over all three masters
  hashes.push_back(Hash(250));  // unknown
  const auto counts = f.Scrape(hashes);
  REQUIRE(counts.size() == hashes.size());
  for (uint8_t i = 0; i < 40; ++i) {
    const uint32_t peers = i % 4 + 1u;
    CHECK(counts[i] == SwarmCounts{(peers + 1) / 2, peers / 2, 0});
  }
  CHECK(counts.back() == SwarmCounts{});
}

TEST_CASE("two instances (two clients) share one swarm") {
  Fixture a;
  TestLoop other_loop;
  REQUIRE(other_loop.WaitForSlotMap());
  auto b = RedisSwarm::Create(other_loop.client(), a.swarm().options(), 7);
  REQUIRE(b.ok());
  REQUIRE(a.Announce(Request(Hash(17), V4(1, 1000), 0)).ok());
  auto from_b = Fixture::AnnounceWith(**b, other_loop, Request(Hash(17), V4(2, 1001), 5));
  REQUIRE(from_b.ok());
  REQUIRE(from_b->peers.size() == 1);
  CHECK(from_b->peers[0] == V4(1, 1000));
  auto from_a = a.Announce(Request(Hash(17), V4(1, 1000), 0));
  REQUIRE(from_a->peers.size() == 1);
  CHECK(from_a->peers[0] == V4(2, 1001));
}

TEST_CASE("NOSCRIPT after a SCRIPT FLUSH: the script is sent again with EVAL") {
  Fixture f;
  REQUIRE(f.Announce(Request(Hash(18), V4(1, 1000), 0)).ok());
  for (const NodeAddress& master : testing::ClusterMasters()) {
    auto flushed = f.loop().CallNode(master, {"SCRIPT", "FLUSH"});
    REQUIRE(flushed.ok());
  }
  auto again = f.Announce(Request(Hash(18), V4(2, 1000), 1));
  REQUIRE(again.ok());
  CHECK(again->counts == SwarmCounts{1, 1, 0});
  CHECK(f.Scrape({Hash(18)})[0] == SwarmCounts{1, 1, 0});
}

TEST_CASE("a node at maxmemory: the announce is refused as full, nothing else breaks") {
  Fixture f;
  const std::string base = TorrentKeyBase(f.swarm().options().key_prefix, Hash(19));
  const NodeAddress master = *f.loop().client().slot_map()->NodeFor(KeySlot(base));
  REQUIRE(f.loop().CallNode(master, {"CONFIG", "SET", "maxmemory", "1"})->str == "OK");
  auto full = f.Announce(Request(Hash(19), V4(1, 1000), 0));
  REQUIRE(f.loop().CallNode(master, {"CONFIG", "SET", "maxmemory", "256mb"})->str == "OK");
  REQUIRE(full.ok());
  CHECK(full->status == AnnounceStatus::kFull);
  CHECK(f.Announce(Request(Hash(19), V4(1, 1000), 0))->status == AnnounceStatus::kOk);
}

TEST_CASE("entries expire by themselves: counted no more at once, keys gone after") {
  RedisSwarmOptions options = Options();
  options.peer_inactivity_timeout_s = 1;
  Fixture f(options);
  REQUIRE(f.Announce(Request(Hash(20), V4(1, 1000), 0, AnnounceEvent::kCompleted)).ok());
  REQUIRE(f.Announce(Request(Hash(20), V6(1, 1000), 3)).ok());
  CHECK(f.Scrape({Hash(20)})[0] == SwarmCounts{1, 1, 1});
  CHECK(f.TorrentKeys(Hash(20)) == 4);  // s4, l6, d, c
  // No announce, no cleaner: Redis drops the keys when their PEXPIRE is reached.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  CHECK(f.Scrape({Hash(20)})[0] == SwarmCounts{0, 0, 0});
  bool gone = f.loop().RunUntil([&] { return f.TorrentKeys(Hash(20)) == 0; }, 5000);
  CHECK(gone);
  // The slot's record forgets the torrent at the next announce there.
  auto fresh = f.Announce(Request(Hash(20), V4(2, 1000), 1));
  CHECK(fresh->counts == SwarmCounts{0, 1, 0});
  CHECK(fresh->peers.empty());
}

}  // namespace
}  // namespace reef::redis
