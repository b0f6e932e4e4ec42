// The parts of the Redis swarm backend that need no cluster: options, key names, slot
// tags, script hashes, and RedisAnnounce::WritePeers. Against a real cluster:
// redis_swarm_cluster_test.cc.
#include "server/redis/redis_swarm.h"

#include <string>

#include "doctest/doctest.h"
#include "server/redis/swarm_scripts.h"

namespace reef::redis {
namespace {

TEST_CASE("ValidateRedisSwarmOptions: each limit at it and just past it") {
  CHECK(ValidateRedisSwarmOptions({}).ok());
  auto check = [](auto change, bool ok) {
    RedisSwarmOptions options;
    change(options);
    CHECK(ValidateRedisSwarmOptions(options).ok() == ok);
  };
  check([](RedisSwarmOptions& o) { o.key_prefix = ""; }, false);
  check([](RedisSwarmOptions& o) { o.key_prefix = std::string(kMaxKeyPrefixBytes, 'k'); },
        true);
  check([](RedisSwarmOptions& o) { o.key_prefix = std::string(kMaxKeyPrefixBytes + 1, 'k'); },
        false);
  check([](RedisSwarmOptions& o) { o.key_prefix = "a{b"; }, false);
  check([](RedisSwarmOptions& o) { o.key_prefix = "a}b"; }, false);
  check([](RedisSwarmOptions& o) { o.max_response_peers = swarm::kMaxResponsePeersLimit; },
        true);
  check([](RedisSwarmOptions& o) {
    o.max_response_peers = swarm::kMaxResponsePeersLimit + 1;
  }, false);
  check([](RedisSwarmOptions& o) { o.peer_inactivity_timeout_s = 0; }, false);
  check([](RedisSwarmOptions& o) { o.prefix_bits_v4 = 33; }, false);
  check([](RedisSwarmOptions& o) { o.prefix_bits_v6 = 129; }, false);
  check([](RedisSwarmOptions& o) { o.completed_window_s = 0; }, false);
  check([](RedisSwarmOptions& o) { o.max_peers_per_slot = 0; }, false);
  check([](RedisSwarmOptions& o) { o.max_peers_per_slot = swarm::kMaxPeersLimit; }, true);
  check([](RedisSwarmOptions& o) { o.max_peers_per_slot = swarm::kMaxPeersLimit + 1; }, false);
  check([](RedisSwarmOptions& o) { o.max_torrents_per_slot = 0; }, false);
  check([](RedisSwarmOptions& o) {
    o.max_torrents_per_slot = swarm::kMaxTorrentsLimit + 1;
  }, false);
  check([](RedisSwarmOptions& o) { o.trim_per_call = 0; }, false);
  check([](RedisSwarmOptions& o) { o.trim_per_call = kMaxTrimPerCall; }, true);
  check([](RedisSwarmOptions& o) { o.trim_per_call = kMaxTrimPerCall + 1; }, false);
}

TEST_CASE("a torrent's keys share the info hash's hex as their hash tag") {
  std::array<uint8_t, kInfoHashSize> bytes{};
  bytes[0] = 0xAB;
  bytes[19] = 0x01;
  const std::string base = TorrentKeyBase("reef", InfoHash(bytes));
  CHECK(base == "reef:{ab00000000000000000000000000000000000001}:");
  CHECK(KeySlot(base + "s4") == KeySlot("ab00000000000000000000000000000000000001"));
  CHECK(KeySlot(base + "d") == KeySlot(base + "c"));
}

TEST_CASE("SlotTag gives a tag of every slot, in that slot") {
  for (uint32_t slot = 0; slot < kSlotCount; ++slot) {
    const std::string& tag = SlotTag(static_cast<uint16_t>(slot));
    REQUIRE(!tag.empty());
    REQUIRE(KeySlot("p:{" + tag + "}:t") == slot);
  }
}

TEST_CASE("ScriptSha1 is the hex SHA-1 that EVALSHA names a script by") {
  CHECK(ScriptSha1("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(ScriptSha1("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(ScriptSha1(kAnnounceScript) != ScriptSha1(kScrapeScript));
}

TEST_CASE("WritePeers: Begin with the counts and how many fit, then each peer") {
  // Two IPv4 peers as the script returns them.
  const std::string peers("\x0a\x00\x00\x01\x1f\x90\x0a\x00\x00\x02\x1f\x91", 12);
  const std::string ids = std::string(20, 'a') + std::string(20, 'b');
  RedisAnnounce announce;
  announce.family = AddressFamily::kV4;
  announce.counts = {1, 2, 3};
  announce.peer_count = 2;
  announce.peers = peers;
  announce.peer_ids = ids;
  uint8_t out[12] = {};
  swarm::CompactPeerWriter all(out);
  CHECK(announce.WritePeers(all) == 2);
  CHECK(all.bytes_written() == 12);
  CHECK(std::string(reinterpret_cast<char*>(out), 12) == peers);
  // Room for one: one.
  uint8_t one[6] = {};
  swarm::CompactPeerWriter small(one);
  CHECK(announce.WritePeers(small) == 1);
  Endpoint endpoints[2];
  swarm::EndpointWriter writer(endpoints);
  CHECK(announce.WritePeers(writer) == 2);
  CHECK(endpoints[1] == Endpoint::V4({10, 0, 0, 2}, 8081));
  swarm::PeerRecord records[2];
  swarm::RecordWriter record_writer(records);
  CHECK(announce.WritePeers(record_writer) == 2);
  CHECK(records[1].peer_id.data()[0] == 'b');
}

}  // namespace
}  // namespace reef::redis
