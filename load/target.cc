#include "load/target.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace reef::load {

uint16_t Endpoint::port() const {
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return 0;
}

std::string Endpoint::HostString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, buf,
              sizeof(buf));
    return buf;
  }
  if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, buf,
              sizeof(buf));
    return absl::StrCat("[", buf, "]");
  }
  return "?";
}

std::string Endpoint::ToString() const { return absl::StrCat(HostString(), ":", port()); }

Endpoint Endpoint::FromSockaddr(const sockaddr* sa, socklen_t len) {
  Endpoint e;
  std::memcpy(&e.addr, sa, std::min<size_t>(len, sizeof(e.addr)));
  e.len = len;
  return e;
}

absl::StatusOr<Endpoint> ParseEndpoint(std::string_view text, bool allow_port_zero) {
  const auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad address '", std::string(text), "': ", std::string(why), " (want 127.0.0.1:PORT or [::1]:PORT)"));
  };
  std::string_view host;
  std::string_view port_text;
  bool v6 = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return bad("no ']:' after an IPv6 address");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    v6 = true;
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return bad("port must be a number 0..65535");
  }
  if (port == 0 && !allow_port_zero) return bad("port 0");
  if (host == "localhost") host = "127.0.0.1";
  const std::string host_z(host);
  Endpoint e;
  if (!v6) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host_z.c_str(), &sin.sin_addr) != 1) {
      return bad("not a numeric IPv4 address");
    }
    std::memcpy(&e.addr, &sin, sizeof(sin));
    e.len = sizeof(sin);
  } else {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host_z.c_str(), &sin6.sin6_addr) != 1) {
      return bad("not a numeric IPv6 address");
    }
    std::memcpy(&e.addr, &sin6, sizeof(sin6));
    e.len = sizeof(sin6);
  }
  return e;
}

bool IsLoopback(const Endpoint& endpoint) {
  if (endpoint.addr.ss_family == AF_INET) {
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&endpoint.addr);
    return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
  }
  if (endpoint.addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&endpoint.addr)->sin6_addr.s6_addr;
    static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kLoopback, 16) == 0) return true;
    return std::memcmp(a, kMappedPrefix, 12) == 0 && a[12] == 127;
  }
  return false;
}

bool IsLoopbackPeer(std::span<const uint8_t> address) {
  if (address.size() == 4) return address[0] == 127;
  if (address.size() != 16) return false;
  for (size_t i = 0; i < 15; ++i) {
    if (address[i] != 0) return false;
  }
  return address[15] == 1;
}

absl::Status CheckTargetAllowed(const Endpoint& endpoint, bool allow_non_loopback) {
  if (IsLoopback(endpoint) || allow_non_loopback) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("refusing target ", endpoint.ToString(),
                   ": not a loopback address (127.0.0.0/8 or ::1); pass "
                   "--allow_non_loopback to load a tracker you are allowed to load"));
}

}  // namespace reef::load
