#include "server/udp/connection_id.h"

#include <openssl/sha.h>
#include <sys/random.h>

#include <cstdlib>
#include <cstring>

namespace reef::udp {
namespace {

constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;

uint16_t TickAt(int64_t now_seconds) {
  return static_cast<uint16_t>(static_cast<uint64_t>(now_seconds / ConnectionIds::kTickSeconds));
}

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

uint64_t ConnectionIds::Mac(uint16_t tick, const ClientAddress& client) const {
  std::array<uint8_t, 19> message{};
  message[0] = static_cast<uint8_t>(tick >> 8);
  message[1] = static_cast<uint8_t>(tick);
  message[2] = client.is_v6 ? 6 : 4;
  const size_t address_size = client.is_v6 ? 16 : 4;
  std::memcpy(message.data() + 3, client.bytes.data(), address_size);
  return SipHash24(key_, std::span<const uint8_t>(message.data(), 3 + address_size)) & kMacMask;
}

uint64_t ConnectionIds::Mint(const ClientAddress& client, int64_t now_seconds) const {
  const uint16_t tick = TickAt(now_seconds);
  return (static_cast<uint64_t>(tick) << 48) | Mac(tick, client);
}

bool ConnectionIds::Valid(uint64_t connection_id, const ClientAddress& client,
                          int64_t now_seconds) const {
  const auto id_tick = static_cast<uint16_t>(connection_id >> 48);
  const auto age = static_cast<uint16_t>(TickAt(now_seconds) - id_tick);  // wraps
  const bool fresh = age <= kMaxAgeTicks || age >= static_cast<uint16_t>(-kMaxFutureTicks);
  // Compare the MAC even when stale so timing does not tell which check failed.
  const bool authentic = (connection_id & kMacMask) == Mac(id_tick, client);
  return fresh && authentic;
}

}  // namespace reef::udp
