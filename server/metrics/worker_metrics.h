// What the workers count, as metrics: read from the counters each worker owns
// (tracker::Counters, udp::UdpStats, udp::LoopStats, CleanerStats) when Prometheus scrapes,
// summed over the workers. A worker never waits for the exporter: it writes its own
// counters with relaxed atomics and no lock; the exporter only loads them.
//
//   reef_requests_total{protocol,action,family}        requests answered: connect (UDP),
//                                                      announce, scrape
//   reef_refused_requests_total{protocol,action,family} announces and scrapes the core
//                                                      refused (answered with an error)
//   reef_errors_sent_total{protocol,reason}            error responses by reason: the
//                                                      core's refusals, and UDP's
//                                                      "malformed request" and
//                                                      "bad connection id"
//   reef_hidden_info_hashes_total{protocol}            scraped hashes the access list
//                                                      refuses (answered as unknown)
//   reef_store_events_total{protocol,event}            prefix_cap_evictions,
//                                                      stops_ignored_key_mismatch,
//                                                      completed_not_counted
//   reef_udp_bad_connection_ids_total                  forged or expired connection ids
//   reef_udp_datagrams_received_total, _sent_total     what the UDP loops moved
//   reef_udp_dropped_datagrams_total{cause}            received and not answered, or an
//                                                      answer not sent: malformed,
//                                                      bad connection id, oversized,
//                                                      send failed, send queue full
//   reef_udp_receive_retries_total                     "try again" receive errors
//   reef_tcp_connections_open                          HTTP(S) connections open now
//   reef_tcp_connections_accepted_total, reef_tcp_connections_closed_total{cause}
//   reef_tcp_bytes_total{direction}
//   reef_http_requests_total{outcome}                  heads answered, or bad requests
//   reef_tls_handshakes_total{result}                  full, resumed, failed
//   reef_cleaning_runs_total, reef_cleaned_peers_total, reef_cleaned_torrents_total
//   reef_cleaning_longest_pause_seconds                the longest slice of cleaning since
//                                                      start (CPU time), which holds its
//                                                      shard's lock
//
// A full store is a refusal ("tracker full" in reef_errors_sent_total); the store's
// totals and budget are AddStoreCollector's (store_metrics.h).
// WebTorrent's series (its messages, relays, WebSocket connections and swarm) are
// webtorrent_metrics.h's.
#ifndef REEF_SERVER_METRICS_WORKER_METRICS_H_
#define REEF_SERVER_METRICS_WORKER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <string_view>

#include "server/metrics/registry.h"
#include "server/protocol_workers.h"
#include "server/tracker/counters.h"

namespace reef::metrics {

// The collector over `observed` (which must stay valid while the registry is scraped).
void AddWorkerCollector(Registry& registry, const ServerObservables& observed);

// Requests answered and refused per protocol since start, over every worker: what the
// statistics page shows and rates.
struct ProtocolTotals {
  std::array<uint64_t, tracker::kProtocolCount> requests{};
};
ProtocolTotals SumRequests(const ServerObservables& observed);

// "ipv4", "ipv6".
std::string_view FamilyLabel(size_t family);

// A worker's counter, as the exporter reads it: the worker is its only writer.
inline uint64_t Load(const std::atomic<uint64_t>& value) {
  return value.load(std::memory_order_relaxed);
}

}  // namespace reef::metrics

#endif  // REEF_SERVER_METRICS_WORKER_METRICS_H_
