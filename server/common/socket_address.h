// SocketAddress: an IPv4 or IPv6 address and port, as the config writes it
// ("0.0.0.0:6969", "[::]:6969") and as bind(2) takes it.
#ifndef REEF_SERVER_COMMON_SOCKET_ADDRESS_H_
#define REEF_SERVER_COMMON_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace reef {

class SocketAddress {
 public:
  // "A.B.C.D:PORT" or "[IPV6]:PORT" (brackets required), PORT 0 to 65535 in decimal
  // (0: the kernel picks a free port). No host names, no zone ids. Errors say which part
  // is wrong.
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);

  static SocketAddress FromSockaddr(const sockaddr_in& address);
  static SocketAddress FromSockaddr(const sockaddr_in6& address);

  int family() const { return storage_.ss_family; }  // AF_INET or AF_INET6
  uint16_t port() const;
  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  socklen_t sockaddr_len() const;

  // The canonical text ("[::]:6969"); Parse(ToString()) gives back an equal address.
  std::string ToString() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  SocketAddress() = default;
  sockaddr_storage storage_{};
};

}  // namespace reef

#endif  // REEF_SERVER_COMMON_SOCKET_ADDRESS_H_
