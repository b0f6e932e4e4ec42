#include "server/common/socket_address.h"

#include <arpa/inet.h>

#include <array>
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

SocketAddress SocketAddress::FromEndpoint(const Endpoint& endpoint) {
  SocketAddress out;
  out.endpoint_ = endpoint;
  if (endpoint.address.is_v4()) {
    auto& in4 = reinterpret_cast<sockaddr_in&>(out.storage_);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(endpoint.port);
    std::memcpy(&in4.sin_addr, endpoint.address.bytes.data(), kIpv4AddressSize);
  } else {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(out.storage_);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(endpoint.port);
    std::memcpy(&in6.sin6_addr, endpoint.address.bytes.data(), kIpv6AddressSize);
  }
  return out;
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr_in& address) {
  std::array<uint8_t, 4> bytes;
  std::memcpy(bytes.data(), &address.sin_addr, bytes.size());
  return FromEndpoint(Endpoint::V4(bytes, ntohs(address.sin_port)));
}

SocketAddress SocketAddress::FromSockaddr(const sockaddr_in6& address) {
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), &address.sin6_addr, bytes.size());
  return FromEndpoint(Endpoint::V6(bytes, ntohs(address.sin6_port)));
}

socklen_t SocketAddress::sockaddr_len() const {
  return family() == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

std::string SocketAddress::ToString() const {
  char host[INET6_ADDRSTRLEN] = {};
  const int af = endpoint_.address.is_v4() ? AF_INET : AF_INET6;
  inet_ntop(af, endpoint_.address.bytes.data(), host, sizeof(host));
  if (af == AF_INET) return StrCat(host, ":", port());
  return StrCat("[", host, "]:", port());
}

std::optional<Endpoint> ClientEndpoint(const sockaddr_storage& from) {
  if (from.ss_family == AF_INET) {
    const auto& in4 = reinterpret_cast<const sockaddr_in&>(from);
    std::array<uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &in4.sin_addr, bytes.size());
    return Endpoint::V4(bytes, ntohs(in4.sin_port));
  }
  if (from.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(from);
    std::array<uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
    return Endpoint{IpAddress::V6(bytes).Unmapped(), ntohs(in6.sin6_port)};
  }
  return std::nullopt;
}

}  // namespace reef
