// The statistics page: GET /stats (HTML, for people) and /stats.json (the same numbers,
// for scripts), served on the tracker's HTTP listeners.
//
// What it shows: torrents, peers by address family, the WebTorrent swarm's torrents and
// peers (a swarm of its own, not in the totals), requests by protocol (WebTorrent's
// messages as "webtorrent") with their rate over the last minute, uptime and version, the tracker's own announce URLs for each
// enabled protocol (ready to copy: one click selects a whole URL), and a link to the
// homepage the config names. The page is self-contained: no script, no external asset (a
// Content-Security-Policy meta tag forbids them), every text it prints escaped. Each
// number is in an element with a data-stat attribute naming its /stats.json key, so a
// test (and a person) can check the two agree.
//
// Rendering allocates; it runs per page view, never on the announce path.
#ifndef REEF_SERVER_METRICS_STATS_PAGE_H_
#define REEF_SERVER_METRICS_STATS_PAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "server/common/mutex.h"

namespace reef::metrics {

struct StatsData {
  std::string version;
  int64_t uptime_s = 0;
  uint64_t torrents = 0;
  uint64_t seeders = 0;
  uint64_t leechers = 0;
  struct Family {
    std::string name;  // "ipv4", "ipv6"
    uint64_t peers = 0;
  };
  std::vector<Family> peers;
  // The WebTorrent swarm, with [ws] on: kept apart from the peers above, so not in the
  // torrents, peers, seeders and leechers totals.
  struct WebTorrent {
    uint64_t torrents = 0;
    uint64_t seeders = 0;
    uint64_t leechers = 0;
  };
  std::optional<WebTorrent> webtorrent;
  struct Protocol {
    std::string name;       // "udp", "http", ..., "webtorrent"
    uint64_t requests = 0;  // since start
    std::optional<double> per_second;  // over the last minute; nullopt until known
  };
  std::vector<Protocol> protocols;
  std::vector<std::string> announce_urls;
  std::string homepage;  // empty: no link
  // The link to the JSON, relative to the page ("stats.json" for /stats).
  std::string json_link = "stats.json";
};

std::string RenderStatsHtml(const StatsData& data);
std::string RenderStatsJson(const StatsData& data);

// Text as HTML character data or a double-quoted attribute value: & < > " ' escaped, and
// bytes that are not UTF-8 become U+FFFD.
std::string EscapeHtml(std::string_view text);

// "3d 4h 5m 6s", "59s".
std::string FormatUptime(int64_t seconds);

// A counter's rate over the last `window`, from samples of its running total taken on a
// schedule (the stats sampler, every few seconds). Thread-safe.
class RateWindow {
 public:
  explicit RateWindow(absl::Duration window = absl::Minutes(1)) : window_(window) {}
  // A sample of the total at monotonic time `now`. Samples go forward in time; an older
  // one is ignored. A total below the last one (a restarted counter) starts afresh.
  void Record(absl::Duration now, uint64_t total);
  // Per second between the newest sample and the one taken about `window` before it
  // (the newest that is at least `window` older, else the oldest kept); nullopt with
  // fewer than two samples.
  std::optional<double> PerSecond() const;

 private:
  struct Sample {
    absl::Duration at;
    uint64_t total;
  };
  const absl::Duration window_;
  mutable Mutex mu_;
  std::vector<Sample> samples_ ABSL_GUARDED_BY(mu_);  // oldest first
};

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_STATS_PAGE_H_
