// The HTTP(S) tracker's workers, built from [http] and [http.tls].
//
// For each of http.socket_workers workers: one SO_REUSEPORT listening socket per
// http.listen address (plain) and per http.tls.listen address (TLS), so that the kernel
// spreads new connections across the workers; a TcpWorker (server/tcp/tcp_worker.h) with
// its connection limits from the config; and an HttpTracker over its own tracker::Tracker
// (each worker has its own random generator and counters) sharing the store, access list
// and clock of every protocol. Everything that can fail at start fails here, on the main
// thread, before privileges are dropped: binding, loading the certificate and key,
// limits that cannot hold the largest answer. RLIMIT_NOFILE is raised to what the
// connection limits need, or a warning says why it cannot be.
//
// The certificate is loaded once into a TlsContextStore that every worker reads from;
// ReloadCertificate() (on SIGUSR1 and SIGHUP) loads the files again and swaps them in for
// new handshakes, or keeps the old ones and logs why.
#ifndef REEF_SERVER_HTTP_HTTP_SERVER_H_
#define REEF_SERVER_HTTP_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/http_page.h"
#include "server/common/socket_address.h"
#include "server/common/worker.h"
#include "server/http/http_config.h"
#include "server/tcp/tcp_worker.h"
#include "server/tcp/tls.h"
#include "server/tracker/tracker.h"

namespace reef::http_server {

struct HttpWorkers {
  // "http-0" .. "http-N-1", to be run by a Supervisor.
  std::vector<std::unique_ptr<Worker>> workers;
  // What each listen address was bound to, in order (port 0 resolved).
  std::vector<SocketAddress> bound;
  std::vector<SocketAddress> tls_bound;
  // The certificate every worker serves; null without HTTPS.
  std::shared_ptr<tcp::TlsContextStore> tls;
  // Each worker's counters, valid while its worker lives.
  std::vector<const tcp::TcpWorkerStats*> worker_stats;
  std::vector<const tcp::ConnectionStats*> connection_stats;
  // Each worker's TcpWorker, for what plugs into the same connections before they run
  // (WebSocket upgrades, server/ws/ws_server.h); valid while its worker lives.
  std::vector<tcp::TcpWorker*> tcp_workers;
  // Each worker's tracker core counters (announces, scrapes, refusals), for metrics.
  std::vector<const tracker::Counters*> core_counters;
};

// `pages` (may be null) are served besides /announce and /scrape, on every worker; they
// must outlive the workers. When http.max_output_size cannot hold pages->max_body_bytes
// beside the largest answer, reef still starts, answers the pages 503 and says so.
absl::StatusOr<HttpWorkers> BuildHttpWorkers(const HttpConfig& config,
                                             const HttpTlsConfig& tls,
                                             const tracker::Shared& core,
                                             const HttpPages* pages = nullptr);

// Loads the certificate files again (see the file comment); logs the outcome.
void ReloadCertificate(tcp::TlsContextStore& tls);

// File descriptors the HTTP workers may need at most: connections, listeners, and each
// worker's epoll, spare and wake-up descriptors.
uint64_t HttpDescriptorsNeeded(const HttpConfig& config, const HttpTlsConfig& tls);

}  // namespace reef::http_server

#endif  // REEF_SERVER_HTTP_HTTP_SERVER_H_
