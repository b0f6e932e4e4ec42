#include "server/udp/socket.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <string>

namespace reef::udp {
namespace {

SocketAddress Address(const std::string& text) {
  auto parsed = SocketAddress::Parse(text);
  REQUIRE(parsed.ok());
  return *parsed;
}

TEST_CASE("two sockets share a port with SO_REUSEPORT; v4 and v6 bind side by side") {
  auto first = OpenUdpSocket(Address("127.0.0.1:0"), {});
  REQUIRE(first.ok());
  auto bound = BoundAddress(first->fd);
  REQUIRE(bound.ok());
  const uint16_t port = bound->port();
  CHECK(port != 0);
  CHECK(bound->ToString() == "127.0.0.1:" + std::to_string(port));
  auto second = OpenUdpSocket(Address("127.0.0.1:" + std::to_string(port)), {});
  CHECK(second.ok());
  auto third = OpenUdpSocket(Address("[::1]:" + std::to_string(port)), {});
  CHECK(third.ok());
  // Without SO_REUSEPORT the port is taken, and the error names the address.
  auto refused = OpenUdpSocket(Address("127.0.0.1:" + std::to_string(port)),
                               {.reuse_port = false, .receive_buffer_bytes = 0});
  REQUIRE_FALSE(refused.ok());
  CHECK(std::string(refused.status().message()).find("127.0.0.1:" + std::to_string(port)) !=
        std::string::npos);
  CHECK(first->receive_buffer_bytes >= 1u << 20);  // raised well above the default
  close(first->fd);
  if (second.ok()) close(second->fd);
  if (third.ok()) close(third->fd);
}

}  // namespace
}  // namespace reef::udp
