#include "server/metrics/exposition.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

namespace reef::metrics {
namespace {

constexpr FamilyInfo kRequests = {
    .name = "reef_requests_total",
    .help = "Requests received.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kTorrents = {
    .name = "reef_torrents",
    .help = "Torrents held.",
    .type = MetricType::kGauge,
};

TEST_CASE("families render with HELP and TYPE, series in the order first added") {
  Exposition out;
  out.Add(kRequests, {{"protocol", "udp"}, {"action", "announce"}}, uint64_t{3});
  out.Add(kTorrents, {}, uint64_t{7});
  out.Add(kRequests, {{"protocol", "udp"}, {"action", "connect"}}, uint64_t{1});
  CHECK(out.status().ok());
  CHECK(out.Render() ==
        "# HELP reef_requests_total Requests received.\n"
        "# TYPE reef_requests_total counter\n"
        "reef_requests_total{protocol=\"udp\",action=\"announce\"} 3\n"
        "reef_requests_total{protocol=\"udp\",action=\"connect\"} 1\n"
        "# HELP reef_torrents Torrents held.\n"
        "# TYPE reef_torrents gauge\n"
        "reef_torrents 7\n");
}

TEST_CASE("adding to an existing series sums: one block per worker") {
  Exposition out;
  for (uint64_t worker_value : {10u, 20u, 12u}) {
    out.Add(kRequests, {{"protocol", "udp"}}, worker_value);
  }
  out.Add(kTorrents, {}, 1.5);
  out.Add(kTorrents, {}, uint64_t{2});  // a double and an integer: a double
  CHECK(out.Find("reef_requests_total")->series.size() == 1);
  CHECK(std::get<uint64_t>(out.Find("reef_requests_total")->series[0].value) == 42);
  CHECK(std::get<double>(out.Find("reef_torrents")->series[0].value) == 3.5);
}

TEST_CASE("counters stay exact past 2^53") {
  Exposition out;
  const uint64_t big = (uint64_t{1} << 53) + 1;
  out.Add(kRequests, {}, big);
  CHECK(out.Render().find("reef_requests_total 9007199254740993\n") != std::string::npos);
  CHECK(FormatValue(std::numeric_limits<uint64_t>::max()) == "18446744073709551615");
}

TEST_CASE("values: shortest exact doubles, NaN and infinities as Prometheus writes them") {
  CHECK(FormatValue(0.1) == "0.1");
  CHECK(FormatValue(1e-9) == "1e-09");
  CHECK(FormatValue(-2.5) == "-2.5");
  CHECK(FormatValue(std::nan("")) == "NaN");
  CHECK(FormatValue(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(FormatValue(-std::numeric_limits<double>::infinity()) == "-Inf");
  const double third = 1.0 / 3;
  CHECK(std::stod(FormatValue(third)) == third);
}

TEST_CASE("HELP escapes backslash and newline; label values also the double quote") {
  CHECK(EscapeHelp("a\\b\nc\"d") == "a\\\\b\\nc\"d");
  CHECK(EscapeLabelValue("a\\b\nc\"d") == "a\\\\b\\nc\\\"d");
  Exposition out;
  out.Add({.name = "reef_x", .help = "line one\nline \\two", .type = MetricType::kGauge},
          {{"client", "say \"hi\"\n"}}, uint64_t{1});
  CHECK(out.Render() ==
        "# HELP reef_x line one\\nline \\\\two\n"
        "# TYPE reef_x gauge\n"
        "reef_x{client=\"say \\\"hi\\\"\\n\"} 1\n");
}

TEST_CASE("bytes that are not UTF-8 become U+FFFD; valid UTF-8 passes") {
  CHECK(EscapeLabelValue("\xC3\xA9t\xC3\xA9") == "\xC3\xA9t\xC3\xA9");  // été
  CHECK(EscapeLabelValue("\xF0\x9F\x90\x9F") == "\xF0\x9F\x90\x9F");    // U+1F41F
  CHECK(EscapeLabelValue("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(EscapeLabelValue("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");     // overlong '/'
  CHECK(EscapeLabelValue("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  CHECK(EscapeLabelValue("\xE2\x82") == "\xEF\xBF\xBD\xEF\xBF\xBD");     // cut short
  CHECK(EscapeHelp("\x80") == "\xEF\xBF\xBD");
}

TEST_CASE("names follow Prometheus' grammar and reef's conventions") {
  CHECK(CheckFamilyName("reef_requests_total", MetricType::kCounter).ok());
  CHECK(CheckFamilyName("reef_torrents", MetricType::kGauge).ok());
  CHECK(CheckFamilyName("process_open_fds", MetricType::kGauge).ok());
  CHECK_FALSE(CheckFamilyName("reef_requests", MetricType::kCounter).ok());   // no _total
  CHECK_FALSE(CheckFamilyName("reef_peers_total", MetricType::kGauge).ok());  // gauge _total
  CHECK_FALSE(CheckFamilyName("requests_total", MetricType::kCounter).ok());  // no prefix
  CHECK_FALSE(CheckFamilyName("reef-x", MetricType::kGauge).ok());
  CHECK_FALSE(CheckFamilyName("", MetricType::kGauge).ok());
  CHECK_FALSE(CheckFamilyName("9reef", MetricType::kGauge).ok());
  CHECK(CheckLabelName("protocol").ok());
  CHECK(CheckLabelName("_x1").ok());
  CHECK_FALSE(CheckLabelName("__name__").ok());
  CHECK_FALSE(CheckLabelName("le").ok());
  CHECK_FALSE(CheckLabelName("quantile").ok());
  CHECK_FALSE(CheckLabelName("1x").ok());
  CHECK_FALSE(CheckLabelName("a-b").ok());
  CHECK_FALSE(CheckLabelName("").ok());
}

TEST_CASE("a family or series that breaks a rule is left out and status() says why") {
  Exposition out;
  out.Add({.name = "reef_bad", .help = "x", .type = MetricType::kCounter}, {}, uint64_t{1});
  CHECK(out.status().message().find("must end in _total") != std::string::npos);
  out.Add(kTorrents, {{"bad-label", "x"}}, uint64_t{1});
  out.Add(kRequests, {}, -1.0);  // a counter cannot go below zero
  out.Add(kRequests, {}, std::nan(""));
  out.Add({.name = "reef_requests_total", .help = "other help", .type = MetricType::kCounter},
          {}, uint64_t{1});  // same name, different help
  out.Add({.name = "reef_nohelp", .help = "", .type = MetricType::kGauge}, {}, uint64_t{1});
  CHECK(out.Render() ==
        "# HELP reef_torrents Torrents held.\n"
        "# TYPE reef_torrents gauge\n"
        "# HELP reef_requests_total Requests received.\n"
        "# TYPE reef_requests_total counter\n");
  Exposition fine;
  fine.Add(kRequests, {}, uint64_t{1});
  CHECK(fine.status().ok());
}

TEST_CASE("a family holds at most kMaxSeriesPerFamily series") {
  Exposition out;
  for (size_t i = 0; i <= kMaxSeriesPerFamily; ++i) {
    out.Add(kTorrents, {{"i", std::to_string(i)}}, uint64_t{1});
  }
  CHECK(out.Find("reef_torrents")->series.size() == kMaxSeriesPerFamily);
  CHECK(out.status().code() == absl::StatusCode::kResourceExhausted);
}

TEST_CASE("Declare writes HELP and TYPE of a family without series; RemoveSeriesIf") {
  Exposition out;
  out.Declare(kTorrents);
  CHECK(out.Render() == "# HELP reef_torrents Torrents held.\n# TYPE reef_torrents gauge\n");
  out.Add(kTorrents, {{"a", "1"}}, uint64_t{1});
  out.Add(kTorrents, {{"a", "2"}}, uint64_t{2});
  out.RemoveSeriesIf("reef_torrents",
                     [](const Exposition::Series& s) { return s.labels == "{a=\"1\"}"; });
  out.Add(kTorrents, {{"a", "2"}}, uint64_t{1});  // the index still finds the kept one
  REQUIRE(out.Find("reef_torrents")->series.size() == 1);
  CHECK(std::get<uint64_t>(out.Find("reef_torrents")->series[0].value) == 3);
}

}  // namespace
}  // namespace reef::metrics
