#include "server/metrics/worker_metrics.h"

#include <atomic>

namespace reef::metrics {
namespace {

using tracker::Action;
using tracker::CountersSnapshot;
using tracker::Protocol;

constexpr FamilyInfo kRequests = {
    .name = "reef_requests_total",
    .help = "Requests answered, by protocol, action and the client's address family.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kRefused = {
    .name = "reef_refused_requests_total",
    .help = "Announces and scrapes refused by the tracker's rules (answered with an error), "
            "by protocol, action and address family.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kErrorsSent = {
    .name = "reef_errors_sent_total",
    .help = "Error responses sent, by protocol and reason.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kHidden = {
    .name = "reef_hidden_info_hashes_total",
    .help = "Scraped info hashes the access list refuses, answered as unknown.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kStoreEvents = {
    .name = "reef_store_events_total",
    .help = "What the swarm store did instead of the plain announce, by protocol and event: "
            "an entry evicted by its address prefix's cap, a stopped ignored for a key "
            "that did not match, a completed not counted (its prefix counted it within "
            "the window).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kBadIds = {
    .name = "reef_udp_bad_connection_ids_total",
    .help = "UDP announces and scrapes with a forged or expired connection id (never served).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kReceived = {
    .name = "reef_udp_datagrams_received_total",
    .help = "Datagrams the UDP workers received.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kSent = {
    .name = "reef_udp_datagrams_sent_total",
    .help = "Datagrams the UDP workers sent.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kDropped = {
    .name = "reef_udp_dropped_datagrams_total",
    .help = "Datagrams received and not answered, or answers not sent, by cause.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kRetries = {
    .name = "reef_udp_receive_retries_total",
    .help = "UDP receives that failed with an error meaning try again.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kCleaningRuns = {
    .name = "reef_cleaning_runs_total",
    .help = "Store shards cleaned of idle peers.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kCleanedPeers = {
    .name = "reef_cleaned_peers_total",
    .help = "Idle peers removed by cleaning.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kCleanedTorrents = {
    .name = "reef_cleaned_torrents_total",
    .help = "Torrents removed by cleaning once they had no peer.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kLongestPause = {
    .name = "reef_cleaning_longest_pause_seconds",
    .help = "The longest slice of cleaning since start (its CPU time): cleaning holds a "
            "shard's lock for one slice of at most 2048 peers at a time.",
    .type = MetricType::kGauge,
};

constexpr FamilyInfo kTcpOpen = {
    .name = "reef_tcp_connections_open",
    .help = "HTTP(S) connections open now.",
    .type = MetricType::kGauge,
};
constexpr FamilyInfo kTcpAccepted = {
    .name = "reef_tcp_connections_accepted_total",
    .help = "HTTP(S) connections accepted.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kTcpClosed = {
    .name = "reef_tcp_connections_closed_total",
    .help = "HTTP(S) connections closed, by cause (closed: every close; the others: "
            "closed at accept, or by a limit).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kTcpBytes = {
    .name = "reef_tcp_bytes_total",
    .help = "Bytes the HTTP(S) workers received and sent, by direction.",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kHttpRequests = {
    .name = "reef_http_requests_total",
    .help = "HTTP request heads, by outcome (answered, or refused as malformed).",
    .type = MetricType::kCounter,
};
constexpr FamilyInfo kTlsHandshakes = {
    .name = "reef_tls_handshakes_total",
    .help = "TLS handshakes, by result (full, resumed, failed).",
    .type = MetricType::kCounter,
};

CountersSnapshot SumCore(const ServerObservables& observed) {
  CountersSnapshot sum;
  for (const tracker::Counters* counters : observed.core_counters) sum += counters->Snapshot();
  return sum;
}

void CollectCore(const CountersSnapshot& core, Exposition& out) {
  out.Declare(kRequests);
  out.Declare(kRefused);
  out.Declare(kErrorsSent);
  out.Declare(kHidden);
  out.Declare(kStoreEvents);
  for (size_t p = 0; p < tracker::kProtocolCount; ++p) {
    const std::string_view protocol = tracker::ProtocolName(static_cast<Protocol>(p));
    // A protocol reef does not serve (yet) has nothing to say: left out, not zeros.
    bool any = false;
    for (size_t a = 0; a < tracker::kActionCount; ++a) {
      for (size_t f = 0; f < tracker::kFamilyCount; ++f) {
        any = any || core.served[p][a][f] != 0 || core.refused[p][a][f] != 0;
      }
    }
    if (!any && p != static_cast<size_t>(Protocol::kUdp)) continue;
    for (size_t a = 0; a < tracker::kActionCount; ++a) {
      const std::string_view action = tracker::ActionName(static_cast<Action>(a));
      for (size_t f = 0; f < tracker::kFamilyCount; ++f) {
        const Label labels[] = {{"protocol", protocol}, {"action", action}, {"family", FamilyLabel(f)}};
        out.Add(kRequests, labels, core.served[p][a][f]);
        out.Add(kRefused, labels, core.refused[p][a][f]);
      }
    }
    for (size_t r = 0; r < tracker::kRefusalCount; ++r) {
      out.Add(kErrorsSent,
              {{"protocol", protocol},
               {"reason", tracker::RefusalName(static_cast<tracker::Refusal>(r))}},
              core.refusals[p][r]);
    }
    out.Add(kHidden, {{"protocol", protocol}}, core.hidden_info_hashes[p]);
    for (size_t e = 0; e < tracker::kStoreEventCount; ++e) {
      out.Add(kStoreEvents,
              {{"protocol", protocol},
               {"event", tracker::StoreEventName(static_cast<tracker::StoreEvent>(e))}},
              core.store_events[p][e]);
    }
  }
}

void CollectUdp(const ServerObservables& observed, Exposition& out) {
  if (observed.udp.empty()) return;
  for (const udp::UdpStats* udp : observed.udp) {
    for (size_t f = 0; f < tracker::kFamilyCount; ++f) {
      out.Add(kRequests, {{"protocol", "udp"}, {"action", "connect"}, {"family", FamilyLabel(f)}},
              Load(udp->connects[f]));
    }
    out.Add(kErrorsSent, {{"protocol", "udp"}, {"reason", "malformed request"}},
            Load(udp->malformed_answered));
    out.Add(kErrorsSent, {{"protocol", "udp"}, {"reason", "bad connection id"}},
            Load(udp->bad_connection_ids_answered));
    out.Add(kBadIds, {}, Load(udp->bad_connection_ids));
    out.Add(kDropped, {{"cause", "malformed"}}, Load(udp->dropped));
    // Read in this order, "answered" can only lag the total: never a negative difference.
    const uint64_t answered = Load(udp->bad_connection_ids_answered);
    const uint64_t bad = Load(udp->bad_connection_ids);
    out.Add(kDropped, {{"cause", "bad connection id"}}, bad >= answered ? bad - answered : 0);
  }
  for (const udp::LoopStats* loop : observed.udp_loops) {
    out.Add(kReceived, {}, Load(loop->received));
    out.Add(kSent, {}, Load(loop->sent));
    out.Add(kDropped, {{"cause", "oversized"}}, Load(loop->oversized));
    out.Add(kDropped, {{"cause", "send failed"}}, Load(loop->send_errors));
    out.Add(kDropped, {{"cause", "send queue full"}}, Load(loop->send_dropped));
    out.Add(kRetries, {}, Load(loop->receive_retries));
  }
}

void CollectTcp(const ServerObservables& observed, Exposition& out) {
  if (observed.tcp_workers.empty()) return;
  for (const tcp::TcpWorkerStats* worker : observed.tcp_workers) {
    out.Add(kTcpOpen, {},
            static_cast<double>(worker->open.load(std::memory_order_relaxed)));
    out.Add(kTcpAccepted, {}, Load(worker->accepted));
    out.Add(kTcpClosed, {{"cause", "closed"}}, Load(worker->closed));
    out.Add(kTcpClosed, {{"cause", "over max_connections"}}, Load(worker->refused_over_limit));
    out.Add(kTcpClosed, {{"cause", "no file descriptors"}}, Load(worker->refused_no_descriptors));
    out.Add(kTcpBytes, {{"direction", "received"}}, Load(worker->bytes_received));
    out.Add(kTcpBytes, {{"direction", "sent"}}, Load(worker->bytes_sent));
  }
  for (const tcp::ConnectionStats* c : observed.tcp_connections) {
    out.Add(kTcpClosed, {{"cause", "head timeout"}}, Load(c->head_timeouts));
    out.Add(kTcpClosed, {{"cause", "idle timeout"}}, Load(c->idle_timeouts));
    out.Add(kTcpClosed, {{"cause", "write timeout"}}, Load(c->write_timeouts));
    out.Add(kTcpClosed, {{"cause", "tls handshake timeout"}}, Load(c->handshake_timeouts));
    out.Add(kTcpClosed, {{"cause", "tls error"}}, Load(c->tls_errors));
    out.Add(kHttpRequests, {{"outcome", "answered"}}, Load(c->requests));
    out.Add(kHttpRequests, {{"outcome", "bad request"}}, Load(c->bad_requests));
    const uint64_t handshakes = Load(c->tls_handshakes);
    const uint64_t resumed = Load(c->tls_resumptions);
    out.Add(kTlsHandshakes, {{"result", "full"}}, handshakes >= resumed ? handshakes - resumed : 0);
    out.Add(kTlsHandshakes, {{"result", "resumed"}}, resumed);
    out.Add(kTlsHandshakes, {{"result", "failed"}}, Load(c->tls_handshake_failures));
  }
}

void CollectCleaner(const CleanerStats& cleaner, Exposition& out) {
  out.Add(kCleaningRuns, {}, Load(cleaner.runs));
  out.Add(kCleanedPeers, {}, Load(cleaner.peers_removed));
  out.Add(kCleanedTorrents, {}, Load(cleaner.torrents_removed));
  out.Add(kLongestPause, {},
          static_cast<double>(cleaner.longest_pause_us.load(std::memory_order_relaxed)) / 1e6);
}

}  // namespace

std::string_view FamilyLabel(size_t family) { return family == 0 ? "ipv4" : "ipv6"; }

void AddWorkerCollector(Registry& registry, const ServerObservables& observed) {
  registry.AddCollector([&observed](Exposition& out) {
    CollectCore(SumCore(observed), out);
    CollectUdp(observed, out);
    CollectTcp(observed, out);
    if (observed.cleaner != nullptr) CollectCleaner(*observed.cleaner, out);
  });
}

ProtocolTotals SumRequests(const ServerObservables& observed) {
  const CountersSnapshot core = SumCore(observed);
  ProtocolTotals totals;
  for (size_t p = 0; p < tracker::kProtocolCount; ++p) {
    for (size_t a = 0; a < tracker::kActionCount; ++a) {
      for (size_t f = 0; f < tracker::kFamilyCount; ++f) {
        totals.requests[p] += core.served[p][a][f] + core.refused[p][a][f];
      }
    }
  }
  for (const udp::UdpStats* udp : observed.udp) {
    totals.requests[static_cast<size_t>(Protocol::kUdp)] += udp->Connects();
  }
  return totals;
}

}  // namespace reef::metrics
