#include "server/udp/connection_id.h"

#include <openssl/sha.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace reef::udp {
namespace {

constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;

// The full tick: wall-clock seconds / 16. Only its low 16 bits go on the wire.
uint64_t TickAt(int64_t now_seconds) {
  return static_cast<uint64_t>(now_seconds / ConnectionIds::kTickSeconds);
}

uint16_t WireTick(uint64_t tick) { return static_cast<uint16_t>(tick); }

}  // namespace

absl::StatusOr<ConnectionIds> ConnectionIds::WithRandomKey() {
  SipHashKey key;
  // getrandom on 16 bytes does not return short once the pool is initialized; a failure
  // here means the kernel cannot give randomness and no id would be safe.
  const ssize_t got = getrandom(key.data(), key.size(), 0);
  if (got != static_cast<ssize_t>(key.size())) {
    return got < 0 ? absl::ErrnoToStatus(errno, "getrandom for the connection id key")
                   : absl::UnavailableError("getrandom gave too few bytes for the key");
  }
  return ConnectionIds(key);
}

absl::StatusOr<ConnectionIds> ConnectionIds::WithSecret(std::string_view secret) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  if (SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest) ==
      nullptr) {
    return absl::InternalError("SHA-256 of udp.connection_id_secret failed in libcrypto");
  }
  SipHashKey key;
  std::memcpy(key.data(), digest, key.size());
  return ConnectionIds(key);
}

uint64_t ConnectionIds::Mac(uint64_t tick, const IpAddress& client) const {
  // The whole 64-bit tick, big-endian, then the family and the address bytes.
  std::array<uint8_t, 25> message{};
  for (size_t i = 0; i < 8; ++i) message[i] = static_cast<uint8_t>(tick >> (56 - 8 * i));
  message[8] = client.is_v6() ? 6 : 4;
  const size_t address_size = client.size();
  std::memcpy(message.data() + 9, client.bytes.data(), address_size);
  return SipHash24(key_, std::span<const uint8_t>(message.data(), 9 + address_size)) & kMacMask;
}

uint64_t ConnectionIds::Mint(const IpAddress& client, int64_t now_seconds) const {
  const uint64_t tick = TickAt(now_seconds);
  return (static_cast<uint64_t>(WireTick(tick)) << 48) | Mac(tick, client);
}

bool ConnectionIds::Valid(uint64_t connection_id, const IpAddress& client,
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
