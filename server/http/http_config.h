// [http] and [http.tls]: the HTTP(S) tracker protocol (BEP 3, 7, 23, 48): listeners,
// socket workers, every per-connection limit, the reverse-proxy header, and TLS.
#ifndef REEF_SERVER_HTTP_HTTP_CONFIG_H_
#define REEF_SERVER_HTTP_HTTP_CONFIG_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/common/config_section.h"
#include "server/common/socket_address.h"
#include "server/http/client_address.h"
#include "server/tcp/limits.h"

namespace reef {

// Limits on [http] values, named so that tests can probe just past them.
inline constexpr int kMaxHttpSocketWorkers = 256;
inline constexpr size_t kMaxHttpListenAddresses = 64;
inline constexpr int kMaxHttpConnectionsPerWorker = 1'000'000;
inline constexpr int kMinRequestHeadSize = 256;  // a request line and a few headers
inline constexpr int kMaxRequestHeadSize = 1 << 20;
inline constexpr int kMaxHttpHeaders = 1024;
inline constexpr int kMaxOutputSize = 64 << 20;
inline constexpr int64_t kMaxHttpTimeoutSeconds = 3600;
inline constexpr int64_t kMaxLingerTimeoutSeconds = 60;
inline constexpr size_t kMaxTrustedProxies = 256;
inline constexpr size_t kMaxClientIpHeaderLength = 64;

struct HttpConfig {
  bool enabled = true;
  // Checked: each parses, none repeats; not also in http.tls.listen.
  std::vector<SocketAddress> listen = DefaultListen();
  int socket_workers = 1;
  // Empty, or exactly socket_workers entries.
  std::vector<int> cpu_pinning;
  int max_connections = static_cast<int>(tcp::kDefaultMaxConnections);  // per worker
  int max_request_head_size = static_cast<int>(tcp::kDefaultMaxHeadBytes);
  int max_headers = static_cast<int>(tcp::kDefaultMaxHeaders);
  absl::Duration request_head_timeout = absl::Milliseconds(tcp::kDefaultHeadTimeoutMs);
  absl::Duration keep_alive_timeout = absl::Milliseconds(tcp::kDefaultKeepAliveTimeoutMs);
  absl::Duration write_timeout = absl::Milliseconds(tcp::kDefaultWriteTimeoutMs);
  absl::Duration linger_timeout = absl::Milliseconds(tcp::kDefaultLingerTimeoutMs);
  // At least the largest answer the [swarm] limits allow, encrypted (CheckWith).
  int max_output_size = static_cast<int>(tcp::kDefaultMaxOutputBytes);
  // Empty: off (every such header is ignored). Else a header name.
  std::string client_ip_header;
  // Who may set client_ip_header; required when it is set.
  std::vector<http_server::AddressPrefix> trusted_proxies;

  static std::vector<SocketAddress> DefaultListen();
  http_server::ProxyPolicy Proxy() const;
  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

struct HttpTlsConfig {
  // Empty: no HTTPS.
  std::vector<SocketAddress> listen;
  std::string certificate_chain;  // PEM file; required when listen is not empty
  std::string private_key;        // PEM file; required when listen is not empty
  absl::Duration handshake_timeout = absl::Milliseconds(tcp::kDefaultTlsHandshakeTimeoutMs);
  friend bool operator==(const HttpTlsConfig&, const HttpTlsConfig&) = default;
};

// The connection limits both sections set.
tcp::ConnectionLimits HttpConnectionLimits(const HttpConfig& http, const HttpTlsConfig& tls);

// Reads [swarm] too (CheckWith): the output buffer must hold the largest answer the swarm
// limits allow, and [http.tls]: no address is both plain and TLS. Checks on the machine
// (CheckSystem): the pinned CPUs are usable, and [http.tls]'s certificate and key load and
// match.
const config::Section<HttpConfig>& HttpSection();
const config::Section<HttpTlsConfig>& HttpTlsSection();

}  // namespace reef

#endif  // REEF_SERVER_HTTP_HTTP_CONFIG_H_
