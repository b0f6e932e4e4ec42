// Where the statistics page's numbers come from: the store's totals and the workers'
// counters (the same the metrics export), with [ws] on the WebTorrent swarm's totals and
// its messages as one more protocol ("webtorrent": ws and wss together), with each
// protocol's request rate over the last minute from samples the metrics worker takes
// every few seconds (Sample()).
#ifndef REEF_SERVER_METRICS_STATS_SOURCE_H_
#define REEF_SERVER_METRICS_STATS_SOURCE_H_

#include <array>
#include <string>
#include <vector>

#include "absl/time/time.h"
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

  // A sample of every protocol's total at monotonic time `now` (the metrics worker's tick).
  void Sample(absl::Duration now);
  // The page's numbers at wall time `now`.
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

// The announce URLs of what is served: udp://, http:// and https://HOST:PORT/announce for
// each address bound, and with [ws] on ws:// and wss:// for each HTTP and HTTPS address
// (WebSocket shares their listeners), HOST being `public_host` if set, else the address
// itself ([v6] in brackets).
std::vector<std::string> AnnounceUrls(const ServerObservables& observed,
                                      const std::string& public_host);

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_STATS_SOURCE_H_
