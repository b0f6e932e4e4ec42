#include "server/metrics/stats_page.h"

#include <doctest/doctest.h>

#include <string>

#include "protocol/ws/json.h"

namespace reef::metrics {
namespace {

bool Has(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

StatsData Sample() {
  StatsData data;
  data.version = "0.1.0";
  data.uptime_s = 93784;  // 1d 2h 3m 4s
  data.torrents = 12;
  data.seeders = 30;
  data.leechers = 70;
  data.peers = {{"ipv4", 90}, {"ipv6", 10}};
  data.protocols = {{"udp", 1000, 12.345}, {"http", 50, std::nullopt}};
  data.announce_urls = {"udp://tracker.example:6969/announce",
                        "http://tracker.example:6969/announce"};
  data.homepage = "https://example.org/";
  return data;
}

TEST_CASE("the page shows every number with the /stats.json key it matches") {
  const std::string html = RenderStatsHtml(Sample());
  CHECK(Has(html, "<span data-stat=\"torrents\">12</span>"));
  CHECK(Has(html, "<span data-stat=\"peers\">100</span>"));
  CHECK(Has(html, "<span data-stat=\"seeders\">30</span>"));
  CHECK(Has(html, "<span data-stat=\"leechers\">70</span>"));
  CHECK(Has(html, "<span data-stat=\"peers.ipv6\">10</span>"));
  CHECK(Has(html, "<span data-stat=\"requests.udp\">1000</span>"));
  CHECK(Has(html, "<span data-stat=\"requests_per_second.udp\">12.35</span>"));
  CHECK(Has(html, "<span data-stat=\"requests_per_second\">12.35</span>"));  // http unknown
  CHECK(Has(html, "<span data-stat=\"uptime_s\" data-value=\"93784\">1d 2h 3m 4s</span>"));
  CHECK(Has(html, "<code class=\"url\" data-announce-url>udp://tracker.example:6969/announce</code>"));
  CHECK(Has(html, "<a rel=\"noopener noreferrer\" href=\"https://example.org/\">"));
  // Self-contained: no script, nothing loaded from elsewhere.
  CHECK_FALSE(Has(html, "<script"));
  CHECK_FALSE(Has(html, "src="));
  CHECK(Has(html, "default-src 'none'"));
}

TEST_CASE("/stats.json has the same numbers, and is valid JSON") {
  const std::string json = RenderStatsJson(Sample());
  CHECK(json ==
        "{\"version\":\"0.1.0\",\"uptime_s\":93784,\"torrents\":12,\"peers\":100,"
        "\"seeders\":30,\"leechers\":70,\"peers_by_family\":{\"ipv4\":90,\"ipv6\":10},"
        "\"webtorrent\":null,\"requests\":{\"udp\":1000,\"http\":50},\"requests_per_second\":12.35,"
        "\"requests_per_second_by_protocol\":{\"udp\":12.35,\"http\":null},"
        "\"announce_urls\":[\"udp://tracker.example:6969/announce\","
        "\"http://tracker.example:6969/announce\"],\"homepage\":\"https://example.org/\"}\n");
  CHECK(ws::ValidateJson(json.substr(0, json.size() - 1)).ok());
}

TEST_CASE("with [ws] on, the WebTorrent swarm and its messages are on the page and in the JSON") {
  StatsData data = Sample();
  CHECK_FALSE(Has(RenderStatsHtml(data), "WebTorrent"));  // [ws] off: no section
  data.webtorrent = StatsData::WebTorrent{.torrents = 4, .seeders = 2, .leechers = 5};
  data.protocols.push_back({"webtorrent", 77, 1.5});
  const std::string html = RenderStatsHtml(data);
  CHECK(Has(html, "<h2>WebTorrent</h2>"));
  CHECK(Has(html, "<span data-stat=\"webtorrent.torrents\">4</span>"));
  CHECK(Has(html, "<span data-stat=\"webtorrent.peers\">7</span>"));
  CHECK(Has(html, "<span data-stat=\"webtorrent.seeders\">2</span>"));
  CHECK(Has(html, "<span data-stat=\"webtorrent.leechers\">5</span>"));
  CHECK(Has(html, "<span data-stat=\"requests.webtorrent\">77</span>"));
  CHECK(Has(html, "<span data-stat=\"requests_per_second.webtorrent\">1.5</span>"));
  // Apart from the BitTorrent totals; the request rate is every protocol's.
  CHECK(Has(html, "<span data-stat=\"peers\">100</span>"));
  CHECK(Has(html, "<span data-stat=\"requests_per_second\">13.85</span>"));
  const std::string json = RenderStatsJson(data);
  CHECK(ws::ValidateJson(json.substr(0, json.size() - 1)).ok());
  CHECK(Has(json, "\"peers\":100,"));
  CHECK(Has(json, "\"webtorrent\":{\"torrents\":4,\"peers\":7,\"seeders\":2,\"leechers\":5}"));
  CHECK(Has(json, "\"requests\":{\"udp\":1000,\"http\":50,\"webtorrent\":77}"));
  CHECK(Has(json, "\"requests_per_second_by_protocol\":{\"udp\":12.35,\"http\":null,\"webtorrent\":1.5}"));
}

TEST_CASE("everything printed is escaped: markup, quotes, bytes that are not UTF-8") {
  StatsData data = Sample();
  data.version = "<script>alert(1)</script>";
  data.homepage = "javascript:x\" onmouseover=\"alert(1)";
  data.announce_urls = {"http://a/<b>&'\"\xFF"};
  data.peers = {{"<i>", 1}};
  const std::string html = RenderStatsHtml(data);
  CHECK_FALSE(Has(html, "<script>"));
  CHECK(Has(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK(Has(html, "href=\"javascript:x&quot; onmouseover=&quot;alert(1)\""));
  CHECK(Has(html, "http://a/&lt;b&gt;&amp;&#39;&quot;\xEF\xBF\xBD"));
  CHECK(Has(html, "data-stat=\"peers.&lt;i&gt;\""));
  const std::string json = RenderStatsJson(data);
  CHECK(ws::ValidateJson(json.substr(0, json.size() - 1)).ok());
  CHECK(Has(json, "\"<script>alert(1)</script>\""));  // JSON strings need no HTML escaping
  CHECK(Has(json, "\xEF\xBF\xBD"));
  // No homepage: no link, and null in the JSON.
  data.homepage.clear();
  CHECK_FALSE(Has(RenderStatsHtml(data), "noopener"));
  CHECK(Has(RenderStatsJson(data), "\"homepage\":null"));
}

TEST_CASE("a large page still renders: the JSON buffer grows") {
  StatsData data = Sample();
  for (int i = 0; i < 2000; ++i) data.announce_urls.push_back("udp://host-" + std::to_string(i) + ":6969/announce");
  const std::string json = RenderStatsJson(data);
  CHECK(json.size() > 16 << 10);
  CHECK(ws::ValidateJson(json.substr(0, json.size() - 1)).ok());
}

TEST_CASE("uptime reads as days, hours, minutes, seconds") {
  CHECK(FormatUptime(0) == "0s");
  CHECK(FormatUptime(59) == "59s");
  CHECK(FormatUptime(60) == "1m 0s");
  CHECK(FormatUptime(3600) == "1h 0m 0s");
  CHECK(FormatUptime(86400 + 5) == "1d 0h 0m 5s");
  CHECK(FormatUptime(-5) == "0s");
}

TEST_CASE("RateWindow: the rate over about the last minute, from scheduled samples") {
  RateWindow rate(absl::Seconds(60));
  CHECK_FALSE(rate.PerSecond().has_value());
  rate.Record(absl::Seconds(100), 1000);
  CHECK_FALSE(rate.PerSecond().has_value());  // one sample: no rate yet
  rate.Record(absl::Seconds(110), 1100);
  CHECK(*rate.PerSecond() == doctest::Approx(10));
  // 5 samples per 10 s... a fast minute, then a slow one.
  for (int t = 120; t <= 160; t += 10) rate.Record(absl::Seconds(t), 1100 + uint64_t(t - 110) * 100);
  CHECK(*rate.PerSecond() == doctest::Approx(100.0 * 50 / 60 + 10.0 * 10 / 60));
  for (int t = 170; t <= 240; t += 10) rate.Record(absl::Seconds(t), 6100 + uint64_t(t - 160) * 2);
  CHECK(*rate.PerSecond() == doctest::Approx(2));  // only the last minute counts
  rate.Record(absl::Seconds(240), 99999);  // not later than the last: ignored
  CHECK(*rate.PerSecond() == doctest::Approx(2));
  rate.Record(absl::Seconds(250), 5);  // the counter went back (a restart): afresh
  CHECK_FALSE(rate.PerSecond().has_value());
}

}  // namespace
}  // namespace reef::metrics
