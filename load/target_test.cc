#include "load/target.h"

#include <doctest/doctest.h>

namespace reef::load {
namespace {

TEST_CASE("numeric addresses parse") {
  auto v4 = ParseEndpoint("127.0.0.1:6969");
  REQUIRE(v4.ok());
  CHECK(v4->family() == AF_INET);
  CHECK(v4->port() == 6969);
  CHECK(v4->ToString() == "127.0.0.1:6969");
  auto v6 = ParseEndpoint("[::1]:80");
  REQUIRE(v6.ok());
  CHECK(v6->is_v6());
  CHECK(v6->ToString() == "[::1]:80");
  CHECK(v6->HostString() == "[::1]");
  CHECK(ParseEndpoint("localhost:1")->ToString() == "127.0.0.1:1");
  CHECK(ParseEndpoint("127.0.0.1:65535").ok());
}

TEST_CASE("bad addresses are refused with a reason") {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:12x", "example.org:80", "::1:80", "[::1]80", "[::1]",
                          "[127.0.0.1]:80", "", ":80"}) {
    INFO(bad);
    CHECK(ParseEndpoint(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(!ParseEndpoint("127.0.0.1:0").ok());
  CHECK(ParseEndpoint("127.0.0.1:0", /*allow_port_zero=*/true).ok());
}

TEST_CASE("only loopback targets are allowed by default") {
  for (const char* ok : {"127.0.0.1:1", "127.255.255.254:1", "127.1.2.3:1", "[::1]:1",
                         "[::ffff:127.0.0.1]:1"}) {
    INFO(ok);
    CHECK(IsLoopback(*ParseEndpoint(ok)));
    CHECK(CheckTargetAllowed(*ParseEndpoint(ok), false).ok());
  }
  for (const char* far : {"128.0.0.1:1", "126.255.255.255:1", "10.0.0.1:1", "0.0.0.0:1",
                          "192.168.1.1:1", "[::2]:1", "[::]:1", "[::ffff:10.0.0.1]:1",
                          "[2001:db8::1]:1"}) {
    INFO(far);
    CHECK(!IsLoopback(*ParseEndpoint(far)));
    absl::Status s = CheckTargetAllowed(*ParseEndpoint(far), false);
    CHECK(s.code() == absl::StatusCode::kPermissionDenied);
    CHECK(s.message().find("--allow_non_loopback") != std::string::npos);
    CHECK(CheckTargetAllowed(*ParseEndpoint(far), true).ok());
  }
}

}  // namespace
}  // namespace reef::load
