#include "server/udp/connection_id.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>

#include "server/common/socket_address.h"
#include "testing/alloc_counter.h"

namespace reef::udp {
namespace {

constexpr int64_t kNow = 1795660000;  // 2026-11-26, wall clock

IpAddress V4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddress::V4({a, b, c, d}); }

ConnectionIds TestIds(uint8_t seed = 1) {
  SipHashKey key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed * 31 + i);
  return ConnectionIds(key);
}

TEST_CASE("an id is valid for the address it was minted for, and no other") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(127, 0, 0, 1);
  const uint64_t id = ids.Mint(client, kNow);
  CHECK(ids.Valid(id, client, kNow));
  CHECK_FALSE(ids.Valid(id, V4(127, 0, 0, 2), kNow));
  CHECK_FALSE(ids.Valid(id, V4(10, 0, 0, 1), kNow));
}

TEST_CASE("an id lives at least two minutes and at most 144 seconds") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(192, 0, 2, 7);
  // Mint at the very end of a tick: the shortest life an id can have.
  const int64_t minted = (kNow / 16) * 16 + 15;
  const uint64_t id = ids.Mint(client, minted);
  CHECK(ids.Valid(id, client, minted + 120));  // BEP 15: accept for two minutes
  CHECK(ids.Valid(id, client, minted + 128));  // 8 ticks later: still the last valid tick
  CHECK_FALSE(ids.Valid(id, client, minted + 129));  // 9 ticks: expired
  // Minted at the start of a tick: the longest life, 144 s.
  const int64_t early = (kNow / 16) * 16;
  const uint64_t id2 = ids.Mint(client, early);
  CHECK(ids.Valid(id2, client, early + 143));
  CHECK_FALSE(ids.Valid(id2, client, early + 144));
}

TEST_CASE("one tick of clock skew into the future is accepted, two are not") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(198, 51, 100, 1);
  const int64_t start = (kNow / 16) * 16;
  const uint64_t id = ids.Mint(client, start + 16);  // minted by a host 1 tick ahead
  CHECK(ids.Valid(id, client, start));
  const uint64_t id2 = ids.Mint(client, start + 32);  // 2 ticks ahead
  CHECK_FALSE(ids.Valid(id2, client, start));
}

TEST_CASE("validity survives the 16-bit tick wrapping around") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(203, 0, 113, 9);
  // The last tick before the counter wraps to 0.
  const int64_t before_wrap = (int64_t{65535} + 65536 * 1000) * 16;
  const uint64_t id = ids.Mint(client, before_wrap);
  CHECK((id >> 48) == 65535);
  CHECK(ids.Valid(id, client, before_wrap + 16 * 3));
  CHECK_FALSE(ids.Valid(id, client, before_wrap + 16 * 9));
}

// One wrap of the 16-bit tick: 65,536 ticks of 16 s, a little over 12 days.
constexpr int64_t kWrapSeconds = int64_t{65536} * ConnectionIds::kTickSeconds;

TEST_CASE("an id is refused one wrap of the 16-bit tick later, and every wrap after") {
  // The wire keeps only 16 bits of the tick; the MAC covers all 64, so an id minted at T
  // is not valid again at T + 65,536 ticks (where its 16 wire bits come round again).
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(192, 0, 2, 44);
  const int64_t minted = (kNow / 16) * 16;
  const uint64_t id = ids.Mint(client, minted);
  REQUIRE(ids.Valid(id, client, minted));
  for (int64_t wraps : {1, 2, 3, 1000}) {
    CAPTURE(wraps);
    for (int64_t offset = -16; offset <= 143; ++offset) {
      CAPTURE(offset);
      CHECK_FALSE(ids.Valid(id, client, minted + wraps * kWrapSeconds + offset));
      CHECK_FALSE(ids.Valid(id, client, minted - wraps * kWrapSeconds + offset));
    }
  }
  // A fixed connection_id_secret gives the same key after a restart: still refused.
  ConnectionIds restarted = TestIds();
  CHECK_FALSE(restarted.Valid(id, client, minted + kWrapSeconds));
  CHECK(restarted.Valid(id, client, minted + 100));
}

TEST_CASE("across the wrap of the 16-bit tick, an id lives its full life, no more") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(198, 51, 100, 77);
  // Every tick from 9 before a wrap to 9 after it: minted there, valid for 8 ticks after
  // and 1 before, refused outside that, whichever side of the wrap each lies on.
  const int64_t wrap_tick = int64_t{65536} * 27000;  // a multiple of 65,536
  for (int64_t mint_tick = wrap_tick - 9; mint_tick <= wrap_tick + 9; ++mint_tick) {
    CAPTURE(mint_tick - wrap_tick);
    const uint64_t id = ids.Mint(client, mint_tick * 16 + 5);
    CHECK((id >> 48) == static_cast<uint64_t>(mint_tick & 0xffff));
    for (int64_t check_tick = mint_tick - 3; check_tick <= mint_tick + 11; ++check_tick) {
      CAPTURE(check_tick - mint_tick);
      const bool expected = check_tick - mint_tick >= -1 && check_tick - mint_tick <= 8;
      CHECK(ids.Valid(id, client, check_tick * 16) == expected);
      CHECK(ids.Valid(id, client, check_tick * 16 + 15) == expected);
    }
  }
}

TEST_CASE("one tick of future tolerance also holds across the wrap") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(203, 0, 113, 200);
  const int64_t first_of_wrap = int64_t{65536} * 27001 * 16;  // 16-bit tick 0
  // A host one tick ahead minted at tick 0 of the new wrap; we are still at 65535.
  const uint64_t id = ids.Mint(client, first_of_wrap);
  CHECK((id >> 48) == 0);
  CHECK(ids.Valid(id, client, first_of_wrap - 16));
  CHECK_FALSE(ids.Valid(id, client, first_of_wrap - 32));
  // And that id is not valid one wrap earlier or later either.
  CHECK_FALSE(ids.Valid(id, client, first_of_wrap - 16 - kWrapSeconds));
  CHECK_FALSE(ids.Valid(id, client, first_of_wrap - 16 + kWrapSeconds));
}

TEST_CASE("another key, or any flipped bit, makes an id invalid") {
  ConnectionIds ids = TestIds(1);
  ConnectionIds other = TestIds(2);
  const IpAddress client = V4(127, 0, 0, 1);
  const uint64_t id = ids.Mint(client, kNow);
  CHECK_FALSE(other.Valid(id, client, kNow));
  for (int bit = 0; bit < 64; ++bit) {
    CAPTURE(bit);
    CHECK_FALSE(ids.Valid(id ^ (uint64_t{1} << bit), client, kNow));
  }
}

TEST_CASE("random ids are refused") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(127, 0, 0, 1);
  std::mt19937_64 rng(42);
  int accepted = 0;
  for (int i = 0; i < 100000; ++i) accepted += ids.Valid(rng(), client, kNow) ? 1 : 0;
  CHECK(accepted == 0);
}

TEST_CASE("a shared secret gives every instance the same ids") {
  auto a = ConnectionIds::WithSecret("correct horse battery staple").value();
  auto b = ConnectionIds::WithSecret("correct horse battery staple").value();
  auto c = ConnectionIds::WithSecret("correct horse battery stapler").value();
  const IpAddress client = V4(127, 0, 0, 1);
  const uint64_t id = a.Mint(client, kNow);
  CHECK(b.Valid(id, client, kNow));
  CHECK_FALSE(c.Valid(id, client, kNow));
  auto random1 = ConnectionIds::WithRandomKey().value();
  auto random2 = ConnectionIds::WithRandomKey().value();
  CHECK_FALSE(random2.Valid(random1.Mint(client, kNow), client, kNow));
}

TEST_CASE("IPv6, and IPv4-mapped IPv6 counts as the IPv4 address") {
  ConnectionIds ids = TestIds();
  std::array<uint8_t, 16> loopback6{};
  loopback6[15] = 1;
  const IpAddress v6 = IpAddress::V6(loopback6);
  const uint64_t id6 = ids.Mint(v6, kNow);
  CHECK(ids.Valid(id6, v6, kNow));
  CHECK_FALSE(ids.Valid(id6, V4(127, 0, 0, 1), kNow));

  // A dual-stack socket reports an IPv4 client as ::ffff:127.0.0.1; the address the
  // worker takes from it (ClientEndpoint) is the IPv4 one, so the ids match.
  std::array<uint8_t, 16> mapped{};
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  mapped[12] = 127;
  mapped[15] = 1;
  sockaddr_storage storage{};
  auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
  in6.sin6_family = AF_INET6;
  std::memcpy(&in6.sin6_addr, mapped.data(), 16);
  const std::optional<Endpoint> from_socket = ClientEndpoint(storage);
  REQUIRE(from_socket.has_value());
  CHECK(from_socket->address.is_v4());
  CHECK(ids.Valid(ids.Mint(V4(127, 0, 0, 1), kNow), from_socket->address, kNow));
  CHECK(ids.Valid(ids.Mint(from_socket->address, kNow), V4(127, 0, 0, 1), kNow));
}

TEST_CASE("an id depends on the address bytes that count, not the unused ones") {
  ConnectionIds ids = TestIds();
  IpAddress with_junk = V4(192, 0, 2, 1);
  with_junk.bytes[8] = 0xaa;  // bytes past an IPv4 address are never read
  CHECK(ids.Mint(with_junk, kNow) == ids.Mint(V4(192, 0, 2, 1), kNow));
  CHECK(ids.Valid(ids.Mint(with_junk, kNow), V4(192, 0, 2, 1), kNow));
}

TEST_CASE("minting and checking allocate nothing") {
  ConnectionIds ids = TestIds();
  const IpAddress client = V4(127, 0, 0, 1);
  testing::AllocationScope scope;
  const uint64_t id = ids.Mint(client, kNow);
  const bool valid = ids.Valid(id, client, kNow);
  CHECK(scope.allocations() == 0);
  CHECK(valid);
}

}  // namespace
}  // namespace reef::udp
