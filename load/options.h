// Everything a load run can be told, with its limits. The `reef_load` binary fills this
// from its flags (reef_load.cc); tests fill it directly.
#ifndef REEF_LOAD_OPTIONS_H_
#define REEF_LOAD_OPTIONS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "load/popularity.h"
#include "load/target.h"

namespace reef::load {

enum class Protocol : uint8_t { kUdp, kHttp, kHttps, kWs };
std::string_view ProtocolName(Protocol p);
absl::StatusOr<Protocol> ParseProtocol(std::string_view name);

// ---- Limits, each tested just past (options_test.cc). ----
inline constexpr int64_t kMaxDurationMs = 3600 * 1000;  // an hour
inline constexpr int64_t kMaxWarmupMs = 600 * 1000;
inline constexpr int64_t kMinTimeoutMs = 1;
inline constexpr int64_t kMaxTimeoutMs = 60 * 1000;
inline constexpr int kMaxThreads = 64;
inline constexpr int kMaxSocketsPerThread = 1024;
// Requests in flight per socket: the UDP slot table holds this many, so a transaction id
// carries the slot in its low 10 bits.
inline constexpr int kMaxInFlight = 1024;
// Peers per torrent: each simulated peer announces its own port, 1024 + index.
inline constexpr uint32_t kFirstPeerPort = 1024;
inline constexpr uint32_t kMaxPeersPerTorrent = 65535 - kFirstPeerPort + 1;
// A fixed-rate run: at most this many requests per second in total.
inline constexpr double kMaxRate = 10'000'000;
// HTTP request lines and responses.
inline constexpr size_t kMaxPathSize = 256;
// WebTorrent: offers in one announce (protocol/ws's kMaxOffers), torrents per connection.
inline constexpr int kMaxWsOffers = 10;
inline constexpr int kMaxWsTorrentsPerConnection = 1000;

struct LoadOptions {
  Protocol protocol = Protocol::kUdp;
  Endpoint target;  // IPv4 or IPv6: the target's family is the family of every request
  bool allow_non_loopback = false;

  int64_t duration_ms = 10'000;  // the measured window
  int64_t warmup_ms = 0;         // load before the window, not counted in rates/latency
  int64_t timeout_ms = 1'000;    // an answer later than this is a timeout
  int threads = 1;
  int sockets_per_thread = 4;  // UDP sockets, or HTTP connections
  int in_flight = 16;          // per socket; HTTP: pipelined requests on a keep-alive one
  double rate = 0;             // requests/s over all threads; 0: as fast as answers come

  // The closed-loop mode (UDP), on when follow_up_probability > 0: a socket starts with
  // in_flight requests, and a request goes out only when an answer comes back: one to
  // replace it, and with this probability one more, so the window grows while the
  // tracker keeps up; a request that times out is not replaced, so losses shrink it. A
  // socket holds at most max_in_flight requests; a follow-up beyond that is dropped (and
  // counted). 0: the fixed window, where every request that ends is replaced.
  double follow_up_probability = 0;
  int max_in_flight = kMaxInFlight;
  // Requests a socket can hold at once: its slot table.
  int SlotsPerSocket() const { return follow_up_probability > 0 ? max_in_flight : in_flight; }

  // What the requests are about.
  uint32_t torrents = 100'000;
  PopularityModel popularity = PopularityModel::kZipf;
  double popularity_shape = 1.0;
  uint32_t peers_per_torrent = 100;
  double seeder_share = 0.5;  // announces with left = 0

  // The request mix: shares of each type (normalized; UDP only has connects).
  double connect_share = 0;
  double announce_share = 1;
  double scrape_share = 0;
  // Announce events: shares of started / completed / stopped; the rest carry none.
  double started_share = 0;
  double completed_share = 0;
  double stopped_share = 0;
  int num_want = 50;      // -1: the tracker's default
  int scrape_hashes = 1;  // info hashes per scrape
  // An answer with more peers than this is implausible even when num_want is -1.
  int max_plausible_peers = 1000;

  // HTTP and HTTPS.
  bool keep_alive = true;
  // HTTPS: offer the previous connection's session (a TLS 1.3 ticket) on each new
  // connection, as a returning client would; false: a full handshake every time.
  bool tls_resume = false;
  std::string announce_path = "/announce";
  std::string scrape_path = "/scrape";

  // WebTorrent (ws_client.h): offers per announce (and numwant), torrents each connection
  // (a simulated browser) announces, whether received offers are answered, the upgrade's
  // path.
  int ws_offers = 5;
  int ws_torrents_per_connection = 5;
  bool ws_answer = true;
  std::string ws_path = "/announce";

  uint64_t seed = 1;
  bool progress = true;  // a line on stderr every second
};

// Checks every limit and the combinations (shares, keep-alive with in_flight > 1, ...).
absl::Status ValidateOptions(const LoadOptions& options);

}  // namespace reef::load

#endif  // REEF_LOAD_OPTIONS_H_
