// [metrics] as the config file reads it: every limit at and just past its bound.
#include "server/metrics/metrics_config.h"

#include <doctest/doctest.h>

#include <string>

#include "absl/strings/match.h"
#include "server/config.h"

namespace reef {
namespace {

std::string Error(const std::string& toml) {
  absl::StatusOr<Config> config = ParseConfig("[metrics]\n" + toml, "m.toml");
  return config.ok() ? "" : std::string(config.status().message());
}

TEST_CASE("[metrics] keys at their limits parse, just past them are refused") {
  CHECK(Error("max_connections = 1\n").empty());
  CHECK(Error("max_connections = 1024\n").empty());
  CHECK(Error("max_connections = 0\n") == "m.toml:2: metrics.max_connections: must be from 1 to 1024, got 0");
  CHECK(absl::StrContains(Error("max_connections = 1025\n"), "must be from 1 to 1024, got 1025"));
  CHECK(Error("request_timeout_seconds = 300\n").empty());
  CHECK(absl::StrContains(Error("request_timeout_seconds = 0\n"), "must be from 1 to 300"));
  CHECK(absl::StrContains(Error("request_timeout_seconds = 301\n"), "must be from 1 to 300"));
  CHECK(Error("stale_series_seconds = 60\n").empty());
  CHECK(absl::StrContains(Error("stale_series_seconds = 59\n"), "metrics.stale_series_seconds"));
  CHECK(Error("peer_client_max_series = 1\n").empty());
  CHECK(Error("peer_client_max_series = 1000\n").empty());
  CHECK(absl::StrContains(Error("peer_client_max_series = 0\n"), "must be from 1 to 1000"));
  CHECK(absl::StrContains(Error("peer_client_max_series = 1001\n"), "must be from 1 to 1000"));
  std::string eight = "listen = [";
  for (int i = 0; i < 8; ++i) eight += (i ? ", " : "") + std::string("\"127.0.0.1:") + std::to_string(9000 + i) + "\"";
  CHECK(Error(eight + "]\n").empty());
  CHECK_FALSE(Error(eight + ", \"127.0.0.1:9999\"]\n").empty());
}

TEST_CASE("[metrics] path and listen are checked") {
  CHECK(Error("path = \"/x/metrics\"\n").empty());
  CHECK(absl::StrContains(Error("path = \"metrics\"\n"), "metrics.path: must start with /"));
  CHECK(absl::StrContains(Error("path = \"/a b\"\n"), "must be printable ASCII without spaces"));
  CHECK(absl::StrContains(Error("path = \"/m?x=1\"\n"), "without spaces, ? or #"));
  CHECK(absl::StrContains(Error("path = \"/\xc3\xa9\"\n"), "printable ASCII"));
  CHECK(Error("path = \"/" + std::string(kMaxMetricsPathLength - 1, 'a') + "\"\n").empty());
  CHECK(absl::StrContains(Error("path = \"/" + std::string(kMaxMetricsPathLength, 'a') + "\"\n"),
                          "must be at most 256 characters"));
  CHECK(Error("listen = [\"[::1]:0\"]\n").empty());
  CHECK(absl::StrContains(Error("listen = []\n"),
                          "metrics.listen: must name at least one address while enabled is true"));
  CHECK(Error("enabled = false\nlisten = []\n").empty());
}

TEST_CASE("[metrics] the statistics page's keys are checked, at and past their limits") {
  CHECK(Error("stats_path = \"/status\"\nhomepage = \"https://example.org/\"\n").empty());
  CHECK(absl::StrContains(Error("stats_path = \"/metrics\"\n"),
                          "metrics.stats_path: must differ from path"));
  CHECK(Error("stats_page = false\nstats_path = \"/metrics\"\n").empty());
  // The HTTP tracker's own paths, on the listeners the page shares.
  CHECK(absl::StrContains(Error("stats_path = \"/announce\"\n"),
                          "metrics.stats_path: must differ from /announce"));
  CHECK(absl::StrContains(Error("stats_path = \"/scrape\"\n"), "must differ from /scrape"));
  CHECK(Error("stats_page = false\nstats_path = \"/scrape\"\n").empty());
  CHECK(Error("stats_path = \"/announce/stats\"\n").empty());
  CHECK(absl::StrContains(Error("stats_path = \"stats\"\n"), "must start with /"));
  CHECK(absl::StrContains(Error("homepage = \"javascript:alert(1)\"\n"),
                          "must start with http:// or https://"));
  const std::string longest = "https://e.org/" + std::string(kMaxHomepageLength - 14, 'a');
  CHECK(Error("homepage = \"" + longest + "\"\n").empty());
  CHECK(absl::StrContains(Error("homepage = \"" + longest + "a\"\n"), "must be at most 2048"));
  CHECK(Error("public_host = \"tracker.example.org\"\n").empty());
  CHECK(Error("public_host = \"[2001:db8::1]\"\n").empty());
  CHECK(Error("public_host = \"" + std::string(kMaxPublicHostLength, 'a') + "\"\n").empty());
  CHECK(absl::StrContains(Error("public_host = \"" + std::string(kMaxPublicHostLength + 1, 'a') + "\"\n"),
                          "must be at most 253"));
  CHECK(absl::StrContains(Error("public_host = \"a/b\"\n"), "must be a host name"));
}

}  // namespace
}  // namespace reef
