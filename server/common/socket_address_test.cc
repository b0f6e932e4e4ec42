#include "server/common/socket_address.h"

#include <doctest/doctest.h>

#include <string>

namespace reef {
namespace {

TEST_CASE("IPv4 and IPv6 addresses parse and print canonically") {
  struct Case {
    const char* text;
    int family;
    uint16_t port;
    const char* canonical;
  };
  const Case cases[] = {
      {"0.0.0.0:6969", AF_INET, 6969, "0.0.0.0:6969"},
      {"127.0.0.1:0", AF_INET, 0, "127.0.0.1:0"},
      {"192.168.1.20:65535", AF_INET, 65535, "192.168.1.20:65535"},
      {"[::]:6969", AF_INET6, 6969, "[::]:6969"},
      {"[::1]:1", AF_INET6, 1, "[::1]:1"},
      {"[2001:DB8:0:0::1]:443", AF_INET6, 443, "[2001:db8::1]:443"},
      {"[::ffff:1.2.3.4]:80", AF_INET6, 80, "[::ffff:1.2.3.4]:80"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SocketAddress> address = SocketAddress::Parse(c.text);
    REQUIRE_MESSAGE(address.ok(), c.text, " ", address.status());
    CHECK(address->family() == c.family);
    CHECK(address->port() == c.port);
    CHECK(address->ToString() == c.canonical);
    CHECK(address->sockaddr_len() ==
          (c.family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
    CHECK(SocketAddress::Parse(address->ToString()).value() == *address);
  }
}

TEST_CASE("bad addresses are refused with the reason") {
  struct Case {
    const char* text;
    const char* reason;
  };
  const Case cases[] = {
      {"", "expected IPV4:PORT or [IPV6]:PORT"},
      {"6969", "expected IPV4:PORT or [IPV6]:PORT"},
      {"0.0.0.0", "expected IPV4:PORT or [IPV6]:PORT"},
      {"0.0.0.0:", "port must be a number from 0 to 65535"},
      {"0.0.0.0:65536", "port must be a number from 0 to 65535"},
      {"0.0.0.0:-1", "port must be a number from 0 to 65535"},
      {"0.0.0.0:+80", "port must be a number from 0 to 65535"},
      {"0.0.0.0:99999999999999999999", "port must be a number from 0 to 65535"},
      {"localhost:6969", "\"localhost\" is not an IPv4 address"},
      {"256.0.0.1:1", "\"256.0.0.1\" is not an IPv4 address"},
      {"::1:6969", "an IPv6 address needs brackets"},
      {"[::1]", "expected \":PORT\" after \"]\""},
      {"[::1:6969", "missing ']'"},
      {"[1.2.3.4]:80", "\"1.2.3.4\" is not an IPv6 address"},
      {"[fe80::1%eth0]:80", "is not an IPv6 address"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SocketAddress> address = SocketAddress::Parse(c.text);
    REQUIRE_FALSE_MESSAGE(address.ok(), c.text);
    CHECK_MESSAGE(std::string(address.status().message()).find(c.reason) != std::string::npos,
                  c.text, " -> ", address.status().message());
  }
}

TEST_CASE("equality compares family, address and port") {
  auto a = SocketAddress::Parse("127.0.0.1:80").value();
  CHECK(a == SocketAddress::Parse("127.0.0.1:80").value());
  CHECK_FALSE(a == SocketAddress::Parse("127.0.0.1:81").value());
  CHECK_FALSE(a == SocketAddress::Parse("127.0.0.2:80").value());
  CHECK_FALSE(a == SocketAddress::Parse("[::ffff:127.0.0.1]:80").value());
}

}  // namespace
}  // namespace reef
