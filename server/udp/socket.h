// UDP listening sockets for the socket workers.
#ifndef REEF_SERVER_UDP_SOCKET_H_
#define REEF_SERVER_UDP_SOCKET_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "server/common/socket_address.h"

namespace reef::udp {

struct SocketOptions {
  // Each worker binds its own socket to the same address (SO_REUSEPORT): the kernel
  // spreads datagrams across them by flow hash.
  bool reuse_port = true;
  // SO_RCVBUF wanted; 0 keeps the kernel's default (~208 KiB here, which holds only ~190
  // small datagrams).
  size_t receive_buffer_bytes = 4 << 20;
};

struct OpenedSocket {
  int fd = -1;
  // What the kernel granted: capped by net.core.rmem_max unless we may force it.
  size_t receive_buffer_bytes = 0;
};

// A non-blocking, close-on-exec UDP socket bound to `address`. IPv6 sockets are
// IPv6-only, so "0.0.0.0:P" and "[::]:P" can be bound side by side.
absl::StatusOr<OpenedSocket> OpenUdpSocket(const SocketAddress& address,
                                           const SocketOptions& options);

// The address a bound socket got (port 0 asks the kernel for one).
absl::StatusOr<SocketAddress> BoundAddress(int fd);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_SOCKET_H_
