// UDP listening sockets for the socket workers.
#ifndef REEF_SERVER_UDP_SOCKET_H_
#define REEF_SERVER_UDP_SOCKET_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace reef::udp {

struct ListenAddress {
  sockaddr_storage address{};
  socklen_t length = 0;
  bool is_v6 = false;
};

// "0.0.0.0:6969", "127.0.0.1:0", "[::]:6969", "[::1]:6969". Port 0 asks the kernel.
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text);
std::string FormatAddress(const sockaddr_storage& address);

struct SocketOptions {
  // Each worker binds its own socket to the same address (SO_REUSEPORT): the kernel
  // spreads datagrams across them by flow hash.
  bool reuse_port = true;
  // SO_RCVBUF wanted. Linux's default (~208 KiB) holds only ~190 small datagrams.
  size_t receive_buffer_bytes = 4 << 20;
};

struct OpenedSocket {
  int fd = -1;
  // What the kernel granted: capped by net.core.rmem_max unless we may force it.
  size_t receive_buffer_bytes = 0;
};

// A non-blocking, close-on-exec UDP socket bound to `address`. IPv6 sockets are
// IPv6-only, so "0.0.0.0:P" and "[::]:P" can be bound side by side.
absl::StatusOr<OpenedSocket> OpenUdpSocket(const ListenAddress& address,
                                           const SocketOptions& options);

// The port a bound socket got (for port 0).
absl::StatusOr<uint16_t> BoundPort(int fd);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_SOCKET_H_
