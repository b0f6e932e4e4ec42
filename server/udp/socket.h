// UDP listening sockets for the socket workers.
#ifndef REEF_SERVER_UDP_SOCKET_H_
#define REEF_SERVER_UDP_SOCKET_H_

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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
  // SO_INCOMING_CPU: the CPU whose worker serves this socket; -1 leaves it unset.
  int incoming_cpu = -1;
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

// The classic BPF program SteerByCpu attaches: the CPU that received the datagram
// (SKF_AD_CPU) compared with each of `cpus` in turn; a match returns its index, no match
// returns cpus.size(), which the kernel takes as "pick by hash". Exposed for tests.
std::vector<sock_filter> CpuSteeringProgram(std::span<const int> cpus);

// Steers each datagram for `fd`'s SO_REUSEPORT group (fd is any bound member) to the
// socket of index i when CPU cpus[i] received it; datagrams received on other CPUs go by
// hash. The group's sockets are numbered in the order they were bound, so socket i must
// be the i-th bound. At most kMaxSteeredSockets.
inline constexpr size_t kMaxSteeredSockets = 1024;
absl::Status SteerByCpu(int fd, std::span<const int> cpus);

}  // namespace reef::udp

#endif  // REEF_SERVER_UDP_SOCKET_H_
