#include "server/http/client_address.h"

#include <doctest/doctest.h>

#include <array>
#include <string>

namespace reef::http_server {
namespace {

http::IpAddress Ip(std::string_view text) { return http::ParseIpAddress(text).value(); }

// A request head with `headers`, parsed (views into `storage`).
struct TestRequest {
  explicit TestRequest(const std::string& headers)
      : text("GET /announce HTTP/1.1\r\n" + headers + "\r\n") {
    auto r = http::ParseRequest(text, storage);
    REQUIRE(r.ok());
    request = r.value();
  }
  std::string text;
  std::array<http::Header, 16> storage;
  http::Request request;
};

ProxyPolicy Policy(std::string header, std::vector<std::string> trusted) {
  ProxyPolicy p;
  p.header = std::move(header);
  for (const std::string& t : trusted) p.trusted.push_back(AddressPrefix::Parse(t).value());
  return p;
}

TEST_CASE("prefixes parse, contain, and refuse nonsense") {
  CHECK(AddressPrefix::Parse("10.0.0.0/8")->Contains(Ip("10.200.3.4")));
  CHECK_FALSE(AddressPrefix::Parse("10.0.0.0/8")->Contains(Ip("11.0.0.1")));
  CHECK(AddressPrefix::Parse("192.168.1.0/25")->Contains(Ip("192.168.1.127")));
  CHECK_FALSE(AddressPrefix::Parse("192.168.1.0/25")->Contains(Ip("192.168.1.128")));
  CHECK(AddressPrefix::Parse("::1")->Contains(Ip("::1")));
  CHECK_FALSE(AddressPrefix::Parse("::1")->Contains(Ip("127.0.0.1")));  // families differ
  CHECK(AddressPrefix::Parse("2001:db8::/32")->Contains(Ip("2001:db8:ffff::1")));
  CHECK(AddressPrefix::Parse("0.0.0.0/0")->Contains(Ip("8.8.8.8")));
  CHECK(AddressPrefix::Parse("10.0.0.0/8")->ToString() == "10.0.0.0/8");
  CHECK(AddressPrefix::Parse("127.0.0.1")->ToString() == "127.0.0.1");
  CHECK_FALSE(AddressPrefix::Parse("10.0.0.0/33").ok());
  CHECK_FALSE(AddressPrefix::Parse("10.0.0.0/").ok());
  CHECK_FALSE(AddressPrefix::Parse("10.1.2.3/8").ok());  // host bits set
  CHECK_FALSE(AddressPrefix::Parse("proxy.example").ok());
  CHECK_FALSE(AddressPrefix::Parse("::/129").ok());
}

TEST_CASE("header addresses: ports, brackets, mapped IPv4, junk") {
  CHECK(ParseHeaderAddress(" 203.0.113.9 ") == Ip("203.0.113.9"));
  CHECK(ParseHeaderAddress("203.0.113.9:5678") == Ip("203.0.113.9"));
  CHECK(ParseHeaderAddress("2001:db8::7") == Ip("2001:db8::7"));
  CHECK(ParseHeaderAddress("[2001:db8::7]") == Ip("2001:db8::7"));
  CHECK(ParseHeaderAddress("[2001:db8::7]:443") == Ip("2001:db8::7"));
  CHECK(ParseHeaderAddress("::ffff:198.51.100.2") == Ip("198.51.100.2"));
  CHECK_FALSE(ParseHeaderAddress("unknown").has_value());
  CHECK_FALSE(ParseHeaderAddress("").has_value());
  CHECK_FALSE(ParseHeaderAddress("1.2.3.4:x").has_value());
  CHECK_FALSE(ParseHeaderAddress("[1.2.3.4]").has_value());
  CHECK_FALSE(ParseHeaderAddress("[::1").has_value());
  CHECK_FALSE(ParseHeaderAddress("[::1]x").has_value());
}

TEST_CASE("off by default: the header is ignored and the peer is the client") {
  TestRequest r("X-Forwarded-For: 203.0.113.9\r\n");
  const auto got = ResolveClientAddress(Ip("127.0.0.1"), r.request, ProxyPolicy{});
  CHECK(std::get<http::IpAddress>(got) == Ip("127.0.0.1"));
}

TEST_CASE("from an address that is not a trusted proxy, the header is ignored") {
  TestRequest r("X-Forwarded-For: 203.0.113.9\r\n");
  const auto got = ResolveClientAddress(Ip("198.51.100.1"), r.request,
                                        Policy("X-Forwarded-For", {"127.0.0.1"}));
  CHECK(std::get<http::IpAddress>(got) == Ip("198.51.100.1"));
}

TEST_CASE("X-Forwarded-For from a trusted proxy: the rightmost untrusted address") {
  const ProxyPolicy p = Policy("X-Forwarded-For", {"127.0.0.1", "10.0.0.0/8"});
  SUBCASE("one hop") {
    TestRequest r("x-forwarded-for: 203.0.113.9\r\n");  // names compare case-insensitively
    CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("127.0.0.1"), r.request, p)) ==
          Ip("203.0.113.9"));
  }
  SUBCASE("a client that forges the header's start does not get its way") {
    TestRequest r("X-Forwarded-For: 1.1.1.1, 203.0.113.9\r\n");
    CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("127.0.0.1"), r.request, p)) ==
          Ip("203.0.113.9"));
  }
  SUBCASE("chained trusted proxies are skipped") {
    TestRequest r("X-Forwarded-For: 203.0.113.9, 10.1.1.1,10.2.2.2\r\n");
    CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("127.0.0.1"), r.request, p)) ==
          Ip("203.0.113.9"));
  }
  SUBCASE("only proxies: the leftmost") {
    TestRequest r("X-Forwarded-For: 10.9.9.9, 10.1.1.1\r\n");
    CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("127.0.0.1"), r.request, p)) ==
          Ip("10.9.9.9"));
  }
  SUBCASE("IPv6 client behind an IPv4 proxy") {
    TestRequest r("X-Forwarded-For: [2001:db8::5]:51413\r\n");
    CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("127.0.0.1"), r.request, p)) ==
          Ip("2001:db8::5"));
  }
}

TEST_CASE("a trusted proxy without a valid header gets a failure reason") {
  const ProxyPolicy p = Policy("X-Forwarded-For", {"127.0.0.1"});
  const struct {
    const char* headers;
    std::string_view reason;
  } cases[] = {
      {"", kProxyHeaderMissing},
      {"X-Forwarded-For:   \r\n", kProxyHeaderMissing},
      {"X-Forwarded-For: garbage\r\n", kProxyHeaderInvalid},
      {"X-Forwarded-For: 203.0.113.9, junk\r\n", kProxyHeaderInvalid},
      {"X-Forwarded-For: ,\r\n", kProxyHeaderInvalid},
      {"X-Forwarded-For: 1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\n", kProxyHeaderInvalid},
  };
  for (const auto& c : cases) {
    CAPTURE(c.headers);
    TestRequest r(c.headers);
    const auto got = ResolveClientAddress(Ip("127.0.0.1"), r.request, p);
    REQUIRE(std::holds_alternative<std::string_view>(got));
    CHECK(std::get<std::string_view>(got) == c.reason);
  }
}

TEST_CASE("X-Real-IP: exactly one address") {
  const ProxyPolicy p = Policy("X-Real-IP", {"::1"});
  TestRequest good("X-Real-IP: 203.0.113.77\r\n");
  CHECK(std::get<http::IpAddress>(ResolveClientAddress(Ip("::1"), good.request, p)) ==
        Ip("203.0.113.77"));
  TestRequest list("X-Real-IP: 203.0.113.77, 10.0.0.1\r\n");
  CHECK(std::holds_alternative<std::string_view>(ResolveClientAddress(Ip("::1"), list.request, p)));
}

}  // namespace
}  // namespace reef::http_server
