#include "server/metrics/metrics_config.h"

#include <cctype>

#include "server/common/strings.h"

namespace reef {
namespace {

std::optional<std::string> CheckPath(const std::string& path) {
  if (path.empty() || path[0] != '/') return "must start with /";
  if (path.size() > kMaxMetricsPathLength) {
    return StrCat("must be at most ", kMaxMetricsPathLength, " characters, got ", path.size());
  }
  for (char c : path) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '?' || c == '#') {
      return "must be printable ASCII without spaces, ? or #: it is matched against the "
             "request's path";
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckHomepage(const std::string& url) {
  if (url.empty()) return std::nullopt;
  if (url.size() > kMaxHomepageLength) {
    return StrCat("must be at most ", kMaxHomepageLength, " characters, got ", url.size());
  }
  if (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0) {
    return "must start with http:// or https:// (or be empty: no link)";
  }
  return config::NoControl(url);
}

std::optional<std::string> CheckPublicHost(const std::string& host) {
  if (host.size() > kMaxPublicHostLength) {
    return StrCat("must be at most ", kMaxPublicHostLength, " characters, got ", host.size());
  }
  for (char c : host) {
    const auto byte = static_cast<unsigned char>(c);
    if (!(std::isalnum(byte) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']')) {
      return "must be a host name or an address (letters, digits, . - : [ ])";
    }
  }
  return std::nullopt;
}

void CheckStatsPath(const MetricsConfig& metrics, config::Problems& problems) {
  if (!metrics.stats_page) return;
  if (metrics.stats_path == metrics.path) {
    problems.Add("stats_path", "must differ from path (the metrics)");
  }
  // The page is served on the HTTP tracker's listeners too, beside its own paths.
  for (std::string_view tracker_path : {"/announce", "/scrape"}) {
    if (metrics.stats_path == tracker_path || metrics.stats_path + ".json" == tracker_path) {
      problems.Add("stats_path", StrCat("must differ from ", tracker_path,
                                        " (the HTTP tracker's, on the same listeners)"));
    }
  }
}

void CheckListen(const MetricsConfig& metrics, config::Problems& problems) {
  if (metrics.enabled && metrics.listen.empty()) {
    problems.Add("listen", "must name at least one address while enabled is true");
  }
}

}  // namespace

std::vector<SocketAddress> MetricsConfig::DefaultListen() {
  return {*SocketAddress::Parse("127.0.0.1:9469")};
}

const config::Section<MetricsConfig>& MetricsSection() {
  static const auto* section = [] {
    auto* s = new config::Section<MetricsConfig>(
        "metrics",
        "Prometheus metrics: GET /metrics in the text format, on a listener of its own; and\n"
        "the statistics page, on the HTTP(S) tracker listeners and on that listener.");
    s->Key("enabled", &MetricsConfig::enabled, config::Bool(),
           "Serve the metrics. Counting costs the workers nothing measurable either way (each\n"
           "worker adds to counters of its own; the exporter only reads them when scraped).");
    s->Key("listen", &MetricsConfig::listen, config::SocketAddressList(kMaxMetricsListenAddresses),
           "Addresses of the metrics listener, up to 8. The default, 127.0.0.1:9469, is\n"
           "reachable from this machine only, so nothing is exposed by accident: open it to a\n"
           "Prometheus elsewhere deliberately. If the default address is taken (a second reef\n"
           "on the machine), reef says so and serves without metrics; an address set here\n"
           "that cannot be bound stops reef at start.");
    s->Key("path", &MetricsConfig::path, config::String(&CheckPath),
           "The path Prometheus scrapes; others get 404.");
    s->Key("max_connections", &MetricsConfig::max_connections,
           config::Int(1, kMaxMetricsConnections),
           "Connections to the metrics listener at once, 1 to 1024; more are closed at once.\n"
           "A Prometheus server needs one; 16 leave room for a few servers and a person.");
    s->Key("request_timeout_seconds", &MetricsConfig::request_timeout,
           config::Seconds(1, kMaxMetricsRequestTimeoutSeconds),
           "A connection gets this long, 1 to 300 seconds, to send its request and read the\n"
           "answer, then it is closed: a client that stalls cannot hold a connection slot.");
    s->Key("stale_series_seconds", &MetricsConfig::stale_series, config::Seconds(60),
           "A labelled series whose labels come from clients (reef_peer_clients) that has not\n"
           "been seen for this long leaves the output, instead of staying forever at its last\n"
           "value. 15 minutes: a client gone for a quarter of an hour is gone; Prometheus\n"
           "keeps its history.");
    s->Key("peer_clients", &MetricsConfig::peer_clients, config::Bool(),
           "Count peers by client software (qBittorrent, Transmission, ...) and version, read\n"
           "from the peer id prefix, as reef_peer_clients. Counted by the cleaner as it sweeps\n"
           "the store, so announces pay nothing, and the figures are up to one cleaning\n"
           "interval old. Off by default: it says which software your peers run.");
    s->Key("peer_client_max_series", &MetricsConfig::peer_client_max_series,
           config::Int(static_cast<int>(metrics::kMinPeerClientSeries),
                       static_cast<int>(metrics::kMaxPeerClientSeries)),
           "Most (client, version) series exported, 1 to 1000: the commonest ones, the rest\n"
           "summed as client=\"other\". Bounds the series a crowd of odd peer ids can make.");
    s->Key("stats_page", &MetricsConfig::stats_page, config::Bool(),
           "Serve the statistics page (HTML, no script, no external asset) at stats_path and\n"
           "the same numbers as JSON at stats_path.json: torrents, peers by family, requests\n"
           "per protocol with their rate over the last minute, uptime, version, the tracker's\n"
           "announce URLs. Served on the HTTP and HTTPS tracker listeners ([http], [http.tls])\n"
           "and on the metrics listener when enabled is true; its rates are sampled either way.\n"
           "false: both paths are 404 everywhere.");
    s->Key("stats_path", &MetricsConfig::stats_path, config::String(&CheckPath),
           "Where the statistics page is, on every listener that serves it; its JSON is at this\n"
           "path plus \".json\". Not /announce or /scrape, the HTTP tracker's own paths.");
    s->Key("public_host", &MetricsConfig::public_host, config::String(&CheckPublicHost),
           "The host name clients use to reach this tracker, for the announce URLs the page\n"
           "shows (udp://HOST:PORT/announce). Empty: the listen addresses as they are.");
    s->Key("homepage", &MetricsConfig::homepage, config::String(&CheckHomepage),
           "A link the page shows at its top (http:// or https://); empty for none.");
    s->Check(&CheckListen);
    s->Check(&CheckStatsPath);
    return s;
  }();
  return *section;
}

}  // namespace reef
