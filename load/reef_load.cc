// reef_load: a load generator for UDP (BEP 15), HTTP and WebTorrent trackers, over loopback.
//
//   reef_load --protocol=udp --target=127.0.0.1:6969 --duration=10s --threads=1
//   reef_load --protocol=udp --target=127.0.0.1:6969 --in_flight=8 --follow_up_probability=0.2
//   reef_load --protocol=udp --scrape_share=1 --announce_share=0 --scrape_hashes=10
//   reef_load --protocol=http --target=127.0.0.1:6969 --keep_alive=false --json
//   reef_load --protocol=https --target=127.0.0.1:6970 --keep_alive=false --tls_resume
//   reef_load --protocol=ws --target=127.0.0.1:6969 --sockets=100 --in_flight=1 --ws_offers=5
//   reef_load --print_info_hashes --torrents=100000 > whitelist.txt
//
// Prints a progress line on stderr every second, then the report (text, or one JSON
// object with --json, which also holds ok answers per second since the start, warm-up
// included: "ok_per_second") on stdout. Exit 0 after a run (wrong answers are counted, not
// fatal), 2 for bad flags or a refused target, 1 if the run could not happen.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "load/generator.h"
#include "load/options.h"
#include "load/report.h"
#include "load/torrents.h"

ABSL_FLAG(std::string, protocol, "udp", "udp, http, https or ws (WebTorrent over WebSocket)");
ABSL_FLAG(std::string, target, "127.0.0.1:6969", "tracker address, 127.0.0.1:PORT or [::1]:PORT");
ABSL_FLAG(bool, allow_non_loopback, false,
          "allow a target outside 127.0.0.0/8 and ::1 (only a tracker you may load)");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "the measured window");
ABSL_FLAG(absl::Duration, warmup, absl::ZeroDuration(), "load before the window, not measured");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(1), "an answer later than this is a timeout");
ABSL_FLAG(int, threads, 1, "load threads");
ABSL_FLAG(int, sockets, 4, "UDP sockets or HTTP connections per thread");
ABSL_FLAG(int, in_flight, 16, "requests outstanding per socket (HTTP: pipelined, keep-alive)");
ABSL_FLAG(double, rate, 0, "requests per second over all threads; 0 = as fast as answered");
ABSL_FLAG(double, follow_up_probability, 0,
          "UDP closed loop (0..1; 0 = off, the fixed window): each socket starts with "
          "--in_flight requests and sends only when an answer comes back: one request to "
          "replace it and, with this probability, one more; a timed-out request is not "
          "replaced");
ABSL_FLAG(int, max_in_flight, reef::load::kMaxInFlight,
          "UDP closed loop: the most requests one socket holds (a follow-up beyond it is "
          "dropped and counted); --in_flight..1024");
ABSL_FLAG(uint32_t, torrents, 100000, "number of torrents");
ABSL_FLAG(std::string, popularity, "zipf", "torrent popularity: uniform, zipf or pareto");
ABSL_FLAG(double, popularity_shape, 1.0, "zipf exponent s or pareto shape alpha");
ABSL_FLAG(uint32_t, peers_per_torrent, 100, "simulated peers per torrent");
ABSL_FLAG(double, seeder_share, 0.5, "share of peers that seed (left = 0)");
ABSL_FLAG(double, connect_share, 0, "share of connect requests in the mix (UDP)");
ABSL_FLAG(double, announce_share, 1, "share of announces in the mix");
ABSL_FLAG(double, scrape_share, 0, "share of scrapes in the mix");
ABSL_FLAG(double, started_share, 0, "share of announces with event=started");
ABSL_FLAG(double, completed_share, 0, "share of announces with event=completed");
ABSL_FLAG(double, stopped_share, 0, "share of announces with event=stopped");
ABSL_FLAG(int, num_want, 50, "peers asked per announce; -1 for the tracker's default");
ABSL_FLAG(int, scrape_hashes, 1, "info hashes per scrape (1..74)");
ABSL_FLAG(int, max_plausible_peers, 1000, "more peers than this in one answer is implausible");
ABSL_FLAG(bool, keep_alive, true, "HTTP: keep connections open (else one per request)");
ABSL_FLAG(bool, tls_resume, false,
          "HTTPS: resume the previous connection's TLS session (else a full handshake each)");
ABSL_FLAG(std::string, announce_path, "/announce", "HTTP announce path");
ABSL_FLAG(std::string, scrape_path, "/scrape", "HTTP scrape path");
ABSL_FLAG(int, ws_offers, 5, "WebTorrent: offers per announce, and its numwant (0..10)");
ABSL_FLAG(int, ws_torrents_per_connection, 5,
          "WebTorrent: torrents each connection (a simulated browser) announces");
ABSL_FLAG(bool, ws_answer, true, "WebTorrent: answer the offers a connection receives");
ABSL_FLAG(std::string, ws_path, "/announce", "WebTorrent: the path of the WebSocket upgrade");
ABSL_FLAG(uint64_t, seed, 1, "random seed (same seed, same requests)");
ABSL_FLAG(bool, progress, true, "a progress line on stderr every second");
ABSL_FLAG(bool, json, false, "print the report as one JSON object");
ABSL_FLAG(bool, print_info_hashes, false,
          "print the hex info hash of each of --torrents torrents, one a line, and exit");

namespace {

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Load generator for UDP (BEP 15), HTTP(S) and WebTorrent trackers. Three ways to load: "
      "a fixed window of --in_flight requests per socket, each replaced as it ends (the "
      "default); a fixed rate (--rate); or, for UDP, a closed loop where each answer may "
      "bring a follow-up request (--follow_up_probability, up to --max_in_flight per "
      "socket). --json reports ok answers per second since the start as \"ok_per_second\".");
  absl::ParseCommandLine(argc, argv);
  using namespace reef::load;

  if (absl::GetFlag(FLAGS_print_info_hashes)) {
    const uint32_t n = absl::GetFlag(FLAGS_torrents);
    if (n == 0 || n > kMaxTorrents) {
      std::fprintf(stderr, "reef_load: --torrents must be in 1..%u\n", kMaxTorrents);
      return 2;
    }
    for (uint32_t i = 0; i < n; ++i) {
      const auto hex = InfoHashOf(i).ToHex();
      std::fwrite(hex.data(), 1, hex.size(), stdout);
      std::fputc('\n', stdout);
    }
    return 0;
  }

  LoadOptions o;
  const auto fail = [](const absl::Status& s) {
    std::fprintf(stderr, "reef_load: %s\n", std::string(s.message()).c_str());
    return 2;
  };
  auto protocol = ParseProtocol(absl::GetFlag(FLAGS_protocol));
  if (!protocol.ok()) return fail(protocol.status());
  o.protocol = *protocol;
  auto target = ParseEndpoint(absl::GetFlag(FLAGS_target));
  if (!target.ok()) return fail(target.status());
  o.target = *target;
  o.allow_non_loopback = absl::GetFlag(FLAGS_allow_non_loopback);
  o.duration_ms = Ms(absl::GetFlag(FLAGS_duration));
  o.warmup_ms = Ms(absl::GetFlag(FLAGS_warmup));
  o.timeout_ms = Ms(absl::GetFlag(FLAGS_timeout));
  o.threads = absl::GetFlag(FLAGS_threads);
  o.sockets_per_thread = absl::GetFlag(FLAGS_sockets);
  o.in_flight = absl::GetFlag(FLAGS_in_flight);
  o.rate = absl::GetFlag(FLAGS_rate);
  o.follow_up_probability = absl::GetFlag(FLAGS_follow_up_probability);
  o.max_in_flight = absl::GetFlag(FLAGS_max_in_flight);
  o.torrents = absl::GetFlag(FLAGS_torrents);
  auto popularity = ParsePopularity(absl::GetFlag(FLAGS_popularity));
  if (!popularity.ok()) return fail(popularity.status());
  o.popularity = *popularity;
  o.popularity_shape = absl::GetFlag(FLAGS_popularity_shape);
  o.peers_per_torrent = absl::GetFlag(FLAGS_peers_per_torrent);
  o.seeder_share = absl::GetFlag(FLAGS_seeder_share);
  o.connect_share = absl::GetFlag(FLAGS_connect_share);
  o.announce_share = absl::GetFlag(FLAGS_announce_share);
  o.scrape_share = absl::GetFlag(FLAGS_scrape_share);
  o.started_share = absl::GetFlag(FLAGS_started_share);
  o.completed_share = absl::GetFlag(FLAGS_completed_share);
  o.stopped_share = absl::GetFlag(FLAGS_stopped_share);
  o.num_want = absl::GetFlag(FLAGS_num_want);
  o.scrape_hashes = absl::GetFlag(FLAGS_scrape_hashes);
  o.max_plausible_peers = absl::GetFlag(FLAGS_max_plausible_peers);
  o.keep_alive = absl::GetFlag(FLAGS_keep_alive);
  o.tls_resume = absl::GetFlag(FLAGS_tls_resume);
  o.announce_path = absl::GetFlag(FLAGS_announce_path);
  o.scrape_path = absl::GetFlag(FLAGS_scrape_path);
  o.ws_offers = absl::GetFlag(FLAGS_ws_offers);
  o.ws_torrents_per_connection = absl::GetFlag(FLAGS_ws_torrents_per_connection);
  o.ws_answer = absl::GetFlag(FLAGS_ws_answer);
  o.ws_path = absl::GetFlag(FLAGS_ws_path);
  o.seed = absl::GetFlag(FLAGS_seed);
  o.progress = absl::GetFlag(FLAGS_progress);
  if (absl::Status s = ValidateOptions(o); !s.ok()) return fail(s);

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed HTTP connection is counted, not fatal

  auto outcome = RunLoad(o, &g_stop);
  if (!outcome.ok()) {
    std::fprintf(stderr, "reef_load: %s\n", outcome.status().ToString().c_str());
    return 1;
  }
  if (absl::GetFlag(FLAGS_json)) {
    std::printf("%s\n", FormatJson(o, **outcome).c_str());
  } else {
    std::printf("%s", FormatText(o, **outcome).c_str());
  }
  return 0;
}
