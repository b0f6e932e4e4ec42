// TCP listening sockets for the socket workers: one per worker and address, all bound with
// SO_REUSEPORT so that the kernel spreads new connections across the workers.
#ifndef REEF_SERVER_TCP_LISTENER_H_
#define REEF_SERVER_TCP_LISTENER_H_

#include "absl/status/statusor.h"
#include "server/common/socket_address.h"

namespace reef::tcp {

// Connections the kernel queues per listener before reef accepts them (capped by
// net.core.somaxconn).
inline constexpr int kListenBacklog = 4096;

// How long the kernel holds a new connection that has sent nothing before handing it to
// reef anyway (TCP_DEFER_ACCEPT; the kernel rounds it to its SYN-ACK retransmissions).
// Connections that send at once (every client) are accepted when their first bytes
// arrive; silent ones reach reef later and meet its head or handshake timeout then.
inline constexpr int kDeferAcceptSeconds = 1;

// A non-blocking, close-on-exec listening TCP socket on `address`, with SO_REUSEPORT and
// SO_REUSEADDR, TCP_NODELAY and TCP_DEFER_ACCEPT (inherited by accepted sockets); IPv6
// sockets are IPv6-only, so "0.0.0.0:P" and "[::]:P" can be bound side by side. The error
// names the address and the call that failed.
absl::StatusOr<int> OpenTcpListener(const SocketAddress& address, int backlog = kListenBacklog);

// The address a socket is bound to (port 0 asks the kernel for one).
absl::StatusOr<SocketAddress> LocalAddress(int fd);

}  // namespace reef::tcp

#endif  // REEF_SERVER_TCP_LISTENER_H_
