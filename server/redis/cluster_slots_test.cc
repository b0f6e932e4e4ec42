#include "server/redis/cluster_slots.h"

#include <string>

#include "doctest/doctest.h"
#include "server/redis/resp_for_test.h"

namespace reef::redis {
namespace {

using testing::ParseResp;

TEST_CASE("Crc16 is CRC16-XMODEM: the cluster spec's check value") {
  CHECK(Crc16("123456789") == 0x31C3);
  CHECK(Crc16("") == 0);
}

TEST_CASE("KeySlot matches the slots the Redis documentation gives") {
  CHECK(KeySlot("123456789") == 0x31C3 % 16384);
  CHECK(KeySlot("somekey") == 11058);       // CLUSTER KEYSLOT somekey
  CHECK(KeySlot("foo{hash_tag}") == 2515);  // CLUSTER KEYSLOT foo{hash_tag}
  CHECK(KeySlot("hash_tag") == 2515);
}

TEST_CASE("KeySlot follows the hash tag rules") {
  // The first '{' and the first '}' after it, with something in between.
  CHECK(KeySlot("{user1000}.following") == KeySlot("user1000"));
  CHECK(KeySlot("{user1000}.followers") == KeySlot("{user1000}.following"));
  CHECK(KeySlot("foo{bar}{zap}") == KeySlot("bar"));
  CHECK(KeySlot("foo{{bar}}zap") == KeySlot("{bar"));
  // "{}" is no tag: the whole key is hashed.
  CHECK(KeySlot("foo{}{bar}") == Crc16("foo{}{bar}") % 16384);
  // No closing brace: the whole key.
  CHECK(KeySlot("foo{bar") == Crc16("foo{bar") % 16384);
  // Binary bytes are hashed as they are.
  const std::string binary("\x00\xff{\x01\x02}", 6);
  CHECK(KeySlot(binary) == KeySlot(std::string("\x01\x02", 2)));
}

TEST_CASE("ParseNodeAddress takes numeric IPv4 and IPv6 with a port") {
  auto v4 = ParseNodeAddress("127.0.0.1:7000");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 7000);
  CHECK(v4->ToString() == "127.0.0.1:7000");
  auto v6 = ParseNodeAddress("::1:7001");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 7001);
  auto bracketed = ParseNodeAddress("[::1]:7002");
  REQUIRE(bracketed.ok());
  CHECK(bracketed->host == "::1");
  CHECK_FALSE(ParseNodeAddress("localhost:7000").ok());  // no name lookups
  CHECK_FALSE(ParseNodeAddress("127.0.0.1").ok());
  CHECK_FALSE(ParseNodeAddress("127.0.0.1:0").ok());
  CHECK_FALSE(ParseNodeAddress("127.0.0.1:65536").ok());
  CHECK_FALSE(ParseNodeAddress("127.0.0.1:x").ok());
}

// Two masters, each with one replica, as `CLUSTER SLOTS` answers it (Redis 7).
constexpr std::string_view kTwoMasters =
    "*2\r\n"
    "*4\r\n:0\r\n:8191\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7000\r\n$4\r\naaaa\r\n*0\r\n"
    "*4\r\n$9\r\n127.0.0.1\r\n:7003\r\n$4\r\ndddd\r\n*0\r\n"
    "*3\r\n:8192\r\n:16383\r\n"
    "*3\r\n$0\r\n\r\n:7001\r\n$4\r\nbbbb\r\n";

TEST_CASE("SlotMap from CLUSTER SLOTS: every slot to its master, replicas ignored") {
  auto reply = ParseResp(kTwoMasters);
  REQUIRE(reply != nullptr);
  auto map = SlotMap::FromClusterSlots(*reply, "10.0.0.9");
  REQUIRE(map.ok());
  CHECK(map->covered_slots() == kSlotCount);
  CHECK(map->nodes().size() == 2);
  CHECK(map->NodeFor(0)->ToString() == "127.0.0.1:7000");
  CHECK(map->NodeFor(8191)->ToString() == "127.0.0.1:7000");
  // An empty host means the node that was asked.
  CHECK(map->NodeFor(8192)->ToString() == "10.0.0.9:7001");
  CHECK(map->NodeFor(16383)->ToString() == "10.0.0.9:7001");
  CHECK(map->NodeFor(16384) == nullptr);
}

TEST_CASE("SlotMap: a MOVED slot is assigned alone; uncovered slots have no node") {
  auto reply = ParseResp(
      "*1\r\n*3\r\n:100\r\n:199\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n");
  REQUIRE(reply != nullptr);
  auto map = SlotMap::FromClusterSlots(*reply, "127.0.0.1");
  REQUIRE(map.ok());
  CHECK(map->covered_slots() == 100);
  CHECK(map->NodeFor(99) == nullptr);
  CHECK(map->NodeFor(200) == nullptr);
  map->Assign(150, NodeAddress{"127.0.0.1", 7005});
  CHECK(map->NodeFor(150)->port == 7005);
  CHECK(map->NodeFor(149)->port == 7000);
  CHECK(map->NodeFor(151)->port == 7000);
  CHECK(map->nodes().size() == 2);
}

TEST_CASE("SlotMap refuses replies of another shape") {
  const char* bad[] = {
      "+OK\r\n",                                                        // not an array
      "*1\r\n:5\r\n",                                                   // entry not array
      "*1\r\n*2\r\n:0\r\n:5\r\n",                                       // no master
      "*1\r\n*3\r\n:5\r\n:4\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n",     // start > end
      "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n", // past the slots
      "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$9\r\n127.0.0.1\r\n:0\r\n",        // port 0
      "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$4\r\nhost\r\n:7000\r\n",          // not numeric
      "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:7000\r\n",                  // host not a string
  };
  for (const char* resp : bad) {
    CAPTURE(resp);
    auto reply = ParseResp(resp);
    REQUIRE(reply != nullptr);
    CHECK_FALSE(SlotMap::FromClusterSlots(*reply, "127.0.0.1").ok());
  }
}

TEST_CASE("SlotMap holds at most kMaxNodes masters") {
  std::string resp = "*" + std::to_string(SlotMap::kMaxNodes + 1) + "\r\n";
  for (size_t i = 0; i <= SlotMap::kMaxNodes; ++i) {
    resp += "*3\r\n:" + std::to_string(i) + "\r\n:" + std::to_string(i) +
            "\r\n*2\r\n$9\r\n127.0.0.1\r\n:" + std::to_string(1000 + i) + "\r\n";
  }
  auto reply = ParseResp(resp);
  REQUIRE(reply != nullptr);
  CHECK_FALSE(SlotMap::FromClusterSlots(*reply, "127.0.0.1").ok());
  // One fewer fits.
  reply->elements = SlotMap::kMaxNodes;
  auto map = SlotMap::FromClusterSlots(*reply, "127.0.0.1");
  REQUIRE(map.ok());
  CHECK(map->nodes().size() == SlotMap::kMaxNodes);
  reply->elements = SlotMap::kMaxNodes + 1;  // so every element is freed
}

TEST_CASE("ParseRedirect reads MOVED and ASK, nothing else") {
  auto moved = ParseRedirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved.has_value());
  CHECK(moved->kind == Redirect::Kind::kMoved);
  CHECK(moved->slot == 3999);
  CHECK(moved->target.ToString() == "127.0.0.1:6381");
  auto ask = ParseRedirect("ASK 12182 ::1:7002");
  REQUIRE(ask.has_value());
  CHECK(ask->kind == Redirect::Kind::kAsk);
  CHECK(ask->slot == 12182);
  CHECK(ask->target.host == "::1");
  CHECK_FALSE(ParseRedirect("MOVED 16384 127.0.0.1:6381").has_value());
  CHECK_FALSE(ParseRedirect("MOVED 1").has_value());
  CHECK_FALSE(ParseRedirect("MOVED x 127.0.0.1:1").has_value());
  CHECK_FALSE(ParseRedirect("CLUSTERDOWN The cluster is down").has_value());
  CHECK_FALSE(ParseRedirect("NOSCRIPT No matching script").has_value());
}

}  // namespace
}  // namespace reef::redis
