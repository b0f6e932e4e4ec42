// IpAddress and Endpoint: the one address type of reef, protocol library and server alike.
//
// An IpAddress is an address family and 16 bytes in network order: an IPv6 address uses
// all 16, an IPv4 address the first 4 (V4() leaves the other 12 zero, and neither
// equality nor hashing reads them, so a caller that writes them cannot make two equal
// addresses differ). An Endpoint is an address and a port (host byte order). Both are
// plain values: trivially copyable, comparable, hashable with absl::Hash (AbslHashValue
// needs no absl header here), and constexpr throughout.
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, what a dual-stack socket reports for an
// IPv4 client) are turned into IPv4 by Unmapped(), the one implementation of that rule.
// The server applies it where a client address is made from a socket address
// (server/common/socket_address.h, ClientEndpoint); nothing else canonicalizes, so a
// mapped address stays what it is everywhere else (a listen address, a parsed "ip=").
#ifndef REEF_PROTOCOL_COMMON_IP_ADDRESS_H_
#define REEF_PROTOCOL_COMMON_IP_ADDRESS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "protocol/common/require_cxx20.h"

namespace reef {

enum class AddressFamily : uint8_t { kV4, kV6 };

inline constexpr size_t kIpv4AddressSize = 4;
inline constexpr size_t kIpv6AddressSize = 16;

struct IpAddress {
  using Family = AddressFamily;

  Family family = Family::kV4;
  // Network order. IPv4: the first 4 bytes count; IPv6: all 16.
  std::array<uint8_t, 16> bytes{};

  static constexpr IpAddress V4(const std::array<uint8_t, 4>& address) {
    IpAddress a;
    a.family = Family::kV4;
    for (size_t i = 0; i < kIpv4AddressSize; ++i) a.bytes[i] = address[i];
    return a;
  }
  // As given: an IPv4-mapped address stays IPv6 (see Unmapped()).
  static constexpr IpAddress V6(const std::array<uint8_t, 16>& address) {
    IpAddress a;
    a.family = Family::kV6;
    a.bytes = address;
    return a;
  }

  constexpr bool is_v4() const { return family == Family::kV4; }
  constexpr bool is_v6() const { return family == Family::kV6; }
  // The bytes that count: 4 for IPv4, 16 for IPv6.
  constexpr size_t size() const { return is_v4() ? kIpv4AddressSize : kIpv6AddressSize; }
  constexpr std::span<const uint8_t> view() const {
    return std::span<const uint8_t>(bytes).first(size());
  }

  // An IPv6 address in ::ffff:0:0/96 (10 zero bytes, two 0xff, then the IPv4 address).
  constexpr bool IsV4Mapped() const {
    if (!is_v6()) return false;
    for (size_t i = 0; i < 10; ++i) {
      if (bytes[i] != 0) return false;
    }
    return bytes[10] == 0xff && bytes[11] == 0xff;
  }
  // An IPv4-mapped IPv6 address as the IPv4 address it maps; any other unchanged.
  constexpr IpAddress Unmapped() const {
    if (!IsV4Mapped()) return *this;
    return V4({bytes[12], bytes[13], bytes[14], bytes[15]});
  }

  // Equal family and equal bytes that count.
  friend constexpr bool operator==(const IpAddress& a, const IpAddress& b) {
    if (a.family != b.family) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a.bytes[i] != b.bytes[i]) return false;
    }
    return true;
  }

  template <typename H>
  friend H AbslHashValue(H state, const IpAddress& a) {
    return H::combine(H::combine_contiguous(std::move(state), a.bytes.data(), a.size()),
                      a.family);
  }
};

// Where a peer or a socket can be reached: an address and a port.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;  // host byte order

  static constexpr Endpoint V4(const std::array<uint8_t, 4>& address, uint16_t port) {
    return {IpAddress::V4(address), port};
  }
  static constexpr Endpoint V6(const std::array<uint8_t, 16>& address, uint16_t port) {
    return {IpAddress::V6(address), port};
  }

  constexpr AddressFamily family() const { return address.family; }

  friend constexpr bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.address == b.address;
  }

  template <typename H>
  friend H AbslHashValue(H state, const Endpoint& e) {
    return H::combine(std::move(state), e.address, e.port);
  }
};

}  // namespace reef

#endif  // REEF_PROTOCOL_COMMON_IP_ADDRESS_H_
