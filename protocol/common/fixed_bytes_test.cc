#include "protocol/common/fixed_bytes.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "protocol/common/hex.h"
#include "testing/alloc_counter.h"

namespace reef {
namespace {

constexpr std::string_view kHex = "0123456789abcdef0123456789abcdef01234567";

TEST_CASE("FromSpan takes exactly N bytes") {
  std::array<uint8_t, 21> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i);
  auto exact = InfoHash::FromSpan(std::span<const uint8_t>(raw).first(20));
  REQUIRE(exact.has_value());
  for (size_t i = 0; i < 20; ++i) CHECK((*exact)[i] == i);
  CHECK_FALSE(InfoHash::FromSpan(std::span<const uint8_t>(raw).first(19)).has_value());
  CHECK_FALSE(InfoHash::FromSpan(raw).has_value());
  CHECK_FALSE(InfoHash::FromSpan({}).has_value());
}

TEST_CASE("FromString takes raw bytes, not hex") {
  auto id = PeerId::FromString("-TR3000-abcdefghijkl");
  REQUIRE(id.has_value());
  CHECK((*id)[0] == '-');
  CHECK((*id)[19] == 'l');
  CHECK_FALSE(PeerId::FromString("-TR3000-abcdefghijk").has_value());
}

TEST_CASE("hex round trip, either case in, lowercase out") {
  auto h = InfoHash::FromHex(kHex);
  REQUIRE(h.has_value());
  CHECK((*h)[0] == 0x01);
  CHECK((*h)[1] == 0x23);
  CHECK((*h)[19] == 0x67);
  auto hex = h->ToHex();
  CHECK(std::string_view(hex.data(), hex.size()) == kHex);
  auto upper = InfoHash::FromHex("0123456789ABCDEF0123456789ABCDEF01234567");
  REQUIRE(upper.has_value());
  CHECK(*upper == *h);
}

TEST_CASE("FromHex refuses wrong lengths and non-hex digits") {
  CHECK_FALSE(InfoHash::FromHex(kHex.substr(0, 39)).has_value());
  CHECK_FALSE(InfoHash::FromHex(std::string(kHex) + "0").has_value());
  CHECK_FALSE(InfoHash::FromHex(std::string(kHex) + "00").has_value());
  CHECK_FALSE(InfoHash::FromHex("").has_value());
  CHECK_FALSE(InfoHash::FromHex("g123456789abcdef0123456789abcdef01234567").has_value());
  CHECK_FALSE(InfoHash::FromHex("0123456789abcdef0123456789abcdef0123456 ").has_value());
  CHECK_FALSE(InfoHash::FromHex("0x23456789abcdef0123456789abcdef01234567").has_value());
}

TEST_CASE("default is all zero; comparison is bytewise") {
  InfoHash zero;
  for (uint8_t b : zero.bytes()) CHECK(b == 0);
  auto a = InfoHash::FromHex("0000000000000000000000000000000000000001");
  auto b = InfoHash::FromHex("0000000000000000000000000000000000000100");
  auto c = InfoHash::FromHex("ff00000000000000000000000000000000000000");
  REQUIRE((a && b && c));
  CHECK(zero < *a);
  CHECK(*a < *b);
  CHECK(*b < *c);
  CHECK(*a == *a);
  CHECK(*a != *b);
}

TEST_CASE("Abseil hashing: equal values hash equal, and a set tells them apart") {
  auto a = InfoHash::FromHex(kHex);
  auto b = InfoHash::FromHex("1123456789abcdef0123456789abcdef01234567");
  REQUIRE((a && b));
  CHECK(absl::Hash<InfoHash>{}(*a) == absl::Hash<InfoHash>{}(InfoHash(*a)));
  CHECK(absl::Hash<InfoHash>{}(*a) != absl::Hash<InfoHash>{}(*b));
  absl::flat_hash_set<InfoHash> set = {*a, *b, *a};
  CHECK(set.size() == 2);
  CHECK(set.contains(*b));
}

TEST_CASE("construction and hex make no heap allocation") {
  testing::AllocationScope scope;
  auto h = InfoHash::FromHex(kHex);
  auto hex = h->ToHex();
  auto again = InfoHash::FromHex(std::string_view(hex.data(), hex.size()));
  CHECK(scope.allocations() == 0);
  CHECK(again == h);
}

TEST_CASE("usable in constant expressions") {
  constexpr auto h = InfoHash::FromHex(kHex);
  static_assert(h.has_value());
  static_assert((*h)[19] == 0x67);
  static_assert(HexDigitValue('F') == 15 && HexDigitValue('g') == -1);
}

}  // namespace
}  // namespace reef
