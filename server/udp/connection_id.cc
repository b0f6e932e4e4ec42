#include "server/udp/connection_id.h"

#include <openssl/sha.h>
#include <sys/random.h>

#include <cstdlib>
#include <cstring>

namespace reef::udp {
namespace {

constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;

// The full tick: wall-clock seconds / 16. Only its low 16 bits go on the wire.
uint64_t TickAt(int64_t now_seconds) {
  return static_cast<uint64_t>(now_seconds / ConnectionIds::kTickSeconds);
}

uint16_t WireTick(uint64_t tick) { return static_cast<uint16_t>(tick); }

// 10 zero bytes and two 0xff: the IPv4-mapped IPv6 prefix ::ffff:0:0/96.
bool IsV4Mapped(std::span<const uint8_t, 16> a) {
  for (int i = 0; i < 10; ++i) {
    if (a[static_cast<size_t>(i)] != 0) return false;
  }
  return a[10] == 0xff && a[11] == 0xff;
}

}  // namespace

ClientAddress ClientAddress::FromIpv4(std::span<const uint8_t, 4> address) {
  ClientAddress out;
  std::memcpy(out.bytes.data(), address.data(), 4);
  return out;
}

ClientAddress ClientAddress::FromIpv6(std::span<const uint8_t, 16> address) {
  if (IsV4Mapped(address)) return FromIpv4(address.subspan<12, 4>());
  ClientAddress out;
  out.is_v6 = true;
  std::memcpy(out.bytes.data(), address.data(), 16);
  return out;
}

std::optional<ClientAddress> ClientAddress::FromSockaddr(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    std::array<uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &in4.sin_addr, 4);
    return FromIpv4(bytes);
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return FromIpv6(bytes);
  }
  return std::nullopt;
}

ConnectionIds ConnectionIds::WithRandomKey() {
  SipHashKey key;
  // getrandom on 16 bytes does not return short once the pool is initialized; a failure
  // here means the kernel cannot give randomness and no id would be safe.
  if (getrandom(key.data(), key.size(), 0) != static_cast<ssize_t>(key.size())) std::abort();
  return ConnectionIds(key);
}

ConnectionIds ConnectionIds::WithSecret(std::string_view secret) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  SipHashKey key;
  std::memcpy(key.data(), digest, key.size());
  return ConnectionIds(key);
}

uint64_t ConnectionIds::Mac(uint64_t tick, const ClientAddress& client) const {
  // The whole 64-bit tick, big-endian, then the family and the address bytes.
  std::array<uint8_t, 25> message{};
  for (size_t i = 0; i < 8; ++i) message[i] = static_cast<uint8_t>(tick >> (56 - 8 * i));
  message[8] = client.is_v6 ? 6 : 4;
  const size_t address_size = client.is_v6 ? 16 : 4;
  std::memcpy(message.data() + 9, client.bytes.data(), address_size);
  return SipHash24(key_, std::span<const uint8_t>(message.data(), 9 + address_size)) & kMacMask;
}

uint64_t ConnectionIds::Mint(const ClientAddress& client, int64_t now_seconds) const {
  const uint64_t tick = TickAt(now_seconds);
  return (static_cast<uint64_t>(WireTick(tick)) << 48) | Mac(tick, client);
}

bool ConnectionIds::Valid(uint64_t connection_id, const ClientAddress& client,
                          int64_t now_seconds) const {
  // The only full ticks an id may carry are now - kMaxAgeTicks .. now + kMaxFutureTicks,
  // fewer than 2^16 of them, so the 16 wire bits name exactly one: the one whose MAC must
  // match. An id whose 16 bits name a tick outside the window is stale (or from too far
  // in the future) whatever its MAC.
  const uint64_t now_tick = TickAt(now_seconds);
  const auto id_wire_tick = static_cast<uint16_t>(connection_id >> 48);
  const auto age = static_cast<uint16_t>(WireTick(now_tick) - id_wire_tick);  // wraps
  const bool past = age <= kMaxAgeTicks;
  const bool future = age >= static_cast<uint16_t>(-kMaxFutureTicks);
  const uint64_t id_tick =
      future ? now_tick + static_cast<uint16_t>(-age) : now_tick - age;
  // Compute the MAC even when stale so timing does not tell which check failed.
  const bool authentic = (connection_id & kMacMask) == Mac(id_tick, client);
  return (past || future) && authentic;
}

}  // namespace reef::udp
