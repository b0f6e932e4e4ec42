// Where the statistics page's numbers come from: the store's totals and the workers'
// counters (the same the metrics export), with [ws] on the WebTorrent swarm's totals and
// its messages as one more protocol ("webtorrent": ws and wss together), with each
// protocol's request rate over the last minute from samples a worker of its own takes
// every few seconds (MakeStatsSampler), whether or not the metrics listener is on.
//
// The page is served by the HTTP(S) tracker workers and by the metrics worker: Data()
// runs on any of their threads, several at once, while the sampler writes. It only reads
// atomic counters and the store's locked totals, and the rate windows lock (the page is
// never on the announce path).
#ifndef REEF_SERVER_METRICS_STATS_SOURCE_H_
#define REEF_SERVER_METRICS_STATS_SOURCE_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/common/http_page.h"
#include "server/common/worker.h"
#include "server/config.h"
#include "server/metrics/stats_page.h"
#include "server/protocol_workers.h"
#include "server/tracker/counters.h"

namespace reef::metrics {

class StatsSource {
 public:
  // `observed` must outlive this. `protocols` are the ones reef serves (the page lists
  // those); `announce_urls` and `homepage` are shown as they are (escaped).
  StatsSource(const ServerObservables& observed, absl::Time start,
              std::vector<tracker::Protocol> protocols, std::vector<std::string> announce_urls,
              std::string homepage, std::string json_link);

  // A sample of every protocol's total at monotonic time `now` (the sampler's tick).
  void Sample(absl::Duration now);
  // The page's numbers at wall time `now`. Any thread, several at once.
  StatsData Data(absl::Time now) const;

 private:
  const ServerObservables& observed_;
  const absl::Time start_;
  const std::vector<tracker::Protocol> protocols_;
  const std::vector<std::string> announce_urls_;
  const std::string homepage_;
  const std::string json_link_;
  std::array<RateWindow, tracker::kProtocolCount> rates_;
  RateWindow webtorrent_rate_;
};

// How often the sampler samples: a minute's rate is known 5 s after start.
inline constexpr absl::Duration kStatsSamplePeriod = absl::Seconds(5);

// The "stats" worker: samples `source` at start and every kStatsSamplePeriod. `source`
// must outlive it.
std::unique_ptr<Worker> MakeStatsSampler(StatsSource& source);

// The page at `path` and its JSON at `path` + ".json", each rendered from `source` per
// request, at the time of the request. `source` must outlive them.
std::vector<HttpPage> StatsPages(const StatsSource& source, const std::string& path);

// The JSON's link relative to the page at `path`: "stats.json" for "/stats".
std::string StatsJsonLink(const std::string& path);

// The most bytes the page or its JSON can take under `config` (0 with the page off): both
// rendered with every number at its longest and, for every listen address, an announce
// URL at its longest (port 65535, none merged). The HTTP listeners size their output by it.
size_t MaxStatsBodyBytes(const Config& config);

// The announce URLs of what is served: udp://, http:// and https://HOST:PORT/announce for
// each address bound, and with [ws] on ws:// and wss:// for each HTTP and HTTPS address
// (WebSocket shares their listeners), HOST being `public_host` if set, else the address
// itself ([v6] in brackets).
std::vector<std::string> AnnounceUrls(const ServerObservables& observed,
                                      const std::string& public_host);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_STATS_SOURCE_H_
