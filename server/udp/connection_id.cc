#include "server/udp/connection_id.h"

#include <openssl/sha.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace reef::udp {
namespace {

constexpr uint64_t kMacMask = (uint64_t{1} << 48) - 1;

uint16_t TickAt(int64_t now_seconds) {
  return static_cast<uint16_t>(static_cast<uint64_t>(now_seconds / ConnectionIds::kTickSeconds));
}

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

uint64_t ConnectionIds::Mac(uint16_t tick, const IpAddress& client) const {
  std::array<uint8_t, 19> message{};
  message[0] = static_cast<uint8_t>(tick >> 8);
  message[1] = static_cast<uint8_t>(tick);
  message[2] = client.is_v6() ? 6 : 4;
  const size_t address_size = client.size();
  std::memcpy(message.data() + 3, client.bytes.data(), address_size);
  return SipHash24(key_, std::span<const uint8_t>(message.data(), 3 + address_size)) & kMacMask;
}

uint64_t ConnectionIds::Mint(const IpAddress& client, int64_t now_seconds) const {
  const uint16_t tick = TickAt(now_seconds);
  return (static_cast<uint64_t>(tick) << 48) | Mac(tick, client);
}

bool ConnectionIds::Valid(uint64_t connection_id, const IpAddress& client,
                          int64_t now_seconds) const {
  const auto id_tick = static_cast<uint16_t>(connection_id >> 48);
  const auto age = static_cast<uint16_t>(TickAt(now_seconds) - id_tick);  // wraps
  const bool fresh = age <= kMaxAgeTicks || age >= static_cast<uint16_t>(-kMaxFutureTicks);
  // Compare the MAC even when stale so timing does not tell which check failed.
  const bool authentic = (connection_id & kMacMask) == Mac(id_tick, client);
  return fresh && authentic;
}

}  // namespace reef::udp
