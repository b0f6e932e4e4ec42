#include "server/udp/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace reef::udp {

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", std::string(text), "\": an IPv6 address is written [address]:port"));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("\"", std::string(text), "\" has no :port"));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(text), "\": the port must be a number from 0 to 65535"));
  }
  ListenAddress out;
  const std::string host_string(host);
  if (text.front() == '[') {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out.address);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host_string.c_str(), &in6.sin6_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("\"", std::string(text), "\": not an IPv6 address"));
    }
    out.length = sizeof(sockaddr_in6);
    out.is_v6 = true;
  } else {
    auto& in4 = reinterpret_cast<sockaddr_in&>(out.address);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host_string.c_str(), &in4.sin_addr) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", std::string(text), "\": not an IPv4 address (write IPv6 as [address]:port)"));
    }
    out.length = sizeof(sockaddr_in);
  }
  return out;
}

std::string FormatAddress(const sockaddr_storage& address) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (address.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &in4.sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in4.sin_port));
  }
  if (address.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
    inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6.sin6_port));
  }
  return "(unknown address family)";
}

absl::StatusOr<OpenedSocket> OpenUdpSocket(const ListenAddress& address,
                                           const SocketOptions& options) {
  const std::string where = FormatAddress(address.address);
  const int fd = socket(address.is_v6 ? AF_INET6 : AF_INET,
                        SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("socket for ", where));
  auto fail = [&](const char* what) {
    const int saved = errno;
    close(fd);
    return absl::ErrnoToStatus(saved, absl::StrCat(what, " on ", where));
  };
  const int one = 1;
  if (options.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail("SO_REUSEPORT");
  }
  if (address.is_v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
    return fail("IPV6_V6ONLY");
  }
  if (options.receive_buffer_bytes > 0) {
    const int wanted = static_cast<int>(std::min<size_t>(options.receive_buffer_bytes, INT32_MAX / 2));
    // SO_RCVBUFFORCE passes net.core.rmem_max when we are privileged; otherwise the
    // kernel caps SO_RCVBUF there, which is still better than the default.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof(wanted)) != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof(wanted)) != 0) {
      return fail("SO_RCVBUF");
    }
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address.address), address.length) != 0) {
    return fail("bind");
  }
  OpenedSocket out;
  out.fd = fd;
  int granted = 0;
  socklen_t length = sizeof(granted);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length) == 0 && granted > 0) {
    // Linux reports twice what it counts against the limit (bookkeeping overhead).
    out.receive_buffer_bytes = static_cast<size_t>(granted) / 2;
  }
  return out;
}

absl::StatusOr<uint16_t> BoundPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
}

}  // namespace reef::udp
