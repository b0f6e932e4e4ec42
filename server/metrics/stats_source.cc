#include "server/metrics/stats_source.h"

#include <cstdint>
#include <limits>
#include <utility>

#include "server/common/clock.h"
#include "server/common/periodic.h"
#include "server/common/strings.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/webtorrent_metrics.h"
#include "server/metrics/worker_metrics.h"

namespace reef::metrics {
namespace {

// scheme://HOST:PORT/announce, HOST being `public_host` if set, else the address itself.
std::string AnnounceUrl(std::string_view scheme, const SocketAddress& address,
                        const std::string& public_host) {
  // ToString() is "1.2.3.4:6969" or "[::1]:6969".
  const std::string host_port =
      public_host.empty() ? address.ToString() : StrCat(public_host, ":", address.port());
  return StrCat(scheme, "://", host_port, "/announce");
}

// A rate whose text is as long as a rate's can be: 17 significant digits and a
// three-digit exponent ("1.2345678901234567e+200"), rounded to two decimals or not.
constexpr double kLongestRate = 1.2345678901234567e+200;

}  // namespace

StatsSource::StatsSource(const ServerObservables& observed, absl::Time start,
                         std::vector<tracker::Protocol> protocols,
                         std::vector<std::string> announce_urls, std::string homepage,
                         std::string json_link)
    : observed_(observed),
      start_(start),
      protocols_(std::move(protocols)),
      announce_urls_(std::move(announce_urls)),
      homepage_(std::move(homepage)),
      json_link_(std::move(json_link)) {}

void StatsSource::Sample(absl::Duration now) {
  const ProtocolTotals totals = SumRequests(observed_);
  for (size_t p = 0; p < tracker::kProtocolCount; ++p) rates_[p].Record(now, totals.requests[p]);
  if (observed_.webtorrent != nullptr) webtorrent_rate_.Record(now, SumWebTorrentMessages(observed_));
}

StatsData StatsSource::Data(absl::Time now) const {
  StatsData data;
  data.version = std::string(kReefVersion);
  data.uptime_s = std::max<int64_t>(0, absl::ToInt64Seconds(now - start_));
  swarm::StoreStats store;
  if (observed_.store != nullptr) store = observed_.store->Stats();
  data.torrents = store.torrents;
  data.seeders = store.seeders;
  data.leechers = store.leechers;
  data.peers = {{"ipv4", store.peers_v4}, {"ipv6", store.peers_v6}};
  const ProtocolTotals totals = SumRequests(observed_);
  for (tracker::Protocol protocol : protocols_) {
    const auto p = static_cast<size_t>(protocol);
    data.protocols.push_back({std::string(tracker::ProtocolName(protocol)), totals.requests[p],
                              rates_[p].PerSecond()});
  }
  if (observed_.webtorrent != nullptr) {
    const ws::WebTorrentStoreStats webtorrent = observed_.webtorrent->Stats();
    data.webtorrent = StatsData::WebTorrent{.torrents = webtorrent.torrents,
                                            .seeders = webtorrent.seeders,
                                            .leechers = webtorrent.leechers};
    data.protocols.push_back(
        {"webtorrent", SumWebTorrentMessages(observed_), webtorrent_rate_.PerSecond()});
  }
  data.announce_urls = announce_urls_;
  data.homepage = homepage_;
  data.json_link = json_link_;
  return data;
}

std::unique_ptr<Worker> MakeStatsSampler(StatsSource& source) {
  return std::make_unique<PeriodicWorker>(
      "stats", kStatsSamplePeriod,
      [&source](PeriodicWorker::Reason) {
        source.Sample(MonotonicNow());
        return absl::OkStatus();
      },
      /*run_at_start=*/true);
}

std::vector<HttpPage> StatsPages(const StatsSource& source, const std::string& path) {
  return {
      {path, "text/html; charset=utf-8",
       [&source] { return RenderStatsHtml(source.Data(absl::Now())); }},
      {path + ".json", "application/json",
       [&source] { return RenderStatsJson(source.Data(absl::Now())); }},
  };
}

std::string StatsJsonLink(const std::string& path) {
  return path.substr(path.rfind('/') + 1) + ".json";
}

size_t MaxStatsBodyBytes(const Config& config) {
  if (!config.metrics.stats_page) return 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  StatsData data;
  data.version = std::string(kReefVersion);
  data.uptime_s = std::numeric_limits<int64_t>::max();
  data.torrents = data.seeders = data.leechers = kMax;
  data.peers = {{"ipv4", kMax}, {"ipv6", kMax}};
  const bool udp = config.udp.enabled;
  const bool http = config.http.enabled;
  const bool webtorrent = http && config.ws.enabled;
  auto longest_urls = [&](std::string_view scheme, const std::vector<SocketAddress>& listen) {
    for (const SocketAddress& address : listen) {
      Endpoint longest = address.endpoint();
      longest.port = 65535;
      data.announce_urls.push_back(
          AnnounceUrl(scheme, SocketAddress::FromEndpoint(longest), config.metrics.public_host));
    }
  };
  if (udp) longest_urls("udp", config.udp.listen);
  if (http) longest_urls("http", config.http.listen);
  if (http) longest_urls("https", config.http_tls.listen);
  if (webtorrent) {
    longest_urls("ws", config.http.listen);
    longest_urls("wss", config.http_tls.listen);
    data.webtorrent = StatsData::WebTorrent{.torrents = kMax, .seeders = kMax, .leechers = kMax};
  }
  for (std::string_view name : {"udp", "http", "https", "webtorrent"}) {
    data.protocols.push_back({std::string(name), kMax, kLongestRate});
  }
  data.homepage = config.metrics.homepage;
  data.json_link = StatsJsonLink(config.metrics.stats_path);
  return std::max(RenderStatsHtml(data).size(), RenderStatsJson(data).size());
}

std::vector<std::string> AnnounceUrls(const ServerObservables& observed,
                                      const std::string& public_host) {
  std::vector<std::string> urls;
  auto add = [&](std::string_view scheme, const std::vector<SocketAddress>& bound) {
    for (const SocketAddress& address : bound) {
      std::string url = AnnounceUrl(scheme, address, public_host);
      if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(std::move(url));
    }
  };
  add("udp", observed.udp_bound);
  add("http", observed.http_bound);
  add("https", observed.https_bound);
  if (observed.webtorrent != nullptr) {
    add("ws", observed.http_bound);
    add("wss", observed.https_bound);
  }
  return urls;
}

}  // namespace reef::metrics
