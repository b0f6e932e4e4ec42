#include "server/common/socket_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "server/common/strings.h"

namespace reef {
namespace {

constexpr uint32_t kMaxPort = 65535;

absl::Status Bad(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(StrCat("\"", text, "\": ", why));
}

}  // namespace

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  const bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Bad(text, "missing ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return Bad(text, "expected \":PORT\" after \"]\"");
    }
    port_text = rest.substr(1);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Bad(text, "expected IPV4:PORT or [IPV6]:PORT");
    }
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return Bad(text, "an IPv6 address needs brackets: [IPV6]:PORT");
    }
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string_view::npos ||
      !absl::SimpleAtoi(ToAbsl(port_text), &port) || port > kMaxPort) {
    return Bad(text, StrCat("port must be a number from 0 to ", kMaxPort));
  }
  std::string host_string(host);
  if (bracketed) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host_string.c_str(), &in6.sin6_addr) != 1) {
      return Bad(text, StrCat("\"", host, "\" is not an IPv6 address"));
    }
    return FromSockaddr(in6);
  }
  sockaddr_in in4{};
  in4.sin_family = AF_INET;
  in4.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host_string.c_str(), &in4.sin_addr) != 1) {
    return Bad(text, StrCat("\"", host, "\" is not an IPv4 address"));
  }
  return FromSockaddr(in4);
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr_in& address) {
  SocketAddress out;
  std::memcpy(&out.storage_, &address, sizeof(address));
  return out;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr_in6& address) {
  SocketAddress out;
  std::memcpy(&out.storage_, &address, sizeof(address));
  return out;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
}

socklen_t SocketAddress::sockaddr_len() const {
  return family() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

std::string SocketAddress::ToString() const {
  char host[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, host,
              sizeof(host));
    return StrCat(host, ":", port());
  }
  inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, host,
            sizeof(host));
  return StrCat("[", host, "]:", port());
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    const auto& x = *reinterpret_cast<const sockaddr_in*>(&a.storage_);
    const auto& y = *reinterpret_cast<const sockaddr_in*>(&b.storage_);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  const auto& x = *reinterpret_cast<const sockaddr_in6*>(&a.storage_);
  const auto& y = *reinterpret_cast<const sockaddr_in6*>(&b.storage_);
  return x.sin6_port == y.sin6_port &&
         std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
}

}  // namespace reef
