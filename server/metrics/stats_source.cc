#include "server/metrics/stats_source.h"

#include <utility>

#include "server/common/strings.h"
#include "server/metrics/process_metrics.h"
#include "server/metrics/webtorrent_metrics.h"
#include "server/metrics/worker_metrics.h"

namespace reef::metrics {

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

std::vector<std::string> AnnounceUrls(const ServerObservables& observed,
                                      const std::string& public_host) {
  std::vector<std::string> urls;
  auto add = [&](std::string_view scheme, const std::vector<SocketAddress>& bound) {
    for (const SocketAddress& address : bound) {
      // ToString() is "1.2.3.4:6969" or "[::1]:6969".
      const std::string host_port = public_host.empty()
                                        ? address.ToString()
                                        : StrCat(public_host, ":", address.port());
      std::string url = StrCat(scheme, "://", host_port, "/announce");
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
