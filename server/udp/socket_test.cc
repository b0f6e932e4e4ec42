#include "server/udp/socket.h"

#include <doctest/doctest.h>
#include <unistd.h>

namespace reef::udp {
namespace {

TEST_CASE("listen addresses: IPv4, IPv6 in brackets, port 0..65535") {
  auto v4 = ParseListenAddress("127.0.0.1:6969");
  REQUIRE(v4.ok());
  CHECK_FALSE(v4->is_v6);
  CHECK(FormatAddress(v4->address) == "127.0.0.1:6969");
  auto v6 = ParseListenAddress("[::1]:0");
  REQUIRE(v6.ok());
  CHECK(v6->is_v6);
  CHECK(FormatAddress(v6->address) == "[::1]:0");
  CHECK(ParseListenAddress("0.0.0.0:65535").ok());
  CHECK(ParseListenAddress("[::]:6969").ok());
}

TEST_CASE("bad listen addresses say what is wrong") {
  CHECK(ParseListenAddress("0.0.0.0:65536").status().message().find("0 to 65535") !=
        std::string_view::npos);
  CHECK_FALSE(ParseListenAddress("0.0.0.0").ok());
  CHECK_FALSE(ParseListenAddress("0.0.0.0:").ok());
  CHECK_FALSE(ParseListenAddress("0.0.0.0:x1").ok());
  CHECK_FALSE(ParseListenAddress("::1:6969").ok());  // IPv6 needs brackets
  CHECK_FALSE(ParseListenAddress("[::1]6969").ok());
  CHECK_FALSE(ParseListenAddress("[::1").ok());
  CHECK_FALSE(ParseListenAddress("localhost:6969").ok());
  CHECK_FALSE(ParseListenAddress("").ok());
}

TEST_CASE("two sockets share a port with SO_REUSEPORT; v4 and v6 bind side by side") {
  auto address = ParseListenAddress("127.0.0.1:0");
  REQUIRE(address.ok());
  auto first = OpenUdpSocket(*address, {});
  REQUIRE(first.ok());
  auto port = BoundPort(first->fd);
  REQUIRE(port.ok());
  CHECK(*port != 0);
  auto same = ParseListenAddress("127.0.0.1:" + std::to_string(*port));
  auto second = OpenUdpSocket(*same, {});
  CHECK(second.ok());
  auto v6 = ParseListenAddress("[::1]:" + std::to_string(*port));
  auto third = OpenUdpSocket(*v6, {});
  CHECK(third.ok());
  // Without SO_REUSEPORT the port is taken.
  auto refused = OpenUdpSocket(*same, {.reuse_port = false, .receive_buffer_bytes = 0});
  CHECK_FALSE(refused.ok());
  CHECK(first->receive_buffer_bytes >= 1u << 20);  // raised well above the default
  close(first->fd);
  if (second.ok()) close(second->fd);
  if (third.ok()) close(third->fd);
}

}  // namespace
}  // namespace reef::udp
