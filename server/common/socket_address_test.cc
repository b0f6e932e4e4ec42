#include "server/common/socket_address.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>

#include <cstring>
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

TEST_CASE("an address is its Endpoint, and back") {
  const auto v4 = SocketAddress::Parse("10.1.2.3:6969").value();
  CHECK(v4.endpoint() == Endpoint::V4({10, 1, 2, 3}, 6969));
  CHECK(SocketAddress::FromEndpoint(v4.endpoint()) == v4);
  CHECK(SocketAddress::FromEndpoint(v4.endpoint()).ToString() == "10.1.2.3:6969");
  // A listen address is taken as written: a mapped one stays IPv6.
  const auto mapped = SocketAddress::Parse("[::ffff:1.2.3.4]:80").value();
  CHECK(mapped.endpoint().family() == AddressFamily::kV6);
  CHECK(mapped.family() == AF_INET6);
  const auto& in6 = *reinterpret_cast<const sockaddr_in6*>(mapped.sockaddr_ptr());
  CHECK(ntohs(in6.sin6_port) == 80);
  CHECK(in6.sin6_addr.s6_addr[10] == 0xff);
  CHECK(in6.sin6_addr.s6_addr[15] == 4);
}

sockaddr_storage Storage(const char* text) {
  const auto address = SocketAddress::Parse(text).value();
  sockaddr_storage storage{};
  std::memcpy(&storage, address.sockaddr_ptr(), address.sockaddr_len());
  return storage;
}

TEST_CASE("ClientEndpoint: the sender's address and port; IPv4-mapped IPv6 becomes IPv4") {
  CHECK(ClientEndpoint(Storage("192.0.2.7:40000")) == Endpoint::V4({192, 0, 2, 7}, 40000));
  CHECK(ClientEndpoint(Storage("[::ffff:192.0.2.7]:40000")) ==
        Endpoint::V4({192, 0, 2, 7}, 40000));
  const std::optional<Endpoint> v6 = ClientEndpoint(Storage("[2001:db8::1]:1"));
  REQUIRE(v6.has_value());
  CHECK(v6->family() == AddressFamily::kV6);
  CHECK(v6->address.bytes[15] == 1);
  CHECK(v6->port == 1);
  // Not a mapped address, though close to one: stays IPv6.
  CHECK(ClientEndpoint(Storage("[::fffe:192.0.2.7]:1"))->family() == AddressFamily::kV6);
  sockaddr_storage unix_socket{};
  unix_socket.ss_family = AF_UNIX;
  CHECK_FALSE(ClientEndpoint(unix_socket).has_value());
}

}  // namespace
}  // namespace reef
