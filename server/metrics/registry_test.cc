#include "server/metrics/registry.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>


namespace reef::metrics {
namespace {

constexpr FamilyInfo kClients = {
    .name = "reef_peer_clients",
    .help = "Peers by client.",
    .type = MetricType::kGauge,
    .expires = true,
};
constexpr FamilyInfo kErrors = {
    .name = "reef_errors_total",
    .help = "Errors by reason.",
    .type = MetricType::kCounter,
    .expires = true,
};
constexpr FamilyInfo kFixed = {
    .name = "reef_torrents",
    .help = "Torrents.",
    .type = MetricType::kGauge,
};

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST_CASE("collectors run in order at each render and see current values") {
  Registry registry;
  uint64_t torrents = 1;
  registry.AddCollector([&](Exposition& out) { out.Add(kFixed, {}, torrents); });
  registry.AddCollector([&](Exposition& out) { out.Add(kFixed, {}, uint64_t{10}); });
  CHECK(Has(registry.Render(), "reef_torrents 11\n"));
  torrents = 5;
  CHECK(Has(registry.Render(), "reef_torrents 15\n"));
}

TEST_CASE("a gauge series at zero leaves the export after stale_after, and comes back") {
  FakeClock clock;
  Registry registry({.stale_after = absl::Minutes(10)}, clock);
  uint64_t qbittorrent = 3;
  registry.AddCollector([&](Exposition& out) {
    out.Add(kClients, {{"client", "qBittorrent"}}, qbittorrent);
    out.Add(kClients, {{"client", "Transmission"}}, uint64_t{2});
    out.Add(kFixed, {}, uint64_t{0});  // not expiring: zero stays
  });
  const std::string qb = "reef_peer_clients{client=\"qBittorrent\"}";
  CHECK(Has(registry.Render(), qb + " 3\n"));
  qbittorrent = 0;  // its last peer left
  clock.Advance(60);
  CHECK(Has(registry.Render(), qb + " 0\n"));  // a change: seen now, at +1 min
  clock.Advance(300);
  CHECK(Has(registry.Render(), qb + " 0\n"));  // zero and unchanged: not seen
  clock.Advance(300);  // exactly stale_after since last seen
  CHECK(Has(registry.Render(), qb + " 0\n"));
  clock.Advance(1);    // just past it
  std::string text = registry.Render();
  CHECK_FALSE(Has(text, qb));
  CHECK(Has(text, "reef_peer_clients{client=\"Transmission\"} 2\n"));  // non-zero: seen
  CHECK(Has(text, "reef_torrents 0\n"));
  CHECK(Has(text, "# TYPE reef_peer_clients gauge"));
  qbittorrent = 1;  // a qBittorrent peer again
  clock.Advance(18000);
  CHECK(Has(registry.Render(), qb + " 1\n"));
}

TEST_CASE("a counter series that stops changing leaves after stale_after") {
  FakeClock clock;
  Registry registry({.stale_after = absl::Seconds(60)}, clock);
  uint64_t errors = 5;
  registry.AddCollector([&](Exposition& out) { out.Add(kErrors, {{"reason", "x"}}, errors); });
  const std::string series = "reef_errors_total{reason=\"x\"} ";
  CHECK(Has(registry.Render(), series + "5\n"));
  clock.Advance(50);
  errors = 6;  // changed: seen now
  CHECK(Has(registry.Render(), series + "6\n"));
  clock.Advance(60);
  CHECK(Has(registry.Render(), series + "6\n"));
  clock.Advance(1);
  CHECK_FALSE(Has(registry.Render(), series));
  errors = 7;  // changes again: back with its whole count
  clock.Advance(1);
  CHECK(Has(registry.Render(), series + "7\n"));
}

TEST_CASE("the schedule ages series without a scrape; what is no longer reported is forgotten") {
  FakeClock clock;
  Registry registry({.stale_after = absl::Seconds(60)}, clock);
  uint64_t errors = 1;
  bool report = true;
  registry.AddCollector([&](Exposition& out) {
    if (report) out.Add(kErrors, {{"reason", "x"}}, errors);
  });
  registry.Expire();  // seen at t
  clock.Advance(30);
  errors = 2;
  registry.Expire();  // changed at t+30, with no scrape in between
  clock.Advance(45);
  CHECK(Has(registry.Render(), "reef_errors_total{reason=\"x\"} 2\n"));  // 45 s since seen
  report = false;
  registry.Expire();
  report = true;  // reported again after a gap: a new series, seen now
  clock.Advance(59);
  CHECK(Has(registry.Render(), "reef_errors_total{reason=\"x\"} 2\n"));
}

TEST_CASE("SeriesExpiry remembers only the series currently reported") {
  SeriesExpiry expiry(absl::Seconds(10));
  for (int round = 0; round < 5; ++round) {
    Exposition out;
    for (int i = 0; i < 100; ++i) {
      out.Add(kClients, {{"client", std::to_string(round * 100 + i)}}, uint64_t{1});
    }
    expiry.Apply(out, absl::Seconds(round));
    CHECK(expiry.tracked() == 100);
  }
}

}  // namespace
}  // namespace reef::metrics
