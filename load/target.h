// The address a load generator or responder talks to, and the loopback-only rule.
//
// Only numeric addresses are accepted ("127.0.0.1:6969", "[::1]:6969"), plus the name
// "localhost" for 127.0.0.1, so no lookup can send traffic somewhere unexpected. A load
// generator refuses any target outside 127.0.0.0/8 and ::1 unless told otherwise.
#ifndef REEF_LOAD_TARGET_H_
#define REEF_LOAD_TARGET_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace reef::load {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  int family() const { return addr.ss_family; }
  bool is_v6() const { return addr.ss_family == AF_INET6; }
  uint16_t port() const;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
  // "127.0.0.1:6969" or "[::1]:6969".
  std::string ToString() const;
  // "127.0.0.1" or "[::1]", for an HTTP Host header or URL.
  std::string HostString() const;

  static Endpoint FromSockaddr(const sockaddr* sa, socklen_t len);
};

// Parses "IPV4:PORT", "[IPV6]:PORT" or "localhost:PORT". Port 0 is accepted only if
// `allow_port_zero` (a server asking for any free port).
absl::StatusOr<Endpoint> ParseEndpoint(std::string_view text, bool allow_port_zero = false);

// 127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104.
bool IsLoopback(const Endpoint& endpoint);

// A peer address as a tracker sends it (4 or 16 bytes, network order) in 127.0.0.0/8
// or ::1; false for any other length.
bool IsLoopbackPeer(std::span<const uint8_t> address);

// OK for a loopback target; otherwise an error that names the flag which allows it.
absl::Status CheckTargetAllowed(const Endpoint& endpoint, bool allow_non_loopback);

}  // namespace reef::load

#endif  // REEF_LOAD_TARGET_H_
