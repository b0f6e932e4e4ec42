#include "server/http/full_scrape.h"

#include <doctest/doctest.h>

namespace reef::http_server {
namespace {

http::IpAddress V4(uint8_t last) { return http::IpAddress::V4({192, 0, 2, last}); }

TEST_CASE("one full scrape per address per interval") {
  FullScrapeLimiter limiter(60, 100);
  CHECK(limiter.Allow(V4(1), 1000));
  CHECK_FALSE(limiter.Allow(V4(1), 1059));  // one second short
  CHECK(limiter.Allow(V4(2), 1059));        // another address is its own
  CHECK(limiter.Allow(V4(1), 1060));
  // Families are apart: the IPv6 address with the same first bytes is another client.
  std::array<uint8_t, 16> v6{192, 0, 2, 1};
  CHECK(limiter.Allow(http::IpAddress::V6(v6), 1060));
}

TEST_CASE("the table never holds more than max_clients; the expired make room") {
  FullScrapeLimiter limiter(60, 3);
  CHECK(limiter.Allow(V4(1), 0));
  CHECK(limiter.Allow(V4(2), 10));
  CHECK(limiter.Allow(V4(3), 20));
  CHECK_FALSE(limiter.Allow(V4(4), 30));  // full, nobody expired: refused
  CHECK(limiter.remembered() == 3);
  CHECK(limiter.Allow(V4(4), 60));        // V4(1) expired and made room
  CHECK(limiter.remembered() <= 3);
}

}  // namespace
}  // namespace reef::http_server
