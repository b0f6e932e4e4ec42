// [metrics]: the Prometheus endpoint, and the optional peer-client count.
#ifndef REEF_SERVER_METRICS_METRICS_CONFIG_H_
#define REEF_SERVER_METRICS_METRICS_CONFIG_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/common/config_section.h"
#include "server/common/socket_address.h"
#include "server/metrics/peer_census.h"  // kMinPeerClientSeries, kMaxPeerClientSeries

namespace reef {

// Limits on [metrics] values, named so that tests can probe just past them.
inline constexpr size_t kMaxMetricsListenAddresses = 8;
inline constexpr int kMaxMetricsConnections = 1024;
inline constexpr int64_t kMaxMetricsRequestTimeoutSeconds = 300;
inline constexpr size_t kMaxMetricsPathLength = 256;
inline constexpr size_t kMaxHomepageLength = 2048;
inline constexpr size_t kMaxPublicHostLength = 253;  // a DNS name

struct MetricsConfig {
  bool enabled = true;
  std::vector<SocketAddress> listen = DefaultListen();
  std::string path = "/metrics";
  int max_connections = 16;
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration stale_series = absl::Seconds(900);
  bool peer_clients = false;
  int peer_client_max_series = 100;
  // The statistics page (stats_page.h), GET stats_path and stats_path + ".json".
  bool stats_page = true;
  std::string stats_path = "/stats";
  // What the page's announce URLs say the tracker is called ("" : the listen addresses).
  std::string public_host;
  // A link at the top of the page ("": none).
  std::string homepage;

  // 127.0.0.1:9469: loopback only, so nothing is exposed by accident.
  static std::vector<SocketAddress> DefaultListen();
  friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

const config::Section<MetricsConfig>& MetricsSection();

}  // namespace reef

#endif  // REEF_SERVER_METRICS_METRICS_CONFIG_H_
