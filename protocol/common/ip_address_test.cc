#include "protocol/common/ip_address.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <type_traits>

#include "absl/hash/hash.h"

namespace reef {
namespace {

static_assert(std::is_trivially_copyable_v<IpAddress>);
static_assert(std::is_trivially_copyable_v<Endpoint>);

constexpr std::array<uint8_t, 16> Mapped(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d};
}

TEST_CASE("IPv4 equality and hashing ignore the 12 unused bytes") {
  IpAddress a = IpAddress::V4({10, 0, 0, 1});
  IpAddress b = a;
  b.bytes[10] = 0xff;
  CHECK(a == b);
  CHECK(absl::Hash<IpAddress>{}(a) == absl::Hash<IpAddress>{}(b));
  CHECK(Endpoint{a, 1} == Endpoint{b, 1});
  CHECK(absl::Hash<Endpoint>{}({a, 1}) == absl::Hash<Endpoint>{}({b, 1}));
  CHECK_FALSE(a == IpAddress::V4({10, 0, 0, 2}));
  IpAddress v6 = a;
  v6.family = AddressFamily::kV6;
  CHECK_FALSE(a == v6);
  CHECK_FALSE(Endpoint::V4({10, 0, 0, 1}, 6881) == Endpoint::V4({10, 0, 0, 1}, 6882));
}

TEST_CASE("size and view are the bytes that count") {
  const IpAddress v4 = IpAddress::V4({1, 2, 3, 4});
  CHECK(v4.size() == 4);
  CHECK(v4.view().size() == 4);
  CHECK(v4.view()[3] == 4);
  const IpAddress v6 = IpAddress::V6(Mapped(1, 2, 3, 4));
  CHECK(v6.size() == 16);
  CHECK(v6.view().size() == 16);
  CHECK(Endpoint::V6(Mapped(1, 2, 3, 4), 80).family() == AddressFamily::kV6);
}

TEST_CASE("Unmapped turns IPv4-mapped IPv6 into IPv4, nothing else") {
  constexpr IpAddress mapped = IpAddress::V6(Mapped(192, 0, 2, 7));
  static_assert(mapped.IsV4Mapped());
  static_assert(mapped.Unmapped() == IpAddress::V4({192, 0, 2, 7}));
  CHECK(mapped.Unmapped() == IpAddress::V4({192, 0, 2, 7}));

  std::array<uint8_t, 16> not_mapped = Mapped(192, 0, 2, 7);
  not_mapped[9] = 1;  // one bit outside ::ffff:0:0/96
  CHECK_FALSE(IpAddress::V6(not_mapped).IsV4Mapped());
  CHECK(IpAddress::V6(not_mapped).Unmapped() == IpAddress::V6(not_mapped));
  not_mapped = Mapped(192, 0, 2, 7);
  not_mapped[11] = 0xfe;
  CHECK(IpAddress::V6(not_mapped).Unmapped().family == AddressFamily::kV6);
  // ::1 and :: are not mapped addresses.
  std::array<uint8_t, 16> loopback{};
  loopback[15] = 1;
  CHECK(IpAddress::V6(loopback).Unmapped() == IpAddress::V6(loopback));
  CHECK(IpAddress::V6({}).Unmapped() == IpAddress::V6({}));
  // IPv4 stays IPv4, even one whose unused bytes look like a mapping.
  IpAddress v4 = IpAddress::V4({1, 2, 3, 4});
  v4.bytes[10] = v4.bytes[11] = 0xff;
  CHECK_FALSE(v4.IsV4Mapped());
  CHECK(v4.Unmapped() == IpAddress::V4({1, 2, 3, 4}));
}

}  // namespace
}  // namespace reef
