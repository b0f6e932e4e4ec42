// MetricsServer: the "metrics" worker, a small HTTP/1.1 listener of its own that answers
// GET /metrics with the registry's text format.
//
// It is separate from the tracker's HTTP listeners so that it can listen where only the
// monitoring system reaches (127.0.0.1 by default) and so that a flood of tracker traffic
// cannot starve a scrape. It is small on purpose: one thread, one epoll set over
// non-blocking sockets, one request per connection (Connection: close, which Prometheus
// handles), every buffer and wait bounded:
//   - at most max_connections open at once; more are accepted and closed at once;
//   - a request head of at most kMaxRequestBytes, parsed by protocol/http's ParseRequest;
//     bad or oversized heads get 400 (431 when too large), other methods 405, other paths
//     404, and the connection is closed;
//   - a connection has request_timeout from accept to the last byte sent, then it is
//     closed, whatever it did (slow senders and readers alike);
//   - it also runs the registry's expiry on a schedule (every stale_after / 4), so idle
//     labelled series age without a scrape.
// Nothing a client sends ends the worker; only a failing epoll does.
#ifndef REEF_SERVER_METRICS_METRICS_SERVER_H_
#define REEF_SERVER_METRICS_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/http_page.h"
#include "server/common/socket_address.h"
#include "server/common/worker.h"
#include "server/metrics/metrics_config.h"
#include "server/metrics/registry.h"

namespace reef::metrics {

inline constexpr size_t kMaxRequestBytes = 8192;

struct MetricsServerOptions {
  // Where to listen, one socket each. Port 0 lets the kernel pick (bound() says which).
  std::vector<SocketAddress> listen;
  std::string path = "/metrics";
  size_t max_connections = 16;
  absl::Duration request_timeout = absl::Seconds(10);
  // Other pages on the same listener (the statistics page), rendered on the worker's
  // thread, per request.
  std::vector<HttpPage> pages;
};

class MetricsServer final : public Worker {
 public:
  // Binds and listens now (on the main thread, before privileges are dropped). `registry`
  // must outlive the server. An address that cannot be bound is an error naming it (for
  // EADDRINUSE, code kUnavailable, so the caller can tell a taken port apart).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Bind(const MetricsServerOptions& options,
                                                             Registry& registry);
  ~MetricsServer() override;

  // The addresses bound, ports resolved, in the order of options.listen.
  const std::vector<SocketAddress>& bound() const { return bound_; }

  absl::Status Run(const StopSignal& stop) override;

 private:
  struct Connection;
  MetricsServer(const MetricsServerOptions& options, Registry& registry);
  // Reads and answers; false when the connection is done (closed by the caller).
  bool OnReadable(Connection& connection);
  bool OnWritable(Connection& connection);
  void Respond(Connection& connection, int status, std::string_view content_type,
               std::string body);

  const MetricsServerOptions options_;
  Registry& registry_;
  std::vector<int> listen_fds_;
  std::vector<SocketAddress> bound_;
};

// The "metrics" worker the [metrics] section asks for, bound now: nullptr when metrics
// are off, or when the default address is taken (a second reef on the machine: logged,
// reef serves on without metrics). An address the config chose that cannot be bound is
// an error, which stops reef at start.
absl::StatusOr<std::unique_ptr<MetricsServer>> BuildMetricsServer(
    const MetricsConfig& config, Registry& registry, std::vector<HttpPage> pages = {});

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_METRICS_SERVER_H_
