// Stateless BEP 15 connection ids.
//
// A connection id is minted for a client address at a time and proves, when it comes
// back, that the client really receives datagrams at that address (so announces cannot be
// made for spoofed sources). reef keeps no table of issued ids: an id is
//
//     bits 63..48  the low 16 bits of the tick it was minted in (16-second ticks of
//                  wall-clock time, so the wire value wraps every 65,536 ticks, ~12 days)
//     bits 47..0   SipHash-2-4(key, the full 64-bit tick || address family || address
//                  bytes), truncated
//
// so it is valid exactly when its MAC matches the sender's address and its tick is at most
// kMaxAgeTicks old. The checker rebuilds the full tick from the 16 wire bits and its own
// clock (the one tick in the window kMaxAgeTicks back to kMaxFutureTicks ahead with those
// low bits) and checks the MAC over that, so an id never becomes valid again when its 16
// bits come round: not 12 days later, not with a fixed connection_id_secret, not ever (BEP 15 asks trackers to accept an id until two minutes after sending
// it: 8 ticks = 128-144 s). One tick in the future is accepted too, for instances sharing
// a secret whose clocks differ slightly. Forging one without the key takes about 2^48
// guesses per address. The port is not part of it: NATs may change a client's source port
// between its connect and its announce, and BEP 15 ties ids to the IP address.
#ifndef REEF_SERVER_UDP_CONNECTION_ID_H_
#define REEF_SERVER_UDP_CONNECTION_ID_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/common/ip_address.h"
#include "server/udp/siphash.h"

namespace reef::udp {

class ConnectionIds {
 public:
  static constexpr int64_t kTickSeconds = 16;
  static constexpr uint16_t kMaxAgeTicks = 8;
  static constexpr uint16_t kMaxFutureTicks = 1;

  // A key from the kernel's random source (ids die with the process); an error if the
  // kernel gives no randomness (then no id would be safe).
  static absl::StatusOr<ConnectionIds> WithRandomKey();
  // A key derived from a shared secret (SHA-256), so instances sharing it accept each
  // other's ids and ids survive a restart; an error if libcrypto fails.
  static absl::StatusOr<ConnectionIds> WithSecret(std::string_view secret);
  explicit ConnectionIds(const SipHashKey& key) : key_(key) {}

  // `client` is the address as ClientEndpoint() gives it (an IPv4-mapped IPv6 address
  // already IPv4, so a dual-stack socket sees an IPv4 client as one address).
  // `now_seconds` is wall-clock time (Clock::WallSeconds), shared between instances.
  uint64_t Mint(const IpAddress& client, int64_t now_seconds) const;
  bool Valid(uint64_t connection_id, const IpAddress& client, int64_t now_seconds) const;

 private:
  uint64_t Mac(uint64_t tick, const IpAddress& client) const;

  SipHashKey key_;
};

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_CONNECTION_ID_H_
