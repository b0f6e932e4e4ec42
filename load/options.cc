#include "load/options.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace reef::load {

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kUdp:
      return "udp";
    case Protocol::kHttp:
      return "http";
    case Protocol::kHttps:
      return "https";
    case Protocol::kWs:
      return "ws";
  }
  return "?";
}

absl::StatusOr<Protocol> ParseProtocol(std::string_view name) {
  if (name == "udp") return Protocol::kUdp;
  if (name == "http") return Protocol::kHttp;
  if (name == "https") return Protocol::kHttps;
  if (name == "ws") return Protocol::kWs;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown protocol '", std::string(name), "' (udp, http, https, ws)"));
}

namespace {

template <typename T>
absl::Status InRange(std::string_view name, T value, T low, T high) {
  if (value >= low && value <= high) return absl::OkStatus();  // also refuses NaN
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(name), " must be in ", low, "..", high, ", got ", value));
}

absl::Status Share(std::string_view name, double value) {
  return InRange(name, value, 0.0, 1e9);
}

}  // namespace

absl::Status ValidateOptions(const LoadOptions& o) {
  if (o.target.family() != AF_INET && o.target.family() != AF_INET6) {
    return absl::InvalidArgumentError("no target address");
  }
  for (absl::Status s : {
           CheckTargetAllowed(o.target, o.allow_non_loopback),
           InRange<int64_t>("duration_ms", o.duration_ms, 1, kMaxDurationMs),
           InRange<int64_t>("warmup_ms", o.warmup_ms, 0, kMaxWarmupMs),
           InRange<int64_t>("timeout_ms", o.timeout_ms, kMinTimeoutMs, kMaxTimeoutMs),
           InRange("threads", o.threads, 1, kMaxThreads),
           InRange("sockets", o.sockets_per_thread, 1, kMaxSocketsPerThread),
           InRange("in_flight", o.in_flight, 1, kMaxInFlight),
           InRange("rate", o.rate, 0.0, kMaxRate),
           InRange("follow_up_probability", o.follow_up_probability, 0.0, 1.0),
           InRange("max_in_flight", o.max_in_flight, o.in_flight, kMaxInFlight),
           InRange<uint32_t>("torrents", o.torrents, 1, kMaxTorrents),
           InRange<uint32_t>("peers_per_torrent", o.peers_per_torrent, 1, kMaxPeersPerTorrent),
           InRange("seeder_share", o.seeder_share, 0.0, 1.0),
           Share("connect_share", o.connect_share),
           Share("announce_share", o.announce_share),
           Share("scrape_share", o.scrape_share),
           Share("started_share", o.started_share),
           Share("completed_share", o.completed_share),
           Share("stopped_share", o.stopped_share),
           InRange("num_want", o.num_want, -1, 100'000),
           InRange("scrape_hashes", o.scrape_hashes, 1, 74),
           InRange("max_plausible_peers", o.max_plausible_peers, 0, 100'000),
       }) {
    if (!s.ok()) return s;
  }
  if (o.popularity != PopularityModel::kUniform) {
    absl::Status s = InRange("popularity_shape", o.popularity_shape, kMinShape, kMaxShape);
    if (!s.ok()) return s;
  }
  if (!(o.connect_share + o.announce_share + o.scrape_share > 0)) {
    return absl::InvalidArgumentError("the request mix is empty: give some share > 0");
  }
  if (o.started_share + o.completed_share + o.stopped_share > 1.0 + 1e-9) {
    return absl::InvalidArgumentError("started + completed + stopped shares exceed 1");
  }
  if (o.follow_up_probability > 0 && o.protocol != Protocol::kUdp) {
    return absl::InvalidArgumentError("follow_up_probability (closed loop) needs --protocol=udp");
  }
  if (o.tls_resume && o.protocol != Protocol::kHttps) {
    return absl::InvalidArgumentError("tls_resume needs --protocol=https");
  }
  if (o.protocol == Protocol::kHttp || o.protocol == Protocol::kHttps) {
    if (o.connect_share > 0) {
      return absl::InvalidArgumentError("HTTP has no connect requests: connect_share must be 0");
    }
    if (!o.keep_alive && o.in_flight > 1) {
      return absl::InvalidArgumentError(
          "in_flight > 1 needs keep-alive (a new connection carries one request)");
    }
    for (const std::string& path : {o.announce_path, o.scrape_path}) {
      if (path.empty() || path.front() != '/' || path.size() > kMaxPathSize ||
          path.find_first_of(" ?#\r\n") != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad HTTP path '", path, "': must start with '/', at most ", kMaxPathSize,
            " bytes, no space, '?', '#' or line break"));
      }
    }
  }
  if (o.protocol == Protocol::kWs) {
    if (o.connect_share > 0) {
      return absl::InvalidArgumentError("WebTorrent has no connect requests: connect_share must be 0");
    }
    for (absl::Status s : {
             InRange("ws_offers", o.ws_offers, 0, kMaxWsOffers),
             InRange("ws_torrents_per_connection", o.ws_torrents_per_connection, 1,
                     kMaxWsTorrentsPerConnection),
             InRange("scrape_hashes", o.scrape_hashes, 1, 64),
         }) {
      if (!s.ok()) return s;
    }
    if (o.ws_path.empty() || o.ws_path.front() != '/' || o.ws_path.size() > kMaxPathSize ||
        o.ws_path.find_first_of(" #\r\n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad WebSocket path '", o.ws_path, "': must start with '/', at most ", kMaxPathSize,
          " bytes, no space, '#' or line break"));
    }
  }
  return absl::OkStatus();
}

}  // namespace reef::load
