#include "server/tcp/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "server/common/strings.h"

namespace reef::tcp {

absl::StatusOr<int> OpenTcpListener(const SocketAddress& address, int backlog) {
  const std::string where = address.ToString();
  const bool v6 = address.family() == AF_INET6;
  const int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, StrCat("TCP socket for ", where));
  auto fail = [&](const char* what) {
    const int saved = errno;
    close(fd);
    return absl::ErrnoToStatus(saved, StrCat(what, " on TCP ", where));
  };
  const int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) return fail("SO_REUSEADDR");
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) return fail("SO_REUSEPORT");
  if (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return fail("IPV6_V6ONLY");
  }
  // Accepted sockets inherit both: no Nagle delay for a response split by a full buffer,
  // and no wake-up (accept) until the client has sent something, so the first read after
  // accept finds the request (or ClientHello) instead of an empty socket.
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) return fail("TCP_NODELAY");
  const int defer_seconds = kDeferAcceptSeconds;
  if (setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds, sizeof(defer_seconds)) != 0) {
    return fail("TCP_DEFER_ACCEPT");
  }
  if (bind(fd, address.sockaddr_ptr(), address.sockaddr_len()) != 0) return fail("bind");
  if (listen(fd, backlog) != 0) return fail("listen");
  return fd;
}

absl::StatusOr<SocketAddress> LocalAddress(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  if (address.ss_family == AF_INET) {
    return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr_in&>(address));
  }
  if (address.ss_family == AF_INET6) {
    return SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr_in6&>(address));
  }
  return absl::InternalError("getsockname: not an IP socket");
}

}  // namespace reef::tcp
