// ClusterClient against a real Redis Cluster (3 masters, 3 replicas) that
// tests/redis_cluster.py starts: routing, pipelining, MOVED and ASK, timeouts, a node
// down. The last case shuts a master down; doctest runs the cases in file order.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "doctest/doctest.h"
#include "server/redis/cluster_client.h"
#include "server/redis/cluster_test_util.h"

namespace reef::redis {
namespace {

using testing::ClusterMasters;
using testing::KeyServedBy;
using testing::Reply;
using testing::TestLoop;

std::string NodeId(TestLoop& loop, const NodeAddress& node) {
  auto id = loop.CallNode(node, {"CLUSTER", "MYID"});
  REQUIRE(id.ok());
  return id->str;
}

TEST_CASE("KeySlot agrees with CLUSTER KEYSLOT") {
  TestLoop loop;
  const NodeAddress master = ClusterMasters()[0];
  std::mt19937 rng(7);
  std::vector<std::string> keys = {"somekey", "foo{hash_tag}", "{user1000}.following",
                                   "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{}",
                                   "}{", "{a"};
  const std::string alphabet = "ab{}\x01\xff:";
  for (int i = 0; i < 300; ++i) {
    std::string key(1 + rng() % 12, 'x');
    for (char& c : key) c = alphabet[rng() % alphabet.size()];
    keys.push_back(key);
  }
  for (const std::string& key : keys) {
    auto slot = loop.CallNode(master, {"CLUSTER", "KEYSLOT", key});
    REQUIRE(slot.ok());
    CHECK_MESSAGE(slot->integer == KeySlot(key), key);
  }
}

TEST_CASE("the slot map names the three masters and covers every slot") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  const SlotMap& map = *loop.client().slot_map();
  CHECK(map.covered_slots() == kSlotCount);
  CHECK(map.nodes().size() == 3);
  for (const NodeAddress& master : ClusterMasters()) {
    CHECK(std::find(map.nodes().begin(), map.nodes().end(), master) != map.nodes().end());
  }
}

TEST_CASE("a command goes to the master serving its slot, each master in turn") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  for (const NodeAddress& master : ClusterMasters()) {
    const std::string key = KeyServedBy(*loop.client().slot_map(), master, "route:");
    auto set = loop.Call(KeySlot(key), {"SET", key, master.ToString()});
    REQUIRE(set.ok());
    CHECK(set->str == "OK");
    // The master itself holds it: asked directly, without routing.
    auto get = loop.CallNode(master, {"GET", key});
    REQUIRE(get.ok());
    CHECK(get->str == master.ToString());
  }
  CHECK(loop.client().stats().moved == 0);
}

TEST_CASE("a pipeline of 3000 commands over three masters: every reply to its request") {
  constexpr int kKeys = 30;
  constexpr int kRounds = 100;
  // Before the loop, so they outlive the client and any callback it still calls.
  std::vector<std::vector<long long>> seen(kKeys);
  int answered = 0;
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  for (int round = 0; round < kRounds; ++round) {
    for (int k = 0; k < kKeys; ++k) {
      const std::string key = "pipeline:" + std::to_string(k);
      loop.client().Command(
          KeySlot(key), FormatCommand({"INCR", key}),
          [&seen, &answered, k](absl::StatusOr<const redisReply*> reply) {
            ++answered;
            CHECK(reply.ok());
            if (reply.ok()) seen[static_cast<size_t>(k)].push_back((*reply)->integer);
          });
    }
  }
  CHECK(loop.client().pending() == kKeys * kRounds);
  loop.client().Flush();
  REQUIRE(loop.RunUntil([&] { return answered == kKeys * kRounds; }));
  for (const auto& values : seen) {
    REQUIRE(values.size() == kRounds);
    for (int i = 0; i < kRounds; ++i) CHECK(values[static_cast<size_t>(i)] == i + 1);
  }
  CHECK(loop.client().pending() == 0);
}

TEST_CASE("a command sent to the wrong node follows MOVED") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  const auto masters = ClusterMasters();
  const std::string key = KeyServedBy(*loop.client().slot_map(), masters[1], "moved:");
  const std::string elsewhere = KeyServedBy(*loop.client().slot_map(), masters[0], "other:");
  // The slot of a key on masters[0]: the command lands there and is told MOVED.
  auto set = loop.Call(KeySlot(elsewhere), {"SET", key, "v"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
  CHECK(loop.client().stats().moved == 1);
  auto get = loop.CallNode(masters[1], {"GET", key});
  REQUIRE(get.ok());
  CHECK(get->str == "v");
}

// A key of a slot that `master` serves and that holds no key yet, so the slot can be moved.
std::string KeyOfEmptySlot(TestLoop& loop, const NodeAddress& master, std::string_view prefix) {
  for (int n = 0; n < 100000; ++n) {
    const std::string key = std::string(prefix) + std::to_string(n);
    if (*loop.client().slot_map()->NodeFor(KeySlot(key)) != master) continue;
    auto count = loop.CallNode(master, {"CLUSTER", "COUNTKEYSINSLOT",
                                        std::to_string(KeySlot(key))});
    REQUIRE(count.ok());
    if (count->integer == 0) return key;
  }
  FAIL("no empty slot on " << master.ToString());
  return "";
}

// Moves empty slot `slot` to `to` on every master, the new owner first (the cluster
// spec's last step of a resharding).
void AssignSlot(TestLoop& loop, uint16_t slot, const NodeAddress& to) {
  const std::string id = NodeId(loop, to);
  auto masters = ClusterMasters();
  std::stable_partition(masters.begin(), masters.end(),
                        [&](const NodeAddress& m) { return m == to; });
  for (const NodeAddress& master : masters) {
    auto ok = loop.CallNode(master, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id});
    REQUIRE(ok.ok());
    CHECK_MESSAGE(ok->str == "OK", ok->str);
  }
}

TEST_CASE("after one slot moves to another master: MOVED, then the refreshed map") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  const auto masters = ClusterMasters();
  const std::string key = KeyOfEmptySlot(loop, masters[0], "reshard:");
  const uint16_t slot = KeySlot(key);
  AssignSlot(loop, slot, masters[2]);
  auto set = loop.Call(slot, {"SET", key, "moved"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
  CHECK(loop.client().stats().moved == 1);
  // The map is fetched again: every node agrees on the new owner by then, or soon.
  REQUIRE(loop.RunUntil([&] {
    return loop.client().stats().slot_map_refreshes >= 2 &&
           *loop.client().slot_map()->NodeFor(slot) == masters[2];
  }));
  auto get = loop.CallNode(masters[2], {"GET", key});
  REQUIRE(get.ok());
  CHECK(get->str == "moved");
  // Put it back (the slot must be empty to move).
  REQUIRE(loop.CallNode(masters[2], {"DEL", key}).ok());
  AssignSlot(loop, slot, masters[0]);
}

TEST_CASE("a slot being migrated: ASK, then ASKING and the command on the importing node") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  const auto masters = ClusterMasters();
  const std::string key = KeyOfEmptySlot(loop, masters[0], "asking:");
  const std::string slot = std::to_string(KeySlot(key));
  const std::string from_id = NodeId(loop, masters[0]);
  const std::string to_id = NodeId(loop, masters[1]);
  REQUIRE(loop.CallNode(masters[1], {"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id})->str ==
          "OK");
  REQUIRE(loop.CallNode(masters[0], {"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id})->str ==
          "OK");
  // The key is not on masters[0], so it answers ASK; only after ASKING does masters[1]
  // take a command for a slot it does not own yet.
  auto set = loop.Call(KeySlot(key), {"SET", key, "asked"});
  REQUIRE(set.ok());
  CHECK(set->str == "OK");
  CHECK(loop.client().stats().asked == 1);
  CHECK(loop.client().stats().moved == 0);
  // The map still names masters[0]: an ASK changes nothing.
  CHECK(*loop.client().slot_map()->NodeFor(KeySlot(key)) == masters[0]);
  auto direct = loop.CallNode(masters[1], {"GET", key});
  REQUIRE(direct.ok());
  CHECK(direct->is_error());  // not without ASKING: MOVED back to the owner
  // Undo: delete the key over ASKING, then both nodes stable again.
  REQUIRE(loop.Call(KeySlot(key), {"DEL", key}).ok());
  REQUIRE(loop.CallNode(masters[0], {"CLUSTER", "SETSLOT", slot, "STABLE"})->str == "OK");
  REQUIRE(loop.CallNode(masters[1], {"CLUSTER", "SETSLOT", slot, "STABLE"})->str == "OK");
}

TEST_CASE("a node that does not answer: the request times out, the next ones succeed") {
  auto options = testing::DefaultTestOptions();
  options.request_timeout_ms = 1500;
  TestLoop loop(options);
  REQUIRE(loop.WaitForSlotMap());
  const NodeAddress master = ClusterMasters()[1];
  const std::string key = KeyServedBy(*loop.client().slot_map(), master, "timeout:");
  REQUIRE(loop.Call(KeySlot(key), {"SET", key, "1"}).ok());
  auto paused = loop.CallNode(master, {"CLIENT", "PAUSE", "5000", "ALL"});
  REQUIRE(paused.ok());
  REQUIRE(paused->str == "OK");
  auto late = loop.Call(KeySlot(key), {"GET", key});
  REQUIRE_FALSE(late.ok());
  CHECK(absl::IsUnavailable(late.status()));
  CHECK(std::string(late.status().message()).starts_with(kUnavailable));
  CHECK(loop.client().stats().timeouts == 1);
  // Other masters are still served meanwhile.
  const std::string other = KeyServedBy(*loop.client().slot_map(), ClusterMasters()[0], "t:");
  CHECK(loop.Call(KeySlot(other), {"SET", other, "x"}).ok());
  // Once the pause is over, the node is reconnected to and answers.
  bool recovered = false;
  loop.RunUntil(
      [&] {
        auto get = loop.Call(KeySlot(key), {"GET", key});
        recovered = get.ok() && get->str == "1";
        return recovered;
      },
      20000);
  CHECK(recovered);
}

TEST_CASE("max_pending: one request past it is refused at once") {
  std::vector<absl::Status> results;  // outlives the client and its callbacks
  auto options = testing::DefaultTestOptions();
  options.max_pending = 2;
  TestLoop loop(options);
  REQUIRE(loop.WaitForSlotMap());
  for (int i = 0; i < 3; ++i) {
    loop.client().Command(KeySlot("limit"), FormatCommand({"GET", "limit"}),
                          [&](absl::StatusOr<const redisReply*> r) {
                            results.push_back(r.status());
                          });
  }
  REQUIRE(results.size() == 1);  // the third, before Command returned
  CHECK(absl::IsResourceExhausted(results[0]));
  loop.client().Flush();
  REQUIRE(loop.RunUntil([&] { return results.size() == 3; }));
  CHECK(results[1].ok());
  CHECK(results[2].ok());
  CHECK(loop.client().stats().refused == 1);
}

TEST_CASE("a dead seed is skipped: the map comes from the next one") {
  auto options = testing::DefaultTestOptions();
  options.seeds.insert(options.seeds.begin(), NodeAddress{"127.0.0.1", 1});  // nothing there
  TestLoop loop(options);
  REQUIRE(loop.WaitForSlotMap());
  CHECK(loop.Call(KeySlot("seed"), {"SET", "seed", "1"}).ok());
}

// Last: this one leaves the cluster with a master down.
TEST_CASE("a master killed: clear errors for its slots, others served, then failover") {
  TestLoop loop;
  REQUIRE(loop.WaitForSlotMap());
  const auto masters = ClusterMasters();
  const NodeAddress victim = masters[2];
  const std::string key = KeyServedBy(*loop.client().slot_map(), victim, "failover:");
  const std::string other = KeyServedBy(*loop.client().slot_map(), masters[0], "alive:");
  REQUIRE(loop.Call(KeySlot(key), {"SET", key, "kept"}).ok());
  // Let the replica receive it (WAIT: one replica acknowledged, within 1 s).
  auto acked = loop.CallNode(victim, {"WAIT", "1", "1000"});
  REQUIRE_MESSAGE(acked.ok(), acked.status().ToString());
  CHECK(acked->integer == 1);
  testing::KillNode(victim);
  const auto down_at = std::chrono::steady_clock::now();
  auto refused = loop.Call(KeySlot(key), {"GET", key});
  REQUIRE_FALSE(refused.ok());
  CHECK(absl::IsUnavailable(refused.status()));
  CHECK(std::string(refused.status().message()).starts_with(kUnavailable));
  CHECK(loop.Call(KeySlot(other), {"SET", other, "1"}).ok());
  // The replica takes over (cluster-node-timeout 3 s); the client finds it by refreshing
  // the map after the lost connection. Each attempt is a clear error until then.
  std::string value;
  const bool recovered = loop.RunUntil(
      [&] {
        auto get = loop.Call(KeySlot(key), {"GET", key});
        if (get.ok()) {
          value = get->str;
          return true;
        }
        CHECK(absl::IsUnavailable(get.status()));
        return false;
      },
      60000);
  REQUIRE(recovered);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - down_at).count();
  std::printf("failover: %s's slots answered again %.1f s after it went down\n",
              victim.ToString().c_str(), seconds);
  CHECK(value == "kept");  // acknowledged by the replica before the failure: not lost
  CHECK_FALSE(*loop.client().slot_map()->NodeFor(KeySlot(key)) == victim);
}

}  // namespace
}  // namespace reef::redis
