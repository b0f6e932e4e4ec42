// Socket addresses: between the kernel's sockaddr and reef's Endpoint
// (protocol/common/ip_address.h).
//
//   - SocketAddress: a listen address as the config writes it ("0.0.0.0:6969",
//     "[::]:6969") and as bind(2) takes it; an Endpoint taken as written (a mapped
//     "[::ffff:1.2.3.4]:80" stays an IPv6 address to bind).
//   - ClientEndpoint(): the address a request came from, as every protocol worker records
//     its client. This is where IPv4-mapped IPv6 addresses (a dual-stack socket's IPv4
//     clients) become IPv4, so one client is one address whatever socket it used.
#ifndef REEF_SERVER_COMMON_SOCKET_ADDRESS_H_
#define REEF_SERVER_COMMON_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "protocol/common/ip_address.h"

namespace reef {

class SocketAddress {
 public:
  // "A.B.C.D:PORT" or "[IPV6]:PORT" (brackets required), PORT 0 to 65535 in decimal
  // (0: the kernel picks a free port). No host names, no zone ids. Errors say which part
  // is wrong.
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);

  static SocketAddress FromEndpoint(const Endpoint& endpoint);
  static SocketAddress FromSockaddr(const sockaddr_in& address);
  static SocketAddress FromSockaddr(const sockaddr_in6& address);

  const Endpoint& endpoint() const { return endpoint_; }
  int family() const { return storage_.ss_family; }  // AF_INET or AF_INET6
  uint16_t port() const { return endpoint_.port; }
  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  socklen_t sockaddr_len() const;

  // The canonical text ("[::]:6969"); Parse(ToString()) gives back an equal address.
  std::string ToString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) {
    return a.endpoint_ == b.endpoint_;
  }

 private:
  SocketAddress() = default;
  Endpoint endpoint_;
  sockaddr_storage storage_{};  // endpoint_ as bind(2) takes it
};

// The client a datagram or a connection came from: its address (IPv4-mapped IPv6 made
// IPv4, the one place reef does that) and source port. nullopt for a family other than
// AF_INET and AF_INET6.
std::optional<Endpoint> ClientEndpoint(const sockaddr_storage& from);

}  // namespace reef

#endif  // REEF_SERVER_COMMON_SOCKET_ADDRESS_H_
